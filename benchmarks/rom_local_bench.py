"""Local reduced bases (issue #14): pairwise dissimilarities + clustering of 5,000 snapshots
of 10^4 DOFs, pdekit vs numpy + `kmedoids` and scikit-learn KMeans; and the online cost of
ROM-net routing (classifier vs dissimilarities to every medoid) and routing + local Galerkin
solve vs the full solve, at 10^4 DOFs.

    python benchmarks/rom_local_bench.py [--quick] [--out OUT.json]     (project venv)
    python benchmarks/rom_local_bench.py --peer --data X.npy ...        (benchmarks/.venv-romlocal)

Data: snapshots from 8 random 3-dimensional subspaces, random directions in a cone of each,
amplitudes log-uniform over 4 decades (the amplitude-dominated case of the issue), float64.
Both sides compute the sine dissimilarity matrix and the Euclidean distance matrix from the
same `.npy` file and cluster with FasterPAM (`kmedoids`, one thread, same seeds) and k-means
(pdekit's JAX Lloyd + k-means++ vs scikit-learn `KMeans(n_init=4, algorithm="lloyd")`); the
accuracy of the recovered subspaces is reported for both.
"""

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _harness as H  # noqa: E402

PEER_VENV = H.HERE / ".venv-romlocal" / "bin" / "python"


def make_data(S, dofs, K=8, r=3, seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    per = S // K
    x = np.empty((per * K, dofs))
    truth = np.repeat(np.arange(K), per)
    for k in range(K):
        B = np.linalg.qr(rng.standard_normal((dofs, r)))[0]
        g = np.ones((per, r)) + 0.35 * rng.standard_normal((per, r))
        amp = np.exp(rng.uniform(np.log(1e-2), np.log(1e2), per)) * rng.choice([-1, 1], per)
        x[k * per:(k + 1) * per] = (g @ B.T) * amp[:, None]
    perm = rng.permutation(per * K)
    return x[perm], truth[perm]


def timeit(fn, repeat=3):
    """`H.timeit` plus the best process CPU time (`cpu`, seconds) of the calls: on a shared
    machine the CPU time of a pinned single-threaded process is the fairer figure."""
    return H.timeit(fn, repeat=repeat, max_time=float("inf"))


def accuracy(labels, truth):
    """Fraction of snapshots in the majority true class of their cluster (purity)."""
    import numpy as np

    tot = 0
    for c in np.unique(labels):
        tot += np.bincount(truth[labels == c]).max()
    return tot / len(truth)


# ------------------------------------------------------------------------------ peer side
def peer_main(args):
    import kmedoids
    import numpy as np
    import sklearn
    from sklearn.cluster import KMeans

    x = np.load(args.data)
    truth = np.load(args.truth)
    K = args.K
    out = {"versions": H.versions("numpy", "scikit-learn", "kmedoids"), "rows": []}

    def sine():
        g = x @ x.T
        n = np.sqrt(np.diag(g))
        c = np.clip(np.abs(g / np.outer(n, n)), 0, 1)
        d = np.sqrt((1 - c) * (1 + c))
        np.fill_diagonal(d, 0)
        return d

    def euclid():
        n2 = np.einsum("ij,ij->i", x, x)
        # x @ x.T first: numpy calls BLAS syrk for it (``2 * x @ x.T`` would be a full GEMM)
        d = np.sqrt(np.maximum(n2[:, None] + n2[None, :] - 2 * (x @ x.T), 0))
        np.fill_diagonal(d, 0)
        return d

    for name, fn in [("sine", sine), ("euclidean", euclid)]:
        D = fn()
        t = timeit(fn, repeat=2)
        res = kmedoids.fasterpam(D, K, init="random", random_state=0, n_cpu=1)
        tk = timeit(lambda D=D: kmedoids.fasterpam(D, K, init="random", random_state=0,
                                                     n_cpu=1), repeat=3)
        out["rows"].append({"case": f"pairwise {name} (numpy)", "time": t["best"], "cpu": t["cpu"],
                            "cpu_wall": t["cpu_per_wall"]})
        out["rows"].append({"case": f"k-medoids {name} (kmedoids)", "time": tk["best"],
                            "cpu": tk["cpu"], "accuracy": accuracy(np.asarray(res.labels), truth),
                            "loss": float(res.loss), "cpu_wall": tk["cpu_per_wall"]})
    km = KMeans(K, n_init=4, algorithm="lloyd", random_state=0, tol=1e-10, max_iter=300)
    t = timeit(lambda: km.fit(x), repeat=2)
    out["rows"].append({"case": "k-means euclidean (scikit-learn)", "time": t["best"],
                        "cpu": t["cpu"], "accuracy": accuracy(km.labels_, truth),
                        "loss": float(km.inertia_), "cpu_wall": t["cpu_per_wall"],
                        "n_iter": int(km.n_iter_)})
    out["versions"]["scikit-learn"] = sklearn.__version__
    H.write_json(out, args.out)


# ----------------------------------------------------------------------------- pdekit side
def pdekit_main(args):
    import pdekit

    pdekit.enable_x64()
    S, dofs, K = (400, 2000, 8) if args.quick else (5000, 10_000, 8)
    prev = {}
    if args.part == "online" and args.out and os.path.exists(args.out):
        prev = json.loads(open(args.out).read())  # keep the offline rows of an earlier run
    result = {"benchmark": "romlocal", "machine": H.machine_info(),
              "threads": H.threads_summary(), "quick": args.quick,
              "sizes": {"snapshots": S, "dofs": dofs, "clusters": K},
              "versions": H.versions("jax", "kmedoids", "numpy"), "rows": []}
    if args.part in ("all", "offline"):
        offline(args, result, S, dofs, K)
    else:  # the offline rows (and the machine state they were measured in) of the earlier run
        result["machine_online"] = result["machine"]
        result.update({k: prev[k] for k in ("rows", "peer", "versions_peer", "machine")
                       if k in prev})
    if args.part in ("all", "online"):
        result["online"] = online(args)
    H.write_json(result, args.out)
    print(results_section(result, "python benchmarks/rom_local_bench.py"))


def offline(args, result, S, dofs, K):
    import jax.numpy as jnp
    import numpy as np

    from pdekit import rom

    x_np, truth = make_data(S, dofs, K)
    x = jnp.asarray(x_np)
    data = H.HERE / "out" / f".romlocal-data-{os.getpid()}.npy"
    data.parent.mkdir(parents=True, exist_ok=True)
    np.save(data, x_np)
    np.save(str(data) + ".truth.npy", truth)
    rows = result["rows"]
    for name, d in [("sine", rom.Sine()), ("euclidean", rom.Euclidean())]:
        fn = lambda d=d: rom.pairwise(d, x, tile_size=512).block_until_ready()  # noqa: E731
        D, first = H.first_call(fn)
        t = timeit(fn, repeat=2)
        rows.append({"case": f"pairwise {name} (pdekit)", "time": t["best"], "cpu": t["cpu"],
                     "compile": first - t["best"], "cpu_wall": t["cpu_per_wall"]})
        res = rom.kmedoids(D, K, seed=0, n_init=1)
        tk = timeit(lambda D=D: rom.kmedoids(D, K, seed=0, n_init=1), repeat=3)
        rows.append({"case": f"k-medoids {name} (pdekit)", "time": tk["best"], "cpu": tk["cpu"],
                     "accuracy": accuracy(res.labels, truth), "loss": res.loss,
                     "cpu_wall": tk["cpu_per_wall"]})
        del D
    # the JAX back-end (jit/vmap/GPU path) of the sine matrix, for reference
    fn = lambda: rom.pairwise(rom.Sine(), x, tile_size=512,  # noqa: E731
                              backend="jax").block_until_ready()
    _, first = H.first_call(fn)
    t = timeit(fn, repeat=1)
    rows.append({"case": "pairwise sine (pdekit, jax back-end)", "time": t["best"],
                 "cpu": t["cpu"], "compile": first - t["best"], "cpu_wall": t["cpu_per_wall"]})
    fn = lambda: rom.kmeans(x, K, seed=0, n_init=4, tol=1e-10)  # noqa: E731
    res, first = H.first_call(fn)
    t = timeit(fn, repeat=2)
    rows.append({"case": "k-means euclidean (pdekit)", "time": t["best"], "cpu": t["cpu"],
                 "compile": first - t["best"], "accuracy": accuracy(res.labels, truth),
                 "loss": res.loss, "cpu_wall": t["cpu_per_wall"], "n_iter": res.n_iter})
    x = None  # frees the snapshot matrix before the online part
    if not args.pdekit_only:
        peer = H.run_peer(PEER_VENV, "rom_local_bench.py",
                          ["--peer", "--data", str(data), "--truth", str(data) + ".truth.npy",
                           "--K", str(K)], label="numpy/kmedoids/scikit-learn")
        result["peer"] = peer
        result["versions_peer"] = peer.get("versions")
    data.unlink()
    os.unlink(str(data) + ".truth.npy")


SWEEP = [(8, 1), (16, 1), (32, 1), (16, 2), (32, 2), (64, 2)]   # (width, depth)


def classifier_sweep(args, K):
    """Smallest classifier (flops per query) whose held-out routing accuracy (to the best
    local basis) is >= 95 %, on the moving-source problem at a small mesh (the classifier's
    input, the 3 parameters, does not depend on the mesh)."""
    import jax
    import numpy as np

    from pdekit import rom

    p = rom.MovingSource(12 if args.quick else 24)
    n_tr, n_va = (200, 100) if args.quick else (400, 300)
    mtr, mva = p.sample(jax.random.key(10), n_tr), p.sample(jax.random.key(11), n_va)
    X, Y = p.solve(mtr), p.solve(mva)
    d = rom.Sine(p.mass)
    lb = rom.local_bases(X, rom.kmedoids(rom.pairwise(d, X), K), rank=5, dissimilarity=d)
    ytr, yva = np.asarray(lb.best(X)), np.asarray(lb.best(Y))
    ftr, fva = p.features(mtr), p.features(mva)
    rows = []
    for width, depth in SWEEP:
        clf, _ = rom.train_classifier(ftr, ytr, K, key=jax.random.key(2), width=width,
                                      depth=depth, epochs=60 if args.quick else 120)
        acc = float(np.mean(np.asarray(clf.predict(fva)) == yva))
        flops = 3 * width + (depth - 1) * width * width + width * K
        rows.append({"width": width, "depth": depth, "val_accuracy": acc, "macs": flops,
                     "clf": clf})
    ok = [r for r in rows if r["val_accuracy"] >= 0.95]
    pick = min(ok, key=lambda r: r["macs"]) if ok else max(rows, key=lambda r: r["val_accuracy"])
    clf = pick.pop("clf")
    for r in rows:
        r.pop("clf", None)
    return clf, {"rows": rows, "picked": {k: pick[k] for k in ("width", "depth")},
                 "train": n_tr, "validation": n_va, "dofs": p.num_dofs}


def online(args):
    import jax
    import jax.numpy as jnp
    import numpy as np

    from pdekit import rom

    # --- online routing at 10^4 DOFs: classifier on parameters vs sine to every medoid
    n_mesh = 20 if args.quick else 99
    problem = rom.MovingSource(n_mesh)
    B, Kr, r = 1000, 8, 10
    clf, sweep = classifier_sweep(args, Kr)
    mus = problem.sample(jax.random.key(0), B)
    fields = jax.random.normal(jax.random.key(1), (B, problem.num_dofs))
    medoids = jax.random.normal(jax.random.key(2), (Kr, problem.num_dofs))
    bases = jnp.stack([jnp.linalg.qr(jax.random.normal(jax.random.key(3 + k),
                                                       (problem.num_dofs, r)))[0]
                       for k in range(Kr)])
    lb = rom.LocalBases(bases=bases, medoids=medoids, singular_values=jnp.ones((Kr, r)),
                        total_energy=jnp.ones(Kr), dissimilarity=rom.Sine(problem.mass),
                        ranks=(r,) * Kr)
    feats = problem.features(mus)
    online = {"dofs": problem.num_dofs, "batch": B, "clusters": Kr, "basis_size": r,
              "sweep": sweep}

    def cost(label, fn, per=1, repeat=20):
        H.first_call(fn)
        fn()
        t = timeit(fn, repeat=repeat)
        online[label] = t["best"] / per
        online[label + " cpu"] = t["cpu"] / per

    # both routes on the same footing: the same back-end and dtype for each pair of rows
    def pair(tag, rc, rm, fb, ub, block):
        f1, u1 = fb[0].copy(), ub[0].copy()
        cost(f"classifier batch {tag}", lambda: block(rc(fb)), B, 5)
        cost(f"nearest medoid batch {tag}", lambda: block(rm(ub)), B, 5)
        cost(f"classifier single {tag}", lambda: block(rc(f1)), 1, 200)
        cost(f"nearest medoid single {tag}", lambda: block(rm(u1)), 1, 200)

    for backend in ("jax", "numpy"):
        for dname, dt in (("float64", jnp.float64), ("float32", jnp.float32)):
            rc = rom.classifier_router(clf, dtype=dt, backend=backend)
            rm = rom.medoid_router(lb, dtype=dt, backend=backend)
            if backend == "jax":
                pair(f"jax {dname}", rc, rm, feats.astype(dt), fields.astype(dt),
                     lambda y: y.block_until_ready())
            else:
                pair(f"numpy {dname}", rc, rm, np.asarray(feats, dt), np.asarray(fields, dt),
                     lambda y: y)
    cost("nearest medoid pairwise batch",
         lambda: lb.route_nearest(fields).block_until_ready(), B, 5)
    R = rom.local_galerkin_rom(problem.A, lb, classifier=clf)
    b = problem.loads(mus[:1])[0]
    f0 = feats[0]
    from pdekit.solvers import linalg

    solve = R.online()
    full_fn = eqx_jit_solve(problem.A, b, linalg)
    cost("route + local ROM solve", lambda: solve(b, f0)[0].block_until_ready(), 1, 50)
    cost("full solve (Direct)", full_fn, 1, 10)
    rm = rom.medoid_router(lb)
    # the dissimilarity route needs the field: a full solve, then the medoid distances
    cost("full solve + nearest medoid",
         lambda: rm(full_fn()).block_until_ready(), 1, 10)
    return online


def eqx_jit_solve(A, b, linalg):
    import equinox as eqx

    f = eqx.filter_jit(lambda A, b: linalg.solve(A, b, linalg.Direct()))
    return lambda: f(A, b).block_until_ready()


def us(o, key):
    """CPU time per call of an online row, in microseconds (wall time where no CPU time)."""
    v = o.get(key + " cpu", o.get(key))
    return "-" if v is None else f"{v * 1e6:.3g} us"


def qo(o, slow, fast):
    a, b = o.get(slow + " cpu", o.get(slow)), o.get(fast + " cpu", o.get(fast))
    return "-" if a is None or b is None else f"{a / b:.1f}"


def results_section(d: dict, cmd: str) -> str:
    """Markdown for benchmarks/RESULTS.md (used by write_results.py)."""
    rows = list(d["rows"]) + list(d.get("peer", {}).get("rows", []))
    by = {r["case"]: r for r in rows}

    def ratio(ours, theirs, key="time"):
        a, b = by.get(ours), by.get(theirs)
        if a is None or b is None or key not in a or key not in b:
            return None
        return b[key] / a[key]

    s = d["sizes"]
    m = d["machine"]
    lines = [f"## Local bases (issue #14): {s['snapshots']} snapshots x {s['dofs']} DOFs, "
             f"K = {s['clusters']}", "",
             f"- command: `{cmd}`; machine: {m['cpu_model']}, {m['logical_cpus']} CPUs, load "
             f"at start {m['loadavg_1_5_15']}",
             "- threads: " + ", ".join(f"{k}={v}" for k, v in d["threads"].items()),
             f"- versions: {d['versions']}; peer: {d.get('versions_peer')}", "",
             H.table(rows, [("case", "case", ""), ("time", "time [s]", ".3g"),
                            ("cpu", "CPU [s]", ".3g"),
                            ("compile", "compile [s]", ".2g"), ("accuracy", "purity", ".3f"),
                            ("loss", "loss", ".4g"), ("cpu_wall", "cpu/wall", ".2f")]), ""]
    for ours, theirs in [("pairwise sine (pdekit)", "pairwise sine (numpy)"),
                         ("pairwise sine (pdekit, jax back-end)", "pairwise sine (numpy)"),
                         ("pairwise euclidean (pdekit)", "pairwise euclidean (numpy)"),
                         ("k-means euclidean (pdekit)", "k-means euclidean (scikit-learn)")]:
        q, qc = ratio(ours, theirs), ratio(ours, theirs, "cpu")
        lines.append(f"- {ours} vs {theirs}: **{H.fmt(qc, '.2f')}x** in CPU time, "
                     f"{H.fmt(q, '.2f')}x in wall time (> 1: pdekit faster)" if q else
                     f"- {ours}: peer skipped")
    o = d.get("online")
    if o:
        mo = d.get("machine_online", m)
        sw = o.get("sweep", {})
        lines += ["", f"Online, {o['dofs']} DOFs, K = {o['clusters']}, r = {o['basis_size']} "
                  f"(load at start {mo['loadavg_1_5_15']}):"]
        if sw:
            lines.append(
                f"- classifier size by validation ({sw['train']} training / "
                f"{sw['validation']} held-out parameters of the moving source, "
                f"{sw['dofs']} DOFs; held-out accuracy of routing to the best basis): "
                + ", ".join(f"{r['width']}x{r['depth']}: {r['val_accuracy']:.3f}"
                            for r in sw["rows"])
                + f"; picked width {sw['picked']['width']}, depth {sw['picked']['depth']} "
                  "(fewest multiply-adds with >= 95 %)")
        lines += ["", "| route (CPU time per query) | back-end, dtype | classifier | "
                  "nearest medoid (precomputed W m_k) | ratio |", "| --- | --- | --- | --- | --- |"]
        for mode in ("single", "batch"):
            for tag in ("jax float64", "jax float32", "numpy float64", "numpy float32"):
                c, md = f"classifier {mode} {tag}", f"nearest medoid {mode} {tag}"
                if c in o:
                    what = "single warm call" if mode == "single" else f"batch of {o['batch']}"
                    lines.append(f"| {what} | {tag} | {us(o, c)} | {us(o, md)} | "
                                 f"**{qo(o, md, c)}x** |")
        lines += ["",
                  f"- vs the pairwise sine matrix to every medoid (jax, batched): "
                  f"{us(o, 'nearest medoid pairwise batch')} per query",
                  f"- counting the full solve the medoid route needs: "
                  f"{us(o, 'full solve + nearest medoid')} per query",
                  f"- route + local Galerkin solve {us(o, 'route + local ROM solve')} "
                  f"vs full solve {us(o, 'full solve (Direct)')} "
                  f"(**{qo(o, 'full solve (Direct)', 'route + local ROM solve')}x**)"]
    return "\n".join(lines)


def main():
    p = H.common_argparser(__doc__.splitlines()[0])
    p.add_argument("--peer", action="store_true", help="run the numpy/scikit-learn side")
    p.add_argument("--pdekit-only", action="store_true", help="skip the peer")
    p.add_argument("--data")
    p.add_argument("--truth")
    p.add_argument("--K", type=int, default=8)
    p.add_argument("--part", choices=("all", "offline", "online"), default="all",
                   help="online: rerun the routing part only, keeping the offline rows of --out")
    args = p.parse_args()
    H.pin_threads()
    if args.peer:
        peer_main(args)
    else:
        pdekit_main(args)


if __name__ == "__main__":
    main()
