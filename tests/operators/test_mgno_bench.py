"""benchmarks/mgno_bench.py: the offline skip path and the generated RESULTS.md section (fast),
and a quick pdekit-only run (slow)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def _section(d):
    sys.path.insert(0, str(BENCH))
    try:
        from mgno_bench import results_section
    finally:
        sys.path.remove(str(BENCH))
    return results_section(d, "bash benchmarks/run.sh --only mgno")


def test_results_section_reports_ratio_and_skip():
    row = {"n_params": 572661, "s_per_epoch": 2.0, "cpu_s_per_epoch": 1.5, "cpu_per_wall": 0.75,
           "inference_s_per_sample": 0.01}
    d = {"task": {"n": 256, "resolution": 64, "batch_size": 16, "epochs": 3},
         "machine": {"cpu_model": "cpu", "logical_cpus": 2, "loadavg_1_5_15": [1, 1, 1]},
         "threads": {"OMP_NUM_THREADS": "1"}, "load_after": [1, 1, 1], "pdekit": row,
         "reference": dict(row, s_per_epoch=4.0, cpu_s_per_epoch=1.0),
         "ratio_s_per_epoch": 0.5, "ratio_cpu_s_per_epoch": 1.5}
    text = _section(d)
    assert "572,661" in text and "0.50× wall, 1.50× CPU time" in text and "**missed**" in text
    d["reference"] = {"skipped": "reference not available"}
    del d["ratio_s_per_epoch"], d["ratio_cpu_s_per_epoch"]
    assert "skipped: reference not available" in _section(d)


@pytest.mark.slow
def test_mgno_bench_quick_without_reference(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "JAX_ENABLE_X64")}
    env["PDEKIT_MGNO_REF"] = str(tmp_path / "missing.py")
    out = tmp_path / "mgno.json"
    subprocess.run([sys.executable, str(BENCH / "mgno_bench.py"), "--quick", "--out", str(out)],
                   env=env, check=True, capture_output=True, timeout=900, cwd=BENCH.parent)
    d = json.loads(out.read_text())
    assert d["benchmark"] == "mgno" and d["pdekit"]["n_params"] == 572661
    assert "not available" in d["reference"]["skipped"]
