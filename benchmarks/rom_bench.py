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


def greedy_case(cells, train_per_axis, num_test, N, tmp, peers):
    import equinox as eqx
    import jax
    import jax.numpy as jnp
    import numpy as np

    from pdekit import rom

    problem = rom.thermal_block(cells, (3, 2))
    train = problem.grid(train_per_axis)
    test = problem.sample(jax.random.key(1), num_test)
    out = {"dofs": problem.size, "train": int(train.shape[0]), "test": num_test, "N": N}
    t0 = time.perf_counter()
    res = rom.weak_greedy(problem, train, max_basis_size=N)
    _sync(res.rom.operators)
    out["offline_cold_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = rom.weak_greedy(problem, train, max_basis_size=N)
    _sync(res.rom.operators)
    out["offline_warm_s"] = time.perf_counter() - t0
    model, V = res.rom, res.basis
    out["basis_size"] = model.basis_size
    batched = eqx.filter_jit(lambda fn, mu: jax.vmap(fn)(mu))
    U = _sync(batched(problem.solve, test))
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
    import jax.numpy as jnp
    import numpy as np

    from pdekit import rom

    rng = np.random.default_rng(0)
    K = 200
    C = rng.standard_normal((K, S)) * (0.8 ** np.arange(K))[:, None]
    X = jnp.asarray(snapshot_matrix(n, C))
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
        eps = tol * float(jnp.linalg.norm(X)) / np.sqrt(S)
        np.savez(path, n=n, C=C, hapod_eps=eps)
        out["pymor"] = H.run_peer(VENV, "rom_pymor.py", ["pod", str(path), "--rank",
                                                          str(rank)], timeout=1800,
                                  label="pyMOR POD")
    return out


def summarize(d):
    s = {}
    g = d.get("greedy", {})
    pm = g.get("pymor", {})
    if "offline_s" in pm:
        s["offline_ratio_cold"] = g["offline_cold_s"] / pm["offline_s"]
        s["offline_ratio_warm"] = g["offline_warm_s"] / pm["offline_s"]
        s["same_basis_size"] = g["basis_size"] == pm["basis_size"]
        s["h1_error_ratio"] = g["max_h1_error"] / pm["max_h1_error"]
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
             f"average at start {m['loadavg_1_5_15']}; threads: {d['threads']}",
             f"- pyMOR: {pm.get('versions', pm.get('skipped', '-'))}", ""]
    if g:
        lines += [
            f"Thermal block 3x2, {g['dofs']} P1 DOFs (free), {g['train']} training "
            f"parameters, N = {g['N']}, {g['test']} random test parameters; both reduce the "
            "same matrices.", "",
            "| | pdekit | pyMOR |", "| --- | --- | --- |",
            f"| basis size | {g['basis_size']} | {pm.get('basis_size', '-')} |",
            f"| greedy offline [s] | {g['offline_cold_s']:.2f} cold (with compile), "
            f"{g['offline_warm_s']:.2f} warm | {H.fmt(pm.get('offline_s'), '.2f')} |",
            f"| max H1-seminorm error | {g['max_h1_error']:.3e} | "
            f"{H.fmt(pm.get('max_h1_error'), '.3e')} |",
            f"| max relative H1 error | {g['max_rel_h1_error']:.3e} | "
            f"{H.fmt(pm.get('max_rel_h1_error'), '.3e')} |",
            f"| effectivity (X-norm estimate / X error) | {g['effectivity_product'][0]:.2f}"
            f"..{g['effectivity_product'][1]:.2f} | {H.fmt(pm.get('effectivity_min'), '.2f')}"
            f"..{H.fmt(pm.get('effectivity_max'), '.2f')} |",
            f"| effectivity (energy estimate / energy error) | "
            f"{g['effectivity_energy'][0]:.2f}..{g['effectivity_energy'][1]:.2f} | - |",
            f"| ROM solve + estimate [ms] | {g['rom_solve']['best'] * 1e3:.4f} | "
            f"{H.fmt(pm.get('rom_solve_s', None) and pm['rom_solve_s'] * 1e3, '.4f')} "
            "(solve only) |",
            f"| full solve [ms] | {g['fom_solve']['best'] * 1e3:.2f} | "
            f"{H.fmt(pm.get('fom_solve_s', None) and pm['fom_solve_s'] * 1e3, '.2f')} |", ""]
        if "offline_ratio_warm" in s:
            lines.append(f"- offline ratio pdekit/pyMOR: {s['offline_ratio_cold']:.2f} cold, "
                         f"{s['offline_ratio_warm']:.2f} warm; target <= 0.3: "
                         f"{ok[s['offline_ratio_cold'] <= 0.3]} (cold), "
                         f"{ok[s['offline_ratio_warm'] <= 0.3]} (warm). Same basis size: "
                         f"{ok[s['same_basis_size']]}; H1 error ratio "
                         f"{s['h1_error_ratio']:.2f}.")
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
        lines += ["", f"POD of a {p['shape'][0]} x {p['shape'][1]} matrix (rank {p['rank']}; "
                  f"incremental: 10 batches, tol {p['incremental_tol']:g}); best of 2, compile "
                  "excluded (first call in brackets):", "",
                  "| variant | pdekit [s] | pyMOR [s] | ratio | target <= 1 |",
                  "| --- | --- | --- | --- | --- |"]
        for k in ("snapshots", "randomized", "incremental"):
            t = p[k]["time"]["best"]
            tp = pp.get(k, {}).get("time", {}).get("best")
            r = s.get(f"pod_{k}_ratio")
            lines.append(f"| {k} | {t:.2f} ({p[k]['first_s']:.2f}) | {H.fmt(tp, '.2f')} | "
                         f"{H.fmt(r, '.2f')} | {ok[r <= 1] if r is not None else '-'} |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    ap.add_argument("--pdekit-only", action="store_true", help="skip pyMOR")
    ap.add_argument("--only", choices=("greedy", "online", "pod"), action="append")
    ap.add_argument("--out", default="-")
    a = ap.parse_args(argv)
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
    d["summary"] = summarize(d)
    H.write_json(d, a.out)
    return d


if __name__ == "__main__":
    main()
