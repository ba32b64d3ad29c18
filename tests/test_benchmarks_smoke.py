"""Smoke test of the benchmark scripts (benchmarks/*_bench.py): the pdekit side of each runs
at a tiny size (``--quick --pdekit-only``, no peer venvs) and must write the expected JSON with
finite, positive timings, so the benchmarks do not rot as the solvers change.

Each script runs in a subprocess: it pins threads and switches JAX to float64 at import, which
must not leak into the test session (conftest sets its own XLA flags)."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _positive_time(t):
    assert math.isfinite(t["best"]) and t["best"] > 0, t
    assert t["median"] >= t["best"] and t["n"] >= 1


@pytest.fixture(scope="module")
def outputs(tmp_path_factory, bench_env):
    """Both scripts, started together (two cores), so the suite waits for the slower one."""
    tmp = tmp_path_factory.mktemp("bench")
    env = dict(bench_env)
    procs = {}
    for core, name in enumerate(("nlse", "fem")):
        out = tmp / f"{name}.json"
        cpus = str(core % (os.cpu_count() or 1))  # one core each (the scripts pin affinity)
        procs[name] = (out, subprocess.Popen(
            [sys.executable, str(BENCH / f"{name}_bench.py"), "--quick", "--pdekit-only",
             "--out", str(out)], env=dict(env, PDEKIT_BENCH_CPUS=cpus),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True))
    results = {}
    for name, (out, proc) in procs.items():
        _, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err[-3000:]
        results[name] = json.loads(out.read_text())
    return results


def _common(d, name, keys):
    assert d["benchmark"] == name and d["quick"]
    for key in ("machine", "threads", "versions", "config", "rows", "summary", *keys):
        assert key in d, key
    assert d["threads"]["OMP_NUM_THREADS"] == "1"


def test_nlse_bench_quick(outputs):
    d = outputs["nlse"]
    _common(d, "nlse", ("reference", "batch"))
    names = [r["name"] for r in d["rows"]]
    assert any("Dopri8" in n for n in names) and any("Yoshida4" in n for n in names)
    for r in d["rows"]:
        assert r["time_s"] > 0 and math.isfinite(r["time_s"])
        assert math.isfinite(r["err_final"]) and r["err_final"] >= 0
        assert r["compile_s"] is None or math.isfinite(r["compile_s"])
    single = [r for r in d["rows"] if r["case"] == "single_soliton"]
    assert single, "the single-soliton (exact solution) case is missing"
    for key in ("pdekit_dopri8", "pdekit_best"):
        b = d["batch"][key]
        _positive_time(b["time"])
        assert b["runs_per_s"] > 0 and b["runs"] == d["config"]["batch"]
    assert set(d["summary"]["matched"]) == {"default_dopri8", "practical"}


def test_fem_bench_quick(outputs):
    d = outputs["fem"]
    _common(d, "fem", ("pdekit", "pdekit_darcy"))
    (r,) = d["pdekit"]
    for key in ("assembly", "amg_cg", "direct", "poisson_solve_total"):
        _positive_time(r[key])
    assert r["amg_converged"] and r["amg_setup_s"] > 0
    # P1 on a 16 x 16 mesh: nodal error O(h^2), the same for both solvers
    assert r["amg_err_max"] < 1e-2 and abs(r["amg_err_max"] - r["direct_err_max"]) < 1e-6
    # vmap AMG-CG, vmap Direct, solve_batch AMG-CG, vmap GMG-CG, solve_batch GMG-CG
    paths = ("amg_cg", "direct", "amg_cg_chunked", "gmg_cg", "gmg_cg_chunked")
    for name in paths:
        dd = d["pdekit_darcy"][name]
        _positive_time(dd["time"])
        assert dd["solves_per_s"] > 0 and len(dd["u_mean"]) == d["config"]["darcy_batch"]
    # every batching path solves the same systems
    means = np.array([d["pdekit_darcy"][name]["u_mean"] for name in paths])
    np.testing.assert_allclose(means, means[:1].repeat(len(paths), 0), rtol=1e-6)
    assert d["summary"]["darcy_best_pdekit"] in paths
