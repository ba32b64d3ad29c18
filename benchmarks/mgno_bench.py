"""MgNO vs the reference PyTorch code (issue #13): seconds per training epoch on the timing
task (Darcy-sized 64x64 inputs, 256 samples, batch 16, Adam, relative-L2 loss), both sides
with the reference Darcy configuration (4 layers, 24 channels, 6 levels: 572,661 parameters),
threads pinned alike (``_harness.pin_threads``: 1 thread on core 0 by default). pdekit trains
through ``pdekit.training.fit`` (its default ``microbatch="auto"``; whole batches and
``--also-microbatch`` sizes are timed beside it); the reference runs its whole batch as written.

    flock /tmp/pdekit-bench.lock python benchmarks/mgno_bench.py \
        --ref-models /path/to/MgNO/models.py --ref-python benchmarks/.venv-operators/bin/python

The reference code is not vendored and nothing is downloaded: ``--ref-models`` defaults to
``$PDEKIT_MGNO_REF``, else ``/work/ref/MgNO/models.py``; when neither exists (e.g. the offline
CI box) the reference is recorded as "skipped: reference not available" and only pdekit runs.
Get it with ``git clone https://github.com/xlliu2017/MgNO`` and
``export PDEKIT_MGNO_REF=$PWD/MgNO/models.py`` (its ``torch`` comes from the operators venv,
``benchmarks/requirements-operators.txt``). ``bash benchmarks/run.sh --only mgno`` runs it.

Writes JSON (``--out``); prints a table with the wall and CPU time ratios pdekit / reference.
"""

import argparse
import os
import time
from pathlib import Path

from _harness import machine_info, pin_threads, run_peer, threads_summary, versions, write_json


def pdekit_epoch_time(n, resolution, batch_size, epochs, microbatch="auto"):
    """Epoch timing of pdekit MgNO trained by ``pdekit.training.fit`` (what a user gets:
    Adam, the relative-L2 loss, ``fit``'s own compiled step, per-epoch wall and process CPU
    time from its history, no evaluation). `microbatch` is passed to ``fit``: ``"auto"``
    (its default), an int (the batch's gradient accumulated over ``lax.scan``-ned
    micro-batches; the same loss and gradient up to round-off, each convolution's working set
    (k x 24 x 64^2 floats) in cache), or ``None`` (whole batches)."""
    import equinox as eqx
    import jax
    import numpy as np
    import optax

    from pdekit.data import Dataset
    from pdekit.operators import MgNO
    from pdekit.operators._mgno import count_params
    from pdekit.training import fit, relative_l2, resolve_microbatch

    model = MgNO.darcy_reference(key=jax.random.key(0))
    rng = np.random.default_rng(1)
    x = rng.standard_normal((n, 1, resolution, resolution)).astype(np.float32)
    y = rng.standard_normal((n, 1, resolution, resolution)).astype(np.float32)
    train = Dataset.from_arrays(x, y)
    used = resolve_microbatch(microbatch, model, train, batch_size) or batch_size
    model, hist = fit(model, train, loss=relative_l2, optimizer=optax.adam(5e-4),
                      epochs=epochs, batch_size=batch_size, seed=2, microbatch=microbatch)
    walls, cpus = hist["time"], hist["cpu_time"]
    fwd = eqx.filter_jit(lambda m, x: m.apply_batch(x))  # weights as arguments, not constants
    xb = jax.numpy.asarray(x[:batch_size])
    fwd(model, xb).block_until_ready()
    t0 = time.perf_counter()
    fwd(model, xb).block_until_ready()
    infer = (time.perf_counter() - t0) / batch_size
    return {"n_params": count_params(model), "microbatch": used,
            "microbatch_arg": microbatch, "s_per_epoch": min(walls[1:] or walls),
            "cpu_s_per_epoch": min(cpus[1:] or cpus), "first_epoch": walls[0],
            "inference_s_per_sample": infer, "cpu_per_wall": sum(cpus) / sum(walls)}


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--ref-models", default=None,
                   help="reference MgNO models.py (default $PDEKIT_MGNO_REF, else "
                   "/work/ref/MgNO/models.py when present)")
    p.add_argument("--ref-python", default="benchmarks/.venv-operators/bin/python")
    p.add_argument("--n", type=int, default=256)
    p.add_argument("--resolution", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--microbatch", default="auto",
                   help="fit(microbatch=...) of the headline pdekit row: 'auto' (fit's "
                   "default) or samples per micro-batch; whole batches are timed too")
    p.add_argument("--also-microbatch", default="2",
                   help="comma-separated micro-batch sizes timed beside it ('' for none)")
    p.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    p.add_argument("--skip-peer", action="store_true")
    p.add_argument("--out", default="-")
    a = p.parse_args(argv)
    if a.ref_models is None:
        a.ref_models = os.environ.get("PDEKIT_MGNO_REF") or (
            "/work/ref/MgNO/models.py" if Path("/work/ref/MgNO/models.py").is_file() else None)
    if a.quick:
        a.n, a.resolution, a.batch_size, a.epochs, a.also_microbatch = 8, 32, 4, 2, ""

    def size(name, v):
        if v == "auto":
            return v
        if not v.isdigit() or int(v) < 1 or a.batch_size % int(v):
            raise ValueError(f"`{name}` must be 'auto' or a positive divisor of --batch-size "
                             f"({a.batch_size}), got {v!r}.")
        return int(v)

    mb = size("--microbatch", a.microbatch)
    also = [size("--also-microbatch", v) for v in a.also_microbatch.split(",") if v]
    pin_threads()
    load_before = [round(x, 2) for x in os.getloadavg()]
    ours = pdekit_epoch_time(a.n, a.resolution, a.batch_size, a.epochs, mb)
    whole = pdekit_epoch_time(a.n, a.resolution, a.batch_size, a.epochs, None)
    others = [pdekit_epoch_time(a.n, a.resolution, a.batch_size, a.epochs, k)
              for k in also if k not in (ours["microbatch"], a.batch_size)]
    sizes = ["--n", str(a.n), "--resolution", str(a.resolution), "--batch-size",
             str(a.batch_size), "--epochs", str(a.epochs)]
    if a.skip_peer:
        ref = {"skipped": "--skip-peer"}
    elif a.ref_models is None or not Path(a.ref_models).is_file():
        ref = {"skipped": "reference not available (set PDEKIT_MGNO_REF to a checkout's "
               "models.py, see benchmarks/mgno_bench.py)"}
        print(f"[skip] MgNO reference: {ref['skipped']}")
    else:
        ref = run_peer(a.ref_python, "mgno_ref.py", ["--models", a.ref_models] + sizes,
                       label="MgNO reference (PyTorch)")
    load_after = [round(x, 2) for x in os.getloadavg()]
    result = {"benchmark": "mgno", "task": vars(a), "pdekit": ours,
              "pdekit_whole_batch": whole, "pdekit_other_microbatches": others,
              "reference": ref,
              "load_before": load_before, "load_after": load_after,
              "threads": threads_summary(), "machine": machine_info(),
              "versions": versions("jax", "jaxlib", "equinox", "optax")}
    if "s_per_epoch" in ref:
        result["ratio_s_per_epoch"] = ours["s_per_epoch"] / ref["s_per_epoch"]
        result["ratio_inference"] = ours["inference_s_per_sample"] / ref["inference_s_per_sample"]
        if ref.get("cpu_s_per_epoch"):
            result["ratio_cpu_s_per_epoch"] = ours["cpu_s_per_epoch"] / ref["cpu_s_per_epoch"]
            result["ratio_cpu_s_per_epoch_whole_batch"] = (whole["cpu_s_per_epoch"]
                                                           / ref["cpu_s_per_epoch"])
            for o in others:
                o["ratio_cpu_s_per_epoch"] = o["cpu_s_per_epoch"] / ref["cpu_s_per_epoch"]
    print(f"{'':12s} {'params':>8s} {'s/epoch':>8s} {'CPU s/ep':>8s} {'1st epoch':>9s} "
          f"{'infer ms':>8s} cpu/wall")
    for name, r in ([(f"pdekit mb{ours['microbatch']}", ours), ("pdekit whole", whole)]
                    + [(f"pdekit mb{o['microbatch']}", o) for o in others]
                    + [("reference", ref)]):
        if "s_per_epoch" in r:
            print(f"{name:12s} {r['n_params']:8d} {r['s_per_epoch']:8.2f} "
                  f"{r.get('cpu_s_per_epoch', float('nan')):8.2f} {r['first_epoch']:9.2f}"
                  f" {1e3 * r['inference_s_per_sample']:8.2f} {r['cpu_per_wall']:.2f}")
    if "ratio_s_per_epoch" in result:
        print(f"time per epoch pdekit / reference: {result['ratio_s_per_epoch']:.2f} wall, "
              f"{result.get('ratio_cpu_s_per_epoch', float('nan')):.2f} CPU")
    write_json(result, a.out)


def results_section(d: dict, cmd: str) -> str:
    """The generated ``mgno`` section of RESULTS.md (called by write_results.py)."""
    import datetime

    ours, ref, m = d["pdekit"], d["reference"], d["machine"]
    t = d["task"]
    lines = [f"## MgNO vs the reference PyTorch code (issue #13, generated): {t['n']} samples "
             f"1x{t['resolution']}x{t['resolution']}, batch {t['batch_size']}, "
             f"{t['epochs']} epochs (first excluded)", "",
             f"- date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; command: "
             f"`{cmd}`",
             f"- machine: {m['cpu_model']}, {m['logical_cpus']} logical CPUs; load average "
             f"before / after: {d.get('load_before', m['loadavg_1_5_15'])} / {d.get('load_after')}",
             "- threads: " + ", ".join(f"{k}={v}" for k, v in d["threads"].items()), "",
             "| contender | params | s/epoch (wall) | CPU s/epoch | cpu/wall | inference / "
             "sample |", "| --- | --- | --- | --- | --- | --- |"]
    whole = d.get("pdekit_whole_batch")

    def label(r):
        k, arg = r.get("microbatch", t["batch_size"]), r.get("microbatch_arg")
        how = "whole batch" if k == t["batch_size"] else f"micro-batches of {k}"
        if "microbatch_arg" not in r:  # older JSON: the bench's own step
            return f"pdekit MgNO, {how}"
        return f"pdekit MgNO, `fit(microbatch={arg!r})`: {how}"

    rows = [(label(ours), ours)]
    if whole and whole is not ours and whole.get("microbatch") != ours.get("microbatch"):
        rows.append((label(whole), whole))
    rows += [(label(o), o) for o in d.get("pdekit_other_microbatches", [])]
    rows.append(("reference MgNO_DC (PyTorch)", ref))
    for name, r in rows:
        if "s_per_epoch" in r:
            lines.append(f"| {name} | {r['n_params']:,} | {r['s_per_epoch']:.2f} | "
                         f"{r.get('cpu_s_per_epoch', float('nan')):.2f} | "
                         f"{r['cpu_per_wall']:.2f} | "
                         f"{1e3 * r['inference_s_per_sample']:.1f} ms |")
        else:
            lines.append(f"| {name} | skipped: {r.get('skipped')} | | | | |")
    if "ratio_s_per_epoch" in d:
        cpu = d.get("ratio_cpu_s_per_epoch")
        met = "**met**" if (cpu or d["ratio_s_per_epoch"]) <= 1 else "**missed**"
        lines += ["", f"Ratio pdekit / reference per epoch: {d['ratio_s_per_epoch']:.2f}× wall"
                  + (f", {cpu:.2f}× CPU time" if cpu else "")
                  + f"; target ≤ 1: {met}."]
        if d.get("ratio_cpu_s_per_epoch_whole_batch"):
            lines.append(f"Whole-batch step (no micro-batches): "
                         f"{d['ratio_cpu_s_per_epoch_whole_batch']:.2f}× CPU time.")
        for o in d.get("pdekit_other_microbatches", []):
            if o.get("ratio_cpu_s_per_epoch"):
                lines.append(f"Micro-batches of {o['microbatch']}: "
                             f"{o['ratio_cpu_s_per_epoch']:.2f}× CPU time.")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
