"""Dataset benchmark (issue #10): ``pdekit datagen darcy`` at 64 x 64 vs a DOLFINx loop.

Samples/s of the whole pipeline (GRF, threshold, assemble, solve, interpolate, write), float64
computation, float32 storage, on 1 core and on 2 cores:

* pdekit: ``pdekit.data.generate_with_stats("darcy", ...)`` (the code behind ``pdekit datagen``),
  GMG-preconditioned CG to ``rtol = 1e-7`` (the generator's float64 default: error ~2e-9,
  below the float32 rounding of the stored data, as for DOLFINx's Cholesky solution, also
  stored float32), one sample at a time in ``lax.map``, HDF5 writes. 1 core: one process
  pinned to one core, after a warm-up call (compilation excluded). 2 cores: ``workers=2``
  (``--workers 2``: two spawned worker processes, one core each, which compile and then
  start together; rate = steady state after the first batches, and end-to-end including
  their start-up and compilation) and ``devices=2`` (two forced host devices in one
  process).
* DOLFINx (``data_dolfinx.py`` in benchmarks/.venv-dolfinx): the same recipe with
  fixed-pattern reassembly + PETSc Cholesky per sample; 2 cores: ``mpirun -n 2`` when the
  venv has ``mpirun``, else two processes pinned to one core each (samples split between
  them; rate = all samples / span from the first start to the last end).
* limit: pdekit's solve-only rate (``Poisson.solve_batch`` of the same GMG-CG on
  precomputed coefficients, assembly included as in the pipeline) -> how far the pipeline is
  from "solve time x samples".

Usage: ``python benchmarks/data_bench.py [--quick] [--pdekit-only] [--n N] [--out FILE.json]``;
cores from
``$PDEKIT_BENCH_CPUS`` (default ``0,1``). Run under ``flock /tmp/pdekit-bench.lock``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _harness as H

VENV_DOLFINX = H.HERE / ".venv-dolfinx" / "bin" / "python"
S = 64


def child(case: str, n: int, s: int, tmp: Path) -> dict:
    """One pdekit configuration, in this (already pinned) process."""
    import jax

    jax.config.update("jax_enable_x64", True)
    if case == "devices2":  # two host devices (before the backend starts)
        jax.config.update("jax_num_cpu_devices", 2)
    import numpy as np

    from pdekit.data import generate_with_stats

    nd = 2 if case == "devices2" else None
    workers = 2 if case == "workers2" else None
    common = dict(resolution=s, seed=0, progress=False, overwrite=True)
    row = {"case": case, "n": n, "s": s, "cpu_affinity": sorted(os.sched_getaffinity(0))}
    if workers is None:  # warm-up: compile (per device) outside the timing
        generate_with_stats("darcy", tmp / f"warm-{case}.h5", n=16 * (nd or 1), devices=nd,
                            **common)
    marks = []
    t_call, c_call = time.perf_counter(), time.process_time()
    st = generate_with_stats("darcy", tmp / f"{case}.h5", n=n, devices=nd, workers=workers,
                             on_batch=lambda d: marks.append((time.perf_counter(), d)),
                             **common)
    cpu = time.process_time() - c_call  # this process only (not the spawned workers)
    row.update(samples_per_s=st.samples_per_s, wall_s=st.wall_s, batch_size=st.batch_size,
               cpu_s=cpu, samples_per_cpu_s=n / cpu)
    if workers is not None and len(marks) > 4:
        (t0, d0), (t1, d1) = marks[2], marks[-1]  # workers compile, then start together
        row.update(end_to_end_per_s=st.samples_per_s, samples_per_s=(d1 - d0) / (t1 - t0),
                   first_batch_s=marks[0][0] - t_call)
    if case == "one":  # the solve-only limit on the same coefficients
        from pdekit.data import Dataset
        from pdekit.data._generate import _RECIPES

        recipe = next(r for k, r in _RECIPES.items() if k[0] == "darcy" and k[1] == s)
        x, y = Dataset(tmp / f"{case}.h5").arrays()
        a_cells = jax.vmap(recipe.sample.cells)(jax.numpy.asarray(x[:, 0], jax.numpy.float64))
        prob = recipe.sample.problem
        jax.block_until_ready(prob.solve_batch(a=a_cells[:4], f=1.0))
        jax.block_until_ready(prob.solve_batch(a=a_cells, f=1.0))
        t = H.timeit(lambda: jax.block_until_ready(prob.solve_batch(a=a_cells, f=1.0)),
                     repeat=3, max_time=60)
        row["solve_only_per_s"] = n / t["best"]
        row["u_max_max"] = float(np.max(y))
    return row


def run_child(case, n, s, cores, tmp):
    env = dict(os.environ)
    threads = 1 if case == "one" else 2
    env.update(H.thread_env(1))
    env["PDEKIT_BENCH_THREADS"] = str(threads)
    env["PDEKIT_BENCH_CPUS"] = ",".join(map(str, cores[:threads]))
    env.pop("JAX_ENABLE_X64", None)
    out = tmp / f"{case}.json"
    cmd = [sys.executable, __file__, "--child", case, "--n", str(n), "--s", str(s),
           "--tmp", str(tmp), "--out", str(out)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        return {"case": case, "skipped": proc.stderr.strip().splitlines()[-3:]}
    return json.loads(out.read_text())


def run_dolfinx(n, s, cores, tmp, ranks):
    if not VENV_DOLFINX.exists():
        return {"skipped": f"{VENV_DOLFINX} missing (bash benchmarks/run.sh --only data)"}
    env = dict(os.environ)
    env.update(H.thread_env(1))
    env["PDEKIT_BENCH_THREADS"] = "1"
    mpirun = VENV_DOLFINX.parent / "mpirun"
    spec = tmp / f"dolfinx-{ranks}.json"
    procs, outs = [], []
    if ranks > 1 and mpirun.exists():
        out = tmp / "dolfinx-mpi.json"
        spec.write_text(json.dumps({"s": s, "n": n, "rank": 0, "size": 1, "seed": 0}))
        env["PDEKIT_BENCH_CPUS"] = ",".join(map(str, cores[:ranks]))
        cmd = [str(mpirun), "-n", str(ranks), str(VENV_DOLFINX), str(H.HERE / "data_dolfinx.py"),
               "--spec", str(spec), "--out", str(out)]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
        if proc.returncode != 0:
            return {"skipped": proc.stderr.strip().splitlines()[-3:]}
        res = json.loads(out.read_text())
        res["launch"] = f"mpirun -n {ranks}"
    else:
        for r in range(ranks):
            sp = tmp / f"dolfinx-spec-{r}.json"
            sp.write_text(json.dumps({"s": s, "n": n, "rank": r, "size": ranks, "seed": 0}))
            e = dict(env, PDEKIT_BENCH_CPUS=str(cores[r % len(cores)]))
            o = tmp / f"dolfinx-{ranks}-{r}.json"
            outs.append(o)
            procs.append(subprocess.Popen(
                [str(VENV_DOLFINX), str(H.HERE / "data_dolfinx.py"), "--spec", str(sp),
                 "--out", str(o)], env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                text=True))
        for p in procs:
            _, err = p.communicate(timeout=1800)
            if p.returncode != 0:
                return {"skipped": err.strip().splitlines()[-3:]}
        rows = [json.loads(o.read_text())["ranks"][0] for o in outs]
        res = json.loads(outs[0].read_text())
        res["ranks"] = rows
        res["launch"] = f"{ranks} processes" + (" (no mpirun in the venv)" if ranks > 1 else "")
    rows = res["ranks"]
    span = max(r["t_end"] for r in rows) - min(r["t_start"] for r in rows)
    res["samples_per_s"] = sum(r["samples"] for r in rows) / span
    res["u_max_max"] = max(r["u_max_max"] for r in rows)
    return res


def main():
    p = H.common_argparser(__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=None)
    p.add_argument("--child", default=None)
    p.add_argument("--s", type=int, default=S)
    p.add_argument("--tmp", default=None)
    p.add_argument("--pdekit-only", action="store_true", help="skip the DOLFINx peer")
    args = p.parse_args()
    if args.child:
        H.pin_threads()
        H.write_json(child(args.child, args.n, args.s, Path(args.tmp)), args.out)
        return
    n = args.n or (32 if args.quick else 1024)
    s = 16 if args.quick else S
    cores = [int(c) for c in os.environ.get("PDEKIT_BENCH_CPUS", "0,1").split(",") if c][:2]
    if len(cores) < 2:
        cores = [0, 1]
    tmp = Path(tempfile.mkdtemp(prefix="pdekit-data-bench-"))
    out = {"benchmark": "data", "machine": H.machine_info(), "n": n, "s": s, "cores": cores,
           "load_before": list(os.getloadavg())}
    try:
        for case in ("one", "workers2", "devices2"):
            out[f"pdekit_{case}"] = r = run_child(case, n, s, cores, tmp)
            print(f"  pdekit {case}: {json.dumps(r)}", flush=True)
        nd = max(64, n // 4)
        for ranks in (1, 2):
            if args.pdekit_only:
                out[f"dolfinx_{ranks}"] = {"skipped": "--pdekit-only"}
                continue
            out[f"dolfinx_{ranks}"] = r = run_dolfinx(nd, s, cores, tmp, ranks)
            print(f"  dolfinx {ranks}: {r.get('samples_per_s', r)}", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    out["load_after"] = list(os.getloadavg())
    summary = {}
    d1, d2 = out["dolfinx_1"].get("samples_per_s"), out["dolfinx_2"].get("samples_per_s")
    p1 = out["pdekit_one"].get("samples_per_s")
    pw = out["pdekit_workers2"].get("samples_per_s")
    pd = out["pdekit_devices2"].get("samples_per_s")
    if d1 and p1:
        summary["ratio_1core"] = p1 / d1
    if d2 and pw:
        summary["ratio_2core_workers"] = pw / d2
    if d2 and pd:
        summary["ratio_2core_devices"] = pd / d2
    lim = out["pdekit_one"].get("solve_only_per_s")
    if lim and p1:
        summary["pipeline_over_solve_only_1core"] = p1 / lim
    out["summary"] = summary
    print(json.dumps(summary, indent=1))
    H.write_json(out, args.out)


def results_section(d: dict, cmd: str) -> str:
    """The ``data`` section of RESULTS.md (called by write_results.py)."""
    import datetime

    m = d["machine"]

    def rate(key):
        r = d.get(key, {})
        return f"{r['samples_per_s']:.0f}" if "samples_per_s" in r else "skipped"

    s = d["summary"]
    one, wk = d.get("pdekit_one", {}), d.get("pdekit_workers2", {})
    rows = [
        ("pdekit `datagen darcy`, 1 core", rate("pdekit_one"), "DOLFINx 1 process",
         rate("dolfinx_1"), s.get("ratio_1core")),
        ("pdekit `--workers 2` (steady state)", rate("pdekit_workers2"),
         f"DOLFINx {d.get('dolfinx_2', {}).get('launch', '2 ranks')}", rate("dolfinx_2"),
         s.get("ratio_2core_workers")),
        ("pdekit `--devices 2` (2 host devices, 1 process)", rate("pdekit_devices2"),
         f"DOLFINx {d.get('dolfinx_2', {}).get('launch', '2 ranks')}", rate("dolfinx_2"),
         s.get("ratio_2core_devices")),
    ]
    lines = [
        f"## Datasets (issue #10): `darcy` at {d['s']} x {d['s']}, whole pipeline vs DOLFINx",
        "",
        f"- date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; command: `{cmd}`",
        f"- machine: {m['cpu_model']}, {m['logical_cpus']} logical CPUs, cores {d['cores']}; "
        f"load average before / after: {[round(x, 2) for x in d['load_before']]} / "
        f"{[round(x, 2) for x in d['load_after']]} (the machine is shared: other work "
        "inflates wall times of both contenders)",
        f"- darcy at {d['s']} x {d['s']} (FNO recipe, float64 compute, float32 storage), "
        f"pdekit {d['n']} samples, DOLFINx {max(64, d['n'] // 4)}; whole pipeline (GRF, "
        "threshold, assembly, solve, interpolation, write); pdekit GMG-CG rtol 1e-7, DOLFINx "
        "PETSc Cholesky per sample",
        "",
        "| pdekit | samples/s | peer | samples/s | ratio |",
        "| --- | --- | --- | --- | --- |",
    ]
    for a, ra, b, rb, q in rows:
        lines.append(f"| {a} | {ra} | {b} | {rb} | {H.fmt(q, '.2f')}x |")
    dx1 = d.get("dolfinx_1", {}).get("ranks", [{}])[0]
    if "samples_per_cpu_s" in one and "samples_per_cpu_s" in dx1:
        lines.append("")
        lines.append(
            f"- per CPU-second (1 core; robust to the machine's load, both single-threaded): "
            f"pdekit {one['samples_per_cpu_s']:.0f}, DOLFINx {dx1['samples_per_cpu_s']:.0f} "
            f"samples/CPU-s: **{one['samples_per_cpu_s'] / dx1['samples_per_cpu_s']:.2f}x**")
    if "solve_only_per_s" in one:
        lines.append("")
        lines.append(
            f"- limit (1 core): solve-only `Poisson.solve_batch` {one['solve_only_per_s']:.0f} "
            f"solves/s; the pipeline runs at {s['pipeline_over_solve_only_1core']:.0%} of it")
    if "end_to_end_per_s" in wk:
        lines.append(
            f"- `--workers 2` end to end (spawn + compile in the workers included): "
            f"{wk['end_to_end_per_s']:.0f} samples/s; first batch after "
            f"{wk['first_batch_s']:.1f} s")
    met = s.get("ratio_1core", 0) >= 3 and s.get("ratio_2core_workers", 0) >= 3
    lines.append(f"- target >= 3x DOLFINx on the same cores: {'**met**' if met else '**missed**'}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
