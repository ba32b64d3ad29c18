"""Smoke test of benchmarks/rom_local_bench.py (pdekit side, tiny sizes)."""

import json
import subprocess
import sys

import pytest

pytest.importorskip("pdekit.rom._pod")


@pytest.mark.slow
def test_rom_local_bench_quick(tmp_path):
    out = tmp_path / "romlocal.json"
    subprocess.run([sys.executable, "benchmarks/rom_local_bench.py", "--quick", "--pdekit-only",
                    "--out", str(out)], check=True, capture_output=True, timeout=900)
    d = json.loads(out.read_text())
    rows = {r["case"]: r for r in d["rows"]}
    assert rows["k-medoids sine (pdekit)"]["accuracy"] == 1.0
    assert rows["k-means euclidean (pdekit)"]["accuracy"] < 0.9
    o = d["online"]
    # (at this tiny size the medoid table is small: no cost ordering is asserted)
    for b in ("jax", "numpy"):
        for dt in ("float64", "float32"):
            for route in ("classifier", "nearest medoid"):
                assert o[f"{route} single {b} {dt} cpu"] > 0 and o[f"{route} batch {b} {dt}"] > 0
    assert o["sweep"]["picked"]["width"] in (8, 16, 32, 64)
