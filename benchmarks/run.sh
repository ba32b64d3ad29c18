#!/usr/bin/env bash
# pdekit benchmark suite (`make bench`): every family against its named peer (NLSE, FEM,
# datasets, spectral equations, neural operators, ROMs, local bases; about an hour on 2 cores).
#
#   bash benchmarks/run.sh [--quick] [--only nlse|fem|rom|data|operators|mgno|romlocal|spectral] [--threads N]
#
# mgno times MgNO against the reference PyTorch code (xlliu2017/MgNO), which is not vendored:
# it runs when $PDEKIT_MGNO_REF (or /work/ref/MgNO/models.py) names its models.py, and
# otherwise records "skipped: reference not available" (nothing is fetched).
#
# Creates the peer virtualenvs on first use (each peer in its own venv, never a pdekit
# dependency), pins every contender to the same thread count and CPU cores, runs
# benchmarks/<name>_bench.py in the project .venv (they start the peers as subprocesses), writes benchmarks/out/*.json and updates benchmarks/RESULTS.md.
# A peer whose venv cannot be created is skipped with a printed reason.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BENCH=$ROOT/benchmarks
PY=${PDEKIT_PYTHON:-$ROOT/.venv/bin/python}
ARGS="$*"
QUICK=""
ONLY="nlse fem data spectral operators mgno rom romlocal"
THREADS=${PDEKIT_BENCH_THREADS:-1}
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK="--quick" ;;
    --only) ONLY="$2"; shift ;;
    --threads) THREADS="$2"; shift ;;
    -h|--help) sed -n 2,10p "$0"; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
  shift
done

# ---- thread pinning: identical for every contender (inherited by the peer subprocesses) ----
export PDEKIT_BENCH_THREADS=$THREADS
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS
export VECLIB_MAXIMUM_THREADS=$THREADS NUMEXPR_NUM_THREADS=$THREADS
if [ "$THREADS" = 1 ]; then EIGEN=false; else EIGEN=true; fi
export XLA_FLAGS="--xla_cpu_multi_thread_eigen=$EIGEN intra_op_parallelism_threads=$THREADS"
export PDEKIT_BENCH_CPUS=${PDEKIT_BENCH_CPUS:-$(seq -s, 0 $((THREADS - 1)))}
export MPLBACKEND=${MPLBACKEND:-Agg}
unset JAX_ENABLE_X64 || true

# ---- peer virtualenvs (created if missing; failures only skip that peer) ----
make_venv() {  # make_venv DIR PYTHON REQUIREMENTS
  local dir=$1 python=$2 req=$3
  # up to date when .installed records the requirements' current content (a hash, not an
  # mtime: a fresh checkout or a worktree has newer files than a venv made from the same list)
  local want; want=$(sha256sum "$req" | cut -d' ' -f1)
  if [ -x "$dir/bin/python" ] && [ "$(cat "$dir/.installed" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  if ! command -v "$python" >/dev/null 2>&1 && [ ! -x "$python" ]; then
    echo "[skip] $(basename "$dir"): interpreter $python not found" >&2; return 0
  fi
  echo "creating $dir ($python, $(basename "$req"))"
  if "$python" -m venv "$dir" && "$dir/bin/python" -m pip install -q --upgrade pip \
     && "$dir/bin/python" -m pip install -q -r "$req"; then
    echo "$want" > "$dir/.installed"
  else
    echo "[skip] $(basename "$dir"): installing $req failed; that peer will be skipped" >&2
    rm -rf "$dir"
  fi
}
PY312=${PDEKIT_PY312:-python3.12}
if ! command -v "$PY312" >/dev/null 2>&1 && [ -x /root/.pyenv/versions/3.12.1/bin/python3.12 ]; then
  PY312=/root/.pyenv/versions/3.12.1/bin/python3.12
fi
for b in $ONLY; do
  case $b in
    nlse) make_venv "$BENCH/.venv-nlse" python3.11 "$BENCH/requirements-nlse.txt" ;;
    operators) make_venv "$BENCH/.venv-operators" python3.11 "$BENCH/requirements-operators.txt" ;;
    mgno) if [ -f "${PDEKIT_MGNO_REF:-/work/ref/MgNO/models.py}" ]; then  # torch for the reference
            make_venv "$BENCH/.venv-operators" python3.11 "$BENCH/requirements-operators.txt"; fi ;;
    rom) make_venv "$BENCH/.venv-rom" python3.11 "$BENCH/requirements-rom.txt" ;;
    romlocal) make_venv "$BENCH/.venv-romlocal" python3.11 "$BENCH/requirements-romlocal.txt" ;;
    fem) make_venv "$BENCH/.venv-fem" python3.11 "$BENCH/requirements-fem.txt"
         make_venv "$BENCH/.venv-dolfinx" "$PY312" "$BENCH/requirements-dolfinx.txt" ;;
    data) make_venv "$BENCH/.venv-dolfinx" "$PY312" "$BENCH/requirements-dolfinx.txt" ;;
    spectral) make_venv "$BENCH/.venv-spectral" python3.11 "$BENCH/requirements-spectral.txt" ;;
  esac
done

# ---- run ----
mkdir -p "$BENCH/out"
SUFFIX=""; [ -n "$QUICK" ] && SUFFIX="-quick"
START=$(date +%s)
for b in $ONLY; do
  echo; echo "=== $b benchmark ($(date -u +%H:%M:%S) UTC, load: $(cut -d' ' -f1-3 /proc/loadavg)) ==="
  SCRIPT=$BENCH/${b}_bench.py; [ "$b" = romlocal ] && SCRIPT=$BENCH/rom_local_bench.py
  "$PY" "$SCRIPT" $QUICK --out "$BENCH/out/${b}${SUFFIX}.json"
done
echo; echo "total benchmark time: $(( $(date +%s) - START )) s"
if [ -z "$QUICK" ]; then
  "$PY" "$BENCH/write_results.py" --cmd "bash benchmarks/run.sh${ARGS:+ $ARGS}" \
    $(for b in $ONLY; do echo "$BENCH/out/$b.json"; done)
fi
