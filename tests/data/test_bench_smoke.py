"""Smoke test of benchmarks/data_bench.py at a tiny size (pdekit side only), in a subprocess
(it pins threads and switches to float64)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.mark.slow
def test_data_bench_quick(tmp_path):
    out = tmp_path / "data.json"
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "JAX_ENABLE_X64")}
    proc = subprocess.run([sys.executable, str(BENCH / "data_bench.py"), "--quick",
                           "--pdekit-only", "--out", str(out)], env=env, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    d = json.loads(out.read_text())
    for case in ("one", "workers2", "devices2"):
        assert d[f"pdekit_{case}"]["samples_per_s"] > 0, d[f"pdekit_{case}"]
    assert 0 < d["summary"]["pipeline_over_solve_only_1core"]
