"""``pdekit rom build moving-inclusion --local K ...`` and ``rom eval`` of its file: a local
non-intrusive ROM (:class:`pdekit.rom.LocalNonIntrusiveROM`, POD + RBF per cluster) of the
Darcy problem with a moving high-conductivity inclusion, whose operator is not affine in
the parameter (see docs/rom_local.md). The load intensity is fixed to 1 here (it only
scales the field): the parameter is the inclusion's centre ``(c_1, c_2)``."""

from __future__ import annotations

import time

ROUTERS = ("classifier", "nearest")


def _problem(meta):
    from .. import rom

    return rom.MovingInclusion(meta["cells"], intensity=(1.0, 1.0))


def run_build(args, out):
    """`out`: the checked output path (the caller validated the shared options)."""
    if args.router not in ROUTERS:
        raise ValueError(f"--router for moving-inclusion must be one of {ROUTERS} (nearest: "
                         f"the cluster of the nearest training parameter), got "
                         f"{args.router!r}.")
    if args.overlap:
        raise ValueError("--overlap is not supported for moving-inclusion (one POD + RBF "
                         "model per cluster, fitted on its own snapshots).")
    if args.train < 3 * args.local:
        raise ValueError(f"--train ({args.train}) must be >= 3 x --local ({args.local}): "
                         "each cluster's RBF needs >= 3 snapshots.")

    import jax
    import numpy as np

    from .. import rom

    meta = {"problem": "moving-inclusion", "cells": args.cells, "local": args.local,
            "dissimilarity": args.dissimilarity, "router": args.router, "rank": args.rank,
            "seed": args.seed}
    problem = _problem(meta)
    t0 = time.perf_counter()
    key_train, key_test, key_clf = jax.random.split(jax.random.key(args.seed), 3)
    train, test = problem.sample(key_train, args.train), problem.sample(key_test, args.test)
    X, Y = problem.solve(train), problem.solve(test)
    box = {"mu_min": problem.box[:1] * 2, "mu_max": problem.box[1:] * 2}
    d = rom.Sine(problem.mass) if args.dissimilarity == "angle" else rom.Euclidean(problem.mass)
    clusters = rom.kmedoids(rom.pairwise(d, X), args.local, seed=args.seed)
    sizes = clusters.sizes()
    if sizes.min() < 3:
        raise ValueError(f"a cluster has fewer than 3 snapshots (sizes {sizes.tolist()}): "
                         "use fewer --local clusters or more --train.")
    R = rom.LocalNonIntrusiveROM.fit(X, train[:, :2], clusters, rank=args.rank,
                                     product=problem.mass, dissimilarity=d, **box)
    clf, hist = None, {}
    if args.router == "classifier":
        # target: the cluster whose model is best for each training parameter
        E = _errors_all(R, problem, train[:, :2], X)
        clf, hist = rom.train_classifier(R.features(train[:, :2]), np.argmin(E, axis=1),
                                         args.local, key=key_clf, epochs=args.epochs,
                                         seed=args.seed)
        R = rom.LocalNonIntrusiveROM(roms=R.roms, centers=R.centers, labels=R.labels,
                                     classifier=clf, mu_min=R.mu_min, mu_max=R.mu_max,
                                     medoids=R.medoids, dissimilarity=R.dissimilarity)
    glob = rom.NonIntrusiveROM.fit(X.T, train[:, :2], rank=args.rank, product=problem.mass,
                                   **box)
    offline_s = time.perf_counter() - t0

    # ---- report on random test parameters against full solves ----
    mte = test[:, :2]
    E = _errors_all(R, problem, mte, Y)                       # (test, K) every model
    k = np.asarray(jax.vmap(R.route)(mte))
    rel = E[np.arange(len(k)), k]
    g = np.asarray(_rel(problem, jax.vmap(glob)(mte), Y))
    meta["num_dofs"] = int(problem.num_dofs)
    rom.save_local_rom(out, R, meta=meta, overwrite=args.overwrite)
    report = {
        "problem": "moving-inclusion", "dofs": int(X.shape[1]), "n_clusters": R.num_clusters,
        "basis_sizes": [int(r.modes.shape[1]) for r in R.roms],
        "cluster_sizes": sizes.tolist(), "dissimilarity": args.dissimilarity,
        "router": args.router, "max_rel_error": float(rel.max()),
        "mean_rel_error": float(rel.mean()),
        "routing_accuracy": float(np.mean(k == np.argmin(E, axis=1))),
        "global_rel_error_mean": float(g.mean()), "offline_s": offline_s, "out": str(out),
    }
    from ._rom import emit_local_build

    return emit_local_build(
        args, report, hist,
        f"moving-inclusion, {report['dofs']} DOFs: {R.num_clusters} local POD-RBF "
        f"models ({args.dissimilarity} k-medoids, {args.router} routing): mean "
        f"relative error {rel.mean():.2e} (max {rel.max():.2e}; global POD-RBF "
        f"{g.mean():.2e}) on {args.test} test parameters; offline {offline_s:.1f} s; "
        f"wrote {out}")


def _rel(problem, U, Y):
    import jax
    import jax.numpy as jnp

    def nrm(v):
        return jnp.sqrt(v @ problem.mass.matvec(v))

    return jax.vmap(lambda u, y: nrm(u - y) / nrm(y))(U, Y)


def _errors_all(R, problem, mus, Y):
    """Relative L2 errors `(B, K)` of every cluster's model at each parameter."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    cols = [np.asarray(_rel(problem, jax.vmap(lambda m, k=k: R(m, jnp.asarray(k)))(mus), Y))
            for k in range(R.num_clusters)]
    return np.stack(cols, axis=1)


def run_eval(args, path, mu_vals, save, meta):
    import jax
    import jax.numpy as jnp
    import numpy as np

    from .. import rom

    problem = _problem(meta)
    if len(mu_vals) != 2:
        raise ValueError(f"--mu: expected 2 comma-separated values (the inclusion's centre), "
                         f"got {len(mu_vals)}.")
    mu3 = problem.check_params(np.asarray([*mu_vals, 1.0]), "--mu")
    R = rom.load_local_rom(path)
    mu = jnp.asarray(mu3[:2], R.dtype)
    y = problem.solve(jnp.asarray(mu3[None], R.dtype))[0]  # the reference
    query = jax.jit(lambda m: (R(m), R.route(m)))
    jax.block_until_ready(query(mu))  # compile
    t0 = time.perf_counter()
    u, k = jax.block_until_ready(query(mu))
    online_s = time.perf_counter() - t0
    rel = float(_rel(problem, u[None], y[None])[0])
    report = {"mu": np.asarray(mu).tolist(), "cluster": int(k), "n_clusters": R.num_clusters,
              "router": meta["router"], "rel_error": rel, "online_s": online_s}
    if save is not None:
        np.savez(save, u=np.asarray(u), mu=np.asarray(mu), cluster=int(k))
        report["save"] = str(save)
    from ._rom import emit_local_eval

    return emit_local_eval(args, report)

