"""ROM benchmark (issue #12): pdekit vs pyMOR on the same full-order model.

1. Thermal block 3x2 at ~20k P1 DOFs, 729 training parameters (3 per axis), N = 32: greedy
   offline time (cold: with XLA compilation; warm: second run), max H1-seminorm error and
   effectivities on 100 random test parameters, ROM vs full solve. pyMOR reduces the *same*
   matrices (exported to an npz), with the same training and test parameters.
2. Online speed at ~1e5 DOFs: one reduced solve + estimate vs one full sparse direct solve,
   and 1e4 parameters in one vmapped call.
3. POD of a 100,000 x 1,000 snapshot matrix: method of snapshots, randomized SVD,
   incremental POD (pyMOR: pod, randomized_svd, inc_vectorarray_hapod).

Usage: ``python benchmarks/rom_bench.py [--quick] [--pdekit-only] [--out FILE.json]``
(``bash benchmarks/run.sh --only rom`` pins threads and runs pyMOR from .venv-rom).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness as H  # noqa: E402

VENV = H.HERE / ".venv-rom" / "bin" / "python"


def _sync(x):
    import jax

    return jax.block_until_ready(x)


CRITERIA = (("absolute", "product"), ("relative", "energy"))  # pyMOR's first, then ours


def _greedy_errors(problem, model, V, test, U):
    import equinox as eqx
    import jax
    import jax.numpy as jnp
    import numpy as np

    out = {"basis_size": model.basis_size}
    batched = eqx.filter_jit(lambda fn, mu: jax.vmap(fn)(mu))
    X = problem.product()
    for norm in ("product", "energy"):
        uN, est = _sync(batched(lambda m, norm=norm: model.solve_and_estimate(m, norm), test))
        E = U - uN @ V.T
        if norm == "product":
            err = jnp.sqrt(jnp.einsum("bi,bi->b", E, jax.vmap(X.matvec)(E)))
            nrm = jnp.sqrt(jnp.einsum("bi,bi->b", U, jax.vmap(X.matvec)(U)))
            out["max_h1_error"] = float(err.max())
            out["max_rel_h1_error"] = float((err / nrm).max())
        else:
            err = jax.vmap(problem.energy_norm)(E, test)
            nrm = jax.vmap(problem.energy_norm)(U, test)
            out["max_rel_energy_error"] = float((err / nrm).max())
        eff = np.asarray(est / err)
        out[f"effectivity_{norm}"] = [float(eff.min()), float(eff.max())]
    return out


def greedy_case(cells, train_per_axis, num_test, N, tmp, peers):
    """Both greedy criteria: ``absolute``/``product`` (pyMOR's ``rb_greedy`` with the
    ``CoerciveRBReductor`` estimate) first, so its first run is the cold one, then pdekit's
    default ``relative``/``energy``. Times are wall and process CPU seconds."""
    import equinox as eqx
    import jax
    import numpy as np

    from pdekit import rom

    problem = rom.thermal_block(cells, (3, 2))
    train = problem.grid(train_per_axis)
    test = problem.sample(jax.random.key(1), num_test)
    out = {"dofs": problem.size, "train": int(train.shape[0]), "test": num_test, "N": N,
           "criteria": {}}
    U = None
    for k, (criterion, norm) in enumerate(CRITERIA):
        runs = []
        for _ in range(2):
            c0, t0 = time.process_time(), time.perf_counter()
            res = rom.weak_greedy(problem, train, max_basis_size=N, criterion=criterion,
                                  norm=norm)
            _sync(res.rom.operators)
            runs.append((time.perf_counter() - t0, time.process_time() - c0))
        if k == 0:
            out["offline_cold_s"], out["offline_cold_cpu_s"] = runs[0]
        if U is None:
            U = _sync(eqx.filter_jit(lambda p, mu: jax.vmap(p.solve)(mu))(problem, test))
        d = {"offline_warm_s": runs[1][0], "offline_warm_cpu_s": runs[1][1]}
        d |= _greedy_errors(problem, res.rom, res.basis, test, U)
        out["criteria"][f"{criterion}/{norm}"] = d
    model = res.rom
    mu0 = test[0]
    solve = eqx.filter_jit(lambda p, m: p.solve(m))
    _sync(solve(problem, mu0))
    out["fom_solve"] = H.timeit(lambda: _sync(solve(problem, mu0)), repeat=5)
    online = eqx.filter_jit(lambda r, m: r.solve_and_estimate(m))
    _sync(online(model, mu0))
    out["rom_solve"] = H.timeit(lambda: _sync(online(model, mu0)), repeat=50, min_time=0.5)
    if peers:
        path = Path(tmp) / "tb.npz"
        arrays = {"Q": problem.operator_data.shape[0], "n": problem.size,
                  "f": np.asarray(problem.rhs[0]), "train": np.asarray(train),
                  "test": np.asarray(test), "N": N, "mu_min": problem.mu_min[0],
                  "mu_max": problem.mu_max[0]}
        from pdekit.solvers import linalg

        for q in range(problem.operator_data.shape[0]):
            A = linalg.CSRMatrix(problem.pattern, problem.operator_data[q]).to_scipy()
            arrays |= {f"A{q}_data": A.data, f"A{q}_indices": A.indices,
                       f"A{q}_indptr": A.indptr}
        np.savez(path, **arrays)
        out["pymor"] = H.run_peer(VENV, "rom_pymor.py", ["greedy", str(path)], timeout=1800,
                                  label="pyMOR greedy")
    return out


def online_case(cells, N, num_train, batch):
    import equinox as eqx
    import jax

    from pdekit import rom

    problem = rom.thermal_block(cells, (3, 2))
    train = problem.sample(jax.random.key(2), num_train)
    t0 = time.perf_counter()
    res = rom.weak_greedy(problem, train, max_basis_size=N)
    out = {"dofs": problem.size, "N": res.rom.basis_size, "train": num_train,
           "offline_s": time.perf_counter() - t0}
    mu0 = train[0]
    solve = eqx.filter_jit(lambda p, m: p.solve(m))
    _sync(solve(problem, mu0))
    out["fom_solve"] = H.timeit(lambda: _sync(solve(problem, mu0)), repeat=3)
    online = eqx.filter_jit(lambda r, m: r.solve_and_estimate(m))
    _sync(online(res.rom, mu0))
    out["rom_solve"] = H.timeit(lambda: _sync(online(res.rom, mu0)), repeat=50, min_time=0.5)
    many = problem.sample(jax.random.key(3), batch)
    vm = eqx.filter_jit(lambda r, m: jax.vmap(r.solve_and_estimate)(m))
    _, out["batch_compile_s"] = H.first_call(lambda: _sync(vm(res.rom, many)))
    out["batch"] = H.timeit(lambda: _sync(vm(res.rom, many)), repeat=3)
    out["batch_size"] = batch
    return out


def snapshot_matrix(n, C):
    """Same recipe as rom_pymor.py: ``sin(pi (k+1) x_i) @ C``."""
    import numpy as np

    x = (np.arange(n) + 0.5) / n
    return np.sin(np.pi * np.outer(x, np.arange(1, C.shape[0] + 1))) @ C


def pod_case(n, S, rank, tmp, peers):
    import jax
    import numpy as np

    from pdekit import rom

    rng = np.random.default_rng(0)
    K = 200
    C = rng.standard_normal((K, S)) * (0.8 ** np.arange(K))[:, None]
    X = snapshot_matrix(n, C)  # a numpy array, as pyMOR gets: pdekit's host (BLAS) backend
    tol = 1e-6
    out = {"shape": [n, S], "rank": rank, "incremental_tol": tol}

    def snap():
        return _sync(rom.pod_snapshots(X, rank=rank).modes)

    def rand():
        return _sync(rom.randomized_pod(X, rank, key=jax.random.key(0)).modes)

    def inc():
        p = rom.IncrementalPOD(tol=tol)
        for j in range(0, S, S // 10):
            p.update(X[:, j:j + S // 10])
        return p.result(tol=tol)

    for name, fn in (("snapshots", snap), ("randomized", rand), ("incremental", inc)):
        _, first = H.first_call(fn)
        out[name] = {"first_s": first, "time": H.timeit(fn, repeat=2, max_time=120)}
    out["snapshots"]["sv"] = np.asarray(rom.pod_snapshots(X, rank=rank).singular_values).tolist()
    out["randomized"]["sv"] = np.asarray(
        rom.randomized_pod(X, rank, key=jax.random.key(0)).singular_values).tolist()
    res = inc()
    out["incremental"]["sv"] = np.asarray(res.singular_values).tolist()
    out["incremental"]["rank"] = res.rank
    if peers:
        path = Path(tmp) / "pod.npz"
        # pyMOR's HAPOD eps is an l2-mean error: sqrt(sum ||x - P x||^2 / S)
        eps = tol * float(np.linalg.norm(X)) / np.sqrt(S)
        np.savez(path, n=n, C=C, hapod_eps=eps)
        out["pymor"] = H.run_peer(VENV, "rom_pymor.py", ["pod", str(path), "--rank",
                                                          str(rank)], timeout=1800,
                                  label="pyMOR POD")
    return out


def _cpu(t):
    """Best wall time x CPU/wall of the timed calls (process CPU seconds of one call)."""
    return t["best"] * t.get("cpu_per_wall", 1.0)


def summarize(d):
    s = {}
    g = d.get("greedy", {})
    pm = g.get("pymor", {})
    if "offline_s" in pm:
        ab = g["criteria"]["absolute/product"]
        s["offline_ratio_cold"] = g["offline_cold_s"] / pm["offline_s"]
        s["offline_ratio_warm"] = ab["offline_warm_s"] / pm["offline_s"]
        if "offline_cpu_s" in pm:
            s["offline_cpu_ratio_cold"] = g["offline_cold_cpu_s"] / pm["offline_cpu_s"]
            s["offline_cpu_ratio_warm"] = ab["offline_warm_cpu_s"] / pm["offline_cpu_s"]
        s["same_basis_size"] = ab["basis_size"] == pm["basis_size"]
        for name, c in g["criteria"].items():
            s[f"h1_error_ratio[{name}]"] = c["max_h1_error"] / pm["max_h1_error"]
        s["rom_solve_speedup_vs_pymor"] = pm["rom_solve_s"] / g["rom_solve"]["best"]
    o = d.get("online", {})
    if o:
        s["online_speedup_1e5"] = o["fom_solve"]["best"] / o["rom_solve"]["best"]
        s["online_speedup_1e5_batched"] = o["fom_solve"]["best"] / (
            o["batch"]["best"] / o["batch_size"])
    p = d.get("pod", {})
    pp = p.get("pymor", {})
    for k in ("snapshots", "randomized", "incremental"):
        if k in pp:
            s[f"pod_{k}_ratio"] = p[k]["time"]["best"] / pp[k]["time"]["best"]
            s[f"pod_{k}_cpu_ratio"] = _cpu(p[k]["time"]) / _cpu(pp[k]["time"])
    return s


def section(d, cmd):
    """Markdown for benchmarks/RESULTS.md (called by write_results.py)."""
    m = d["machine"]
    s = d["summary"]
    g, o, p = d.get("greedy", {}), d.get("online", {}), d.get("pod", {})
    pm = g.get("pymor", {})
    ok = {True: "**met**", False: "**missed**"}
    lines = ["## ROM (issue #12): certified reduced basis and POD vs pyMOR", "",
             f"- command: `{cmd}`; machine: {m['cpu_model']}, {m['logical_cpus']} CPUs, load "
             f"average at start {m['loadavg_1_5_15']}"
             + (f", at end {d['loadavg_end']}" if "loadavg_end" in d else "")
             + f"; threads: {d['threads']}",
             f"- pyMOR: {pm.get('versions', pm.get('skipped', '-'))}", ""]
    if g:
        ab, rel = g["criteria"]["absolute/product"], g["criteria"]["relative/energy"]
        lines += [
            f"Thermal block 3x2, {g['dofs']} P1 DOFs (free), {g['train']} training "
            f"parameters, N = {g['N']}, {g['test']} random test parameters; both reduce the "
            "same matrices. pdekit at pyMOR's greedy criterion (`criterion=\"absolute\", "
            "norm=\"product\"`: the X-norm bound) and at its default (relative energy "
            "bound). Times: wall / process CPU seconds; cold = first call in the process "
            "(XLA compilation included), warm = second call.", "",
            "| | pdekit, absolute X-norm criterion | pdekit, relative energy (default) | "
            "pyMOR |", "| --- | --- | --- | --- |",
            f"| basis size | {ab['basis_size']} | {rel['basis_size']} | "
            f"{pm.get('basis_size', '-')} |",
            f"| greedy offline, cold [s] | {g['offline_cold_s']:.2f} / "
            f"{g['offline_cold_cpu_s']:.2f} | - | {H.fmt(pm.get('offline_s'), '.2f')} / "
            f"{H.fmt(pm.get('offline_cpu_s'), '.2f')} |",
            f"| greedy offline, warm [s] | {ab['offline_warm_s']:.2f} / "
            f"{ab['offline_warm_cpu_s']:.2f} | {rel['offline_warm_s']:.2f} / "
            f"{rel['offline_warm_cpu_s']:.2f} | (no compile step) |",
            f"| max H1-seminorm error | {ab['max_h1_error']:.3e} | {rel['max_h1_error']:.3e} "
            f"| {H.fmt(pm.get('max_h1_error'), '.3e')} |",
            f"| max relative H1 error | {ab['max_rel_h1_error']:.3e} | "
            f"{rel['max_rel_h1_error']:.3e} | {H.fmt(pm.get('max_rel_h1_error'), '.3e')} |",
            f"| max relative energy error | {ab['max_rel_energy_error']:.3e} | "
            f"{rel['max_rel_energy_error']:.3e} | - |",
            f"| effectivity (X-norm estimate / X error) | {ab['effectivity_product'][0]:.2f}"
            f"..{ab['effectivity_product'][1]:.2f} | {rel['effectivity_product'][0]:.2f}.."
            f"{rel['effectivity_product'][1]:.2f} | "
            f"{H.fmt(pm.get('effectivity_min'), '.2f')}..{H.fmt(pm.get('effectivity_max'), '.2f')}"
            " |",
            f"| effectivity (energy estimate / energy error) | "
            f"{ab['effectivity_energy'][0]:.2f}..{ab['effectivity_energy'][1]:.2f} | "
            f"{rel['effectivity_energy'][0]:.2f}..{rel['effectivity_energy'][1]:.2f} | - |",
            f"| ROM solve + estimate [ms] | - | {g['rom_solve']['best'] * 1e3:.4f} | "
            f"{H.fmt(pm.get('rom_solve_s', None) and pm['rom_solve_s'] * 1e3, '.4f')} "
            "(solve only) |",
            f"| full solve [ms] | - | {g['fom_solve']['best'] * 1e3:.2f} | "
            f"{H.fmt(pm.get('fom_solve_s', None) and pm['fom_solve_s'] * 1e3, '.2f')} |", ""]
        if "offline_ratio_warm" in s:
            cpu = ""
            if "offline_cpu_ratio_cold" in s:
                cpu = (f" (CPU time: {s['offline_cpu_ratio_cold']:.2f} cold, "
                       f"{s['offline_cpu_ratio_warm']:.2f} warm)")
            lines.append(
                f"- offline ratio pdekit/pyMOR at the same criterion: "
                f"{s['offline_ratio_cold']:.2f} cold, {s['offline_ratio_warm']:.2f} warm{cpu}; "
                f"target <= 0.3: {ok[s['offline_ratio_cold'] <= 0.3]} (cold), "
                f"{ok[s['offline_ratio_warm'] <= 0.3]} (warm). Same basis size: "
                f"{ok[s['same_basis_size']]}; max H1 error ratio pdekit/pyMOR: "
                f"{s['h1_error_ratio[absolute/product]']:.2f} at pyMOR's criterion, "
                f"{s['h1_error_ratio[relative/energy]']:.2f} at pdekit's default.")
    if o:
        lines += ["", f"Online at {o['dofs']} DOFs (N = {o['N']}): reduced solve + estimate "
                  f"{o['rom_solve']['best'] * 1e6:.1f} us vs full direct solve "
                  f"{o['fom_solve']['best'] * 1e3:.1f} ms: **{s['online_speedup_1e5']:.0f}x** "
                  f"(target >= 1000x: {ok[s['online_speedup_1e5'] >= 1000]}); "
                  f"{o['batch_size']} parameters in one vmapped call: "
                  f"{o['batch']['best'] * 1e3:.1f} ms ({s['online_speedup_1e5_batched']:.0f}x "
                  f"per parameter; compile {o['batch_compile_s']:.2f} s)."]
    if p:
        pp = p.get("pymor", {})
        lines += ["", f"POD of a {p['shape'][0]} x {p['shape'][1]} matrix (numpy input; rank "
                  f"{p['rank']}; incremental: 10 batches, tol {p['incremental_tol']:g}, "
                  f"pdekit rank {p['incremental'].get('rank', '-')}, pyMOR HAPOD rank "
                  f"{pp.get('incremental', {}).get('rank', '-')}); best of 2, compile "
                  "excluded (first call in brackets); ratio = pdekit / pyMOR:", "",
                  "| variant | pdekit wall [s] | pyMOR wall [s] | ratio (wall) | ratio (CPU) "
                  "| target <= 1 |", "| --- | --- | --- | --- | --- | --- |"]
        for k in ("snapshots", "randomized", "incremental"):
            t = p[k]["time"]["best"]
            tp = pp.get(k, {}).get("time", {}).get("best")
            r, rc = s.get(f"pod_{k}_ratio"), s.get(f"pod_{k}_cpu_ratio")
            lines.append(f"| {k} | {t:.2f} ({p[k]['first_s']:.2f}) | {H.fmt(tp, '.2f')} | "
                         f"{H.fmt(r, '.2f')} | {H.fmt(rc, '.2f')} | "
                         f"{ok[r <= 1] if r is not None else '-'} |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    ap.add_argument("--pdekit-only", action="store_true", help="skip pyMOR")
    ap.add_argument("--only", choices=("greedy", "online", "pod"), action="append")
    ap.add_argument("--out", default="-")
    a = ap.parse_args(argv)
    import faulthandler

    faulthandler.dump_traceback_later(1200, exit=False)  # a stack trace if a run hangs
    H.pin_threads()
    import pdekit

    pdekit.enable_x64()
    cases = a.only or ["greedy", "online", "pod"]
    peers = not a.pdekit_only
    d = {"benchmark": "rom", "machine": H.machine_info(), "threads": H.threads_summary(),
         "versions": H.versions("jax", "equinox", "numpy", "scipy")}
    with tempfile.TemporaryDirectory() as tmp:
        if "greedy" in cases:
            d["greedy"] = (greedy_case(20, 2, 10, 8, tmp, peers) if a.quick
                           else greedy_case(142, 3, 100, 32, tmp, peers))
        if "online" in cases:
            d["online"] = (online_case(24, 6, 16, 100) if a.quick
                           else online_case(317, 32, 64, 10_000))
        if "pod" in cases:
            d["pod"] = (pod_case(2_000, 100, 10, tmp, peers) if a.quick
                        else pod_case(100_000, 1_000, 50, tmp, peers))
    d["loadavg_end"] = H.machine_info()["loadavg_1_5_15"]
    d["summary"] = summarize(d)
    H.write_json(d, a.out)
    return d


if __name__ == "__main__":
    main()
