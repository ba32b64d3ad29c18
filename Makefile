# Two commands on a fresh machine: `make demo` and `make test`.
# Both create .venv if missing and install pdekit (editable, with dev extras) into it.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.pdekit-installed
OUT    ?= out
# pytest-xdist workers: one per core (the suite is compile-bound and single-threaded per test)
TEST_WORKERS ?= auto

.PHONY: demo test test-all bench clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	MPLBACKEND=Agg $(VENV)/bin/pdekit demo --out $(OUT)

test: $(STAMP)
	$(VENV)/bin/ruff check pdekit tests examples benchmarks
	$(PY) -m mypy
	MPLBACKEND=Agg OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 $(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile --durations=15

test-all: $(STAMP)
	$(VENV)/bin/ruff check pdekit tests examples benchmarks
	MPLBACKEND=Agg OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 $(PY) -m pytest -q -m "" -n $(TEST_WORKERS) --dist loadfile --durations=15

bench: $(STAMP)
	MPLBACKEND=Agg bash benchmarks/run.sh

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache
