"""Shared benchmark plumbing: thread pinning, timing, machine info, peer subprocesses, tables.

Standard library only: this module is imported by the pdekit-side scripts (project .venv) and by
the peer runners (benchmarks/.venv-nlse, .venv-fem, .venv-dolfinx) alike.

Call :func:`pin_threads` *before* importing numpy / jax / petsc: the BLAS, OpenMP and XLA
thread pools read their sizes from the environment when they start.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def thread_env(n: int) -> dict[str, str]:
    """Environment variables that pin BLAS/OpenMP/XLA to ``n`` threads."""
    env = {v: str(n) for v in THREAD_VARS}
    xla = "--xla_cpu_multi_thread_eigen=false" if n == 1 else "--xla_cpu_multi_thread_eigen=true"
    # $PDEKIT_BENCH_XLA_EXTRA: flags added for smoke runs (the test suite asks for unoptimised
    # compiles there: a --quick run checks that a script works, not its timings)
    extra = os.environ.get("PDEKIT_BENCH_XLA_EXTRA", "").strip()
    env["XLA_FLAGS"] = f"{xla} intra_op_parallelism_threads={n}" + (f" {extra}" if extra else "")
    return env


def pin_threads(n: int | None = None) -> int:
    """Pin this process (and its children) to ``n`` threads on ``n`` cores; call it before
    importing numpy/jax.

    ``n`` defaults to ``$PDEKIT_BENCH_THREADS`` (run.sh sets it) or 1. Sets the BLAS/OpenMP/XLA
    thread variables and the CPU affinity to the first ``n`` cores of ``$PDEKIT_BENCH_CPUS``
    (default: cores 0..n-1). The affinity is what binds XLA: its CPU client sizes its thread pool
    from the affinity mask and ignores ``--xla_cpu_multi_thread_eigen`` for most kernels.
    Returns ``n``.
    """
    n = int(n if n is not None else os.environ.get("PDEKIT_BENCH_THREADS", "1"))
    os.environ["PDEKIT_BENCH_THREADS"] = str(n)
    os.environ.update(thread_env(n))
    cpus = os.environ.get("PDEKIT_BENCH_CPUS", ",".join(map(str, range(n))))
    cores = [int(c) for c in cpus.split(",") if c.strip()][:n]
    if hasattr(os, "sched_setaffinity"):
        try:
            os.sched_setaffinity(0, set(cores))
        except OSError:
            pass
    return n


def threads_summary() -> dict[str, str]:
    keys = (*THREAD_VARS[:3], "XLA_FLAGS", "PDEKIT_BENCH_THREADS")
    out = {k: os.environ.get(k, "<unset>") for k in keys}
    if hasattr(os, "sched_getaffinity"):
        out["cpu_affinity"] = ",".join(map(str, sorted(os.sched_getaffinity(0))))
    return out


def timeit(fn, *, repeat: int = 5, min_time: float = 0.0, max_time: float = 60.0) -> dict:
    """Time ``fn()`` (already warmed up) ``repeat`` times (more while under ``min_time``
    seconds in total, fewer when one call exceeds ``max_time / repeat``).

    **Returns:** ``{"best", "median", "n", "cpu", "cpu_per_wall"}`` in seconds; ``cpu`` is the
    best process CPU time of the calls (the fairer figure on a shared machine for a pinned
    single-threaded run); ``cpu_per_wall`` is process CPU time / wall time (about 1 for a
    single-threaded run, above 1 when more threads worked).
    """
    walls, cpus = [], []
    t_start = time.perf_counter()
    while True:
        c0, w0 = time.process_time(), time.perf_counter()
        fn()
        w1, c1 = time.perf_counter(), time.process_time()
        walls.append(w1 - w0)
        cpus.append(c1 - c0)
        spent = w1 - t_start
        if len(walls) >= repeat and spent >= min_time:
            break
        if spent + walls[-1] > max_time:
            break
    return {"best": min(walls), "median": statistics.median(walls), "n": len(walls),
            "cpu": min(cpus), "cpu_per_wall": sum(cpus) / max(sum(walls), 1e-12)}


def first_call(fn) -> tuple[object, float]:
    """Run ``fn()`` once; return its value and the wall time (compile + run for jitted code)."""
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def versions(*names: str) -> dict[str, str]:
    from importlib import metadata

    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def machine_info() -> dict:
    model = platform.processor() or "unknown"
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in text.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    try:
        load = os.getloadavg()
    except OSError:
        load = (float("nan"),) * 3
    return {"cpu_model": model, "logical_cpus": os.cpu_count(), "platform": platform.platform(),
            "loadavg_1_5_15": [round(x, 2) for x in load]}


def write_json(obj: dict, path: str | os.PathLike | None) -> None:
    text = json.dumps(obj, indent=2, default=_jsonable)
    if path is None or str(path) == "-":
        print(text)
    else:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text + "\n")


def _jsonable(x):
    try:
        return x.item()  # numpy / jax scalars
    except AttributeError:
        return str(x)


def run_peer(python: str | os.PathLike, script: str, args: list[str], *,
             timeout: float = 900.0, label: str | None = None) -> dict:
    """Run ``python benchmarks/<script> <args> --out TMP.json`` with pinned threads.

    **Returns:** the JSON the runner wrote, or ``{"skipped": reason}`` when the interpreter is
    missing, the runner fails, or it exceeds ``timeout`` seconds (the reason is printed too).
    """
    label = label or script
    python = Path(python)
    if not python.exists():
        return _skip(label, f"interpreter {python} not found (run benchmarks/run.sh to create it)")
    out = HERE / "out" / f".peer-{Path(script).stem}-{os.getpid()}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update(thread_env(int(os.environ.get("PDEKIT_BENCH_THREADS", "1"))))
    env.pop("JAX_ENABLE_X64", None)
    cmd = [str(python), str(HERE / script), *args, "--out", str(out)]
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return _skip(label, f"timed out after {timeout:.0f} s")
    if proc.returncode != 0 or not out.exists():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        return _skip(label, f"exit code {proc.returncode}: " + " | ".join(tail))
    result = json.loads(out.read_text())
    out.unlink()
    arrays = Path(str(out) + ".npz")
    if arrays.exists():  # frames the runner saved; load_arrays() reads and deletes them
        result["_arrays"] = str(arrays)
    return result


def load_arrays(result: dict) -> dict:
    """The arrays a peer runner saved next to its JSON (then deleted), as a dict."""
    import numpy as np

    path = result.pop("_arrays", None)
    if path is None:
        return {}
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    Path(path).unlink()
    return arrays


def _skip(label: str, reason: str) -> dict:
    print(f"[skip] {label}: {reason}", file=sys.stderr, flush=True)
    return {"skipped": reason}


def fmt(x, spec: str = ".3g") -> str:
    if x is None:
        return "-"
    if isinstance(x, str):
        return x
    return format(x, spec)


def table(rows: list[dict], columns: list[tuple[str, str, str]]) -> str:
    """Markdown table; ``columns`` are ``(key, header, format spec)``."""
    head = "| " + " | ".join(h for _, h, _ in columns) + " |"
    sep = "| " + " | ".join("---" for _ in columns) + " |"
    body = ["| " + " | ".join(fmt(r.get(k), f) for k, _, f in columns) + " |" for r in rows]
    return "\n".join([head, sep, *body])


def read_spec(description: str):
    """Parse a peer runner's command line (``--spec JOBS.json --out OUT.json [--quick]``);
    returns ``(args, spec)``."""
    p = common_argparser(description)
    p.add_argument("--spec", required=True)
    args = p.parse_args()
    return args, json.loads(Path(args.spec).read_text())


def run_jobs(jobs: list[dict], fn) -> list[dict]:
    """``[fn(job) for job in jobs]``, printing each result as a JSON line as it comes."""
    results = []
    for job in jobs:
        results.append(fn(job))
        print(json.dumps(results[-1], default=_jsonable), flush=True)
    return results


def common_argparser(description: str):
    import argparse

    p = argparse.ArgumentParser(description=description)
    p.add_argument("--out", default=None, help="write the results JSON here (default: print)")
    p.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    return p
