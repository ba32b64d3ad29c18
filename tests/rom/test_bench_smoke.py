"""Smoke test of benchmarks/rom_bench.py (pdekit side, tiny sizes, no pyMOR), in a
subprocess (the script pins threads and enables x64). Slow: ~40 s of compilation."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.mark.slow
def test_rom_bench_quick(tmp_path):
    out = tmp_path / "rom.json"
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "JAX_ENABLE_X64")}
    subprocess.run([sys.executable, str(BENCH / "rom_bench.py"), "--quick", "--pdekit-only",
                    "--out", str(out)], env=env, check=True, capture_output=True, timeout=600)
    d = json.loads(out.read_text())
    g = d["greedy"]
    for c in g["criteria"].values():  # both criteria: pyMOR's absolute X-norm, our default
        assert c["basis_size"] == g["N"] and c["effectivity_product"][0] >= 1.0
    assert d["online"]["rom_solve"]["best"] > 0 and d["pod"]["snapshots"]["time"]["best"] > 0
    assert "online_speedup_1e5" in d["summary"]
