"""Smoke test of benchmarks/operators_bench.py (pdekit side, tiny sizes; slow: run with -m slow)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.mark.slow
def test_operators_bench_quick(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "JAX_ENABLE_X64")}
    out = tmp_path / "operators.json"
    subprocess.run([sys.executable, str(BENCH / "operators_bench.py"), "--quick", "--pdekit-only",
                    "--cases", "burgers", "--out", str(out)], env=env, check=True,
                   capture_output=True, timeout=900)
    rows = json.loads(out.read_text())["rows"]
    assert {r["model"] for r in rows} == {"fno", "tfno"}
    assert all(r["s_per_epoch"] > 0 and 0 < r["test_rel_l2"] < 10 for r in rows)


@pytest.mark.slow
def test_operators_long_quick(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "JAX_ENABLE_X64")}
    env["MPLBACKEND"] = "Agg"
    out = tmp_path / "long"
    subprocess.run([sys.executable, str(BENCH / "operators_long.py"), "--quick", "--epochs", "2",
                    "--out", str(out)], env=env, check=True, capture_output=True, timeout=900)
    res = json.loads(out.with_suffix(".json").read_text())
    assert res["epochs_run"] == 2 and len(res["history"]["test_rel_l2"]) == 2
    assert out.with_suffix(".png").stat().st_size > 0
