"""Smoke test of benchmarks/spectral_bench.py: the pdekit side at a tiny size (``--quick
--pdekit-only``, one case, no peer venv) writes the expected JSON with finite timings and
errors, so the benchmark does not rot as the solvers change. In a subprocess: the script pins
threads and switches JAX to float64 at import."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def test_spectral_bench_quick(tmp_path, bench_env):
    out = tmp_path / "spectral.json"
    env = dict(bench_env)
    env["PYTHONPATH"] = os.pathsep.join([str(BENCH.parent), env.get("PYTHONPATH", "")])
    proc = subprocess.run([sys.executable, str(BENCH / "spectral_bench.py"), "--quick",
                           "--pdekit-only", "--cases", "burgers", "--out", str(out)],
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    case = json.loads(out.read_text())["cases"]["burgers"]
    assert [r["method"] for r in case["rows"]] == ["ETDRK4", "ETDRK2"]
    for row in case["rows"]:
        assert row["contender"] == "pdekit" and math.isfinite(row["err"]) and row["err"] < 1e-2
        assert row["time"] > 0 and row["cpu"] >= 0 and row["samples_per_s"] > 0
    assert case["rows"][0]["err"] < case["rows"][1]["err"]  # order 4 beats order 2
    assert case["reference"]["floor"] < 1e-6
