"""``pdekit rom build thermal-block ...`` and ``pdekit rom eval ROM --mu ...``.

``build`` runs the estimator-driven weak greedy on a thermal block, saves the certified ROM
(HDF5, see docs/rom.md) and reports its accuracy on random test parameters against full
solves. ``eval`` loads a saved ROM and evaluates it (reduced solve + error bound).
"""

from __future__ import annotations

import pathlib
import sys
import time

from ._common import check_output_path, emit_json


def add_parser(subparsers):
    p = subparsers.add_parser("rom", help="build and evaluate reduced-order models",
                              description="Build and evaluate reduced-order models.")
    sub = p.add_subparsers(dest="rom_command", metavar="ACTION", required=True)

    b = sub.add_parser("build", help="build a certified reduced basis by weak greedy",
                       description="Build a certified Galerkin ROM by estimator-driven weak "
                       "greedy and report its accuracy on random test parameters.")
    b.add_argument("problem", choices=("thermal-block", "moving-source", "moving-inclusion"),
                   help="the parametrised problem (moving-source, moving-inclusion: only "
                   "with --local)")
    b.add_argument("--blocks", default="2x2", help="blocks NXxNY (default 2x2)")
    b.add_argument("--cells", type=int, default=32,
                   help="mesh cells per side of the unit square (default 32)")
    b.add_argument("--mu-range", default="0.1,1.0",
                   help="conductivity box LOW,HIGH for every block (default 0.1,1.0)")
    b.add_argument("--tol", type=float, default=None,
                   help="greedy tolerance on the relative energy-norm estimate "
                   "(default 1e-6, or 1e-4 with --float32)")
    b.add_argument("--n", type=int, default=40, help="maximal basis size N (default 40)")
    b.add_argument("--criterion", choices=("relative", "absolute"), default="relative",
                   help="greedy criterion: the estimate relative to the reduced solution's "
                   "norm (default) or absolute (pyMOR's rb_greedy with --norm product)")
    b.add_argument("--norm", choices=("energy", "product"), default="energy",
                   help="norm of the greedy's estimate: energy (default) or the X product")
    b.add_argument("--train", type=int, default=500,
                   help="number of random training parameters (default 500)")
    b.add_argument("--test", type=int, default=100,
                   help="number of random test parameters for the report (default 100)")
    b.add_argument("--seed", type=int, default=0, help="seed of the parameter samples")
    b.add_argument("--out", required=True, metavar="FILE", help="write the ROM to FILE (.h5)")
    b.add_argument("--plot", metavar="FILE",
                   help="write figures FILE (summary) and FILE-stem_{greedy,estimator,"
                   "solution,singular_values}.png")
    _common(b)
    _add_local_options(b)
    b.set_defaults(func=run_build)

    e = sub.add_parser("eval", help="evaluate a saved ROM", description="Evaluate a saved ROM "
                       "at a parameter: reduced solve and error bound.")
    e.add_argument("rom", help="a file written by `pdekit rom build`")
    e.add_argument("--mu", required=True, help="comma-separated parameter values")
    e.add_argument("--save", metavar="FILE",
                   help="write the reconstructed full field to FILE (.npz)")
    _common(e)
    e.set_defaults(func=run_eval)


def _common(p):
    p.add_argument("--float32", action="store_true",
                   help="compute in float32 (default: float64, which certification needs)")
    p.add_argument("--x64", action="store_true",
                   help="no-op, kept for old scripts: float64 is the default")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--overwrite", action="store_true", help="allow replacing output files")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _floats(option, text, count=None):
    try:
        vals = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"{option}: expected comma-separated numbers, got {text!r}.") from None
    if count is not None and len(vals) != count:
        raise ValueError(f"{option}: expected {count} values, got {len(vals)}.")
    return vals


def _plot_paths(plot):
    p = pathlib.Path(plot)
    names = ("greedy", "estimator", "solution", "singular_values")
    return [p] + [p.with_name(f"{p.stem}_{k}{p.suffix or '.png'}") for k in names]


def run_build(args):
    from .._misc import x64_enabled

    if args.local is not None or args.problem in ("moving-source", "moving-inclusion"):
        return run_build_local(args)

    # ---- validate everything before any work ----
    if not 2 <= args.cells <= 1024:
        raise ValueError(f"--cells must be in 2..1024, got {args.cells}.")
    for name in ("n", "train", "test"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name} must be >= 1, got {getattr(args, name)}.")
    lo, hi = _floats("--mu-range", args.mu_range, 2)
    tol = args.tol if args.tol is not None else (1e-6 if x64_enabled() else 1e-4)
    if not 0 < tol < 1:
        raise ValueError(f"--tol must be in (0, 1), got {tol}.")
    out = check_output_path("--out", args.out, overwrite=args.overwrite)
    plots = [check_output_path("--plot", p, overwrite=args.overwrite)
             for p in _plot_paths(args.plot)] if args.plot else []

    import equinox as eqx
    import jax
    import jax.numpy as jnp
    import numpy as np
    from tqdm import tqdm

    from .. import rom

    problem = rom.thermal_block(args.cells, args.blocks, mu_range=(lo, hi))  # validates
    key_train, key_test = jax.random.split(jax.random.key(args.seed))
    train = problem.sample(key_train, args.train)
    test = problem.sample(key_test, args.test)

    bar = tqdm(total=args.n, unit="basis", file=sys.stderr, disable=args.quiet,
               desc="weak greedy")

    def progress(N, crit):
        bar.n = N
        bar.set_postfix(max_estimate=f"{crit:.2e}")
        bar.refresh()

    t0 = time.perf_counter()
    result = rom.weak_greedy(problem, train, tol=tol, max_basis_size=args.n,
                             criterion=args.criterion, norm=args.norm, callback=progress)
    jax.block_until_ready(result.rom.operators)
    offline_s = time.perf_counter() - t0
    bar.close()
    model, V = result.rom, result.basis

    # ---- report on random test parameters ----
    batched = eqx.filter_jit(lambda fn, mu: jax.vmap(fn)(mu))
    jax.block_until_ready(batched(problem.solve, test[:1]))
    t0 = time.perf_counter()
    U = jax.block_until_ready(batched(problem.solve, test))
    fom_s = (time.perf_counter() - t0) / args.test
    jax.block_until_ready(batched(model.solve_and_estimate, test))
    t0 = time.perf_counter()
    uN, est = jax.block_until_ready(batched(model.solve_and_estimate, test))
    online_s = (time.perf_counter() - t0) / args.test
    err = jax.vmap(lambda u, c, mu: problem.energy_norm(u - V @ c, mu))(U, uN, test)
    nrm = jax.vmap(problem.energy_norm)(U, test)
    rel = np.asarray(err / nrm)
    eff = np.asarray(est / err)
    certified = bool(np.all(np.asarray(est) >= np.asarray(err)))

    space = rom.thermal_block_space(args.cells)
    extras = {"basis": np.asarray(V), "free_dofs": np.asarray(problem.free_dofs),
              "points": space.mesh.points, "cells": space.mesh.cells,
              "max_estimates": result.max_estimates, "selected": result.selected}
    meta = {"problem": "thermal-block", "blocks": args.blocks, "cells": args.cells,
            "mu_range": [lo, hi], "tol": tol, "criterion": args.criterion, "norm": args.norm,
            "num_dofs": problem.num_dofs,
            "param_names": list(problem.param_names), "seed": args.seed}
    rom.save_rom(out, model, extras=extras, meta=meta, overwrite=args.overwrite)

    report = {
        "problem": "thermal-block", "blocks": args.blocks, "dofs": problem.size,
        "basis_size": model.basis_size, "max_rel_error": float(rel.max()),
        "effectivity_min": float(eff.min()), "effectivity_max": float(eff.max()),
        "certified": certified, "offline_s": offline_s, "online_s": online_s, "fom_s": fom_s,
        "speedup": fom_s / online_s, "max_estimate": float(result.max_estimates[-1]),
        "tol": tol, "criterion": args.criterion, "norm": args.norm, "out": str(out),
    }
    if plots:
        _plots(plots, problem, space, result, U, uN, V, err, est, rel, nrm, tol, jnp)
        report["plots"] = [str(p) for p in plots]
    if args.json:
        emit_json(report)
    else:
        print(f"thermal block {args.blocks}, {problem.size} DOFs: N = {model.basis_size}, max "
              f"relative energy error {rel.max():.2e} on {args.test} test parameters, "
              f"effectivity {eff.min():.2f}..{eff.max():.2f}; offline {offline_s:.2f} s, "
              f"online {online_s * 1e6:.1f} us vs full {fom_s * 1e3:.2f} ms; wrote {out}")
    return 0


def _plots(paths, problem, space, result, U, uN, V, err, est, rel, nrm, tol, jnp):
    import matplotlib.pyplot as plt
    import numpy as np

    from .. import plotting, rom

    # greedy decay with the true error of the truncated bases on the test set
    figs = []
    worst = int(np.argmax(rel))
    full = np.asarray(problem.to_full(U[worst]))
    red = np.asarray(problem.to_full(V @ uN[worst]))
    svd = rom.pod(U.T, product=problem.product())
    figs.append(plotting.plot_greedy(result.max_estimates, tol=tol))
    figs.append(plotting.plot_estimator(np.asarray(err / nrm), np.asarray(est / nrm),
                                        title="relative energy error: estimate vs true"))
    figs.append(plotting.plot_reduced_vs_full(space, full, red,
                                              title=f"worst test parameter (N = {V.shape[1]})"))
    figs.append(plotting.plot_singular_values(svd.all_singular_values,
                                              title="POD of the test solutions (X-product; "
                                              "values below ~1e-8 are round-off)"))
    summary, axes = plt.subplots(1, 3, figsize=(15, 4.3))
    e = np.asarray(result.max_estimates)
    axes[0].semilogy(e, "o-", ms=3)
    axes[0].axhline(tol, color="k", ls=":")
    axes[0].set(xlabel="basis size N", ylabel="max relative estimate", title="weak greedy")
    axes[1].loglog(np.asarray(err / nrm), np.asarray(est / nrm), ".")
    axes[1].set(xlabel="true relative error", ylabel="estimate", title="estimator (test set)")
    lim = axes[1].get_xlim()
    axes[1].loglog(lim, lim, "k-", lw=0.8)
    s = np.asarray(svd.all_singular_values)
    axes[2].semilogy(s / s[0], ".-")
    axes[2].set(xlabel="i", ylabel="sigma_i / sigma_1", title="singular values (test set)")
    for ax in axes:
        ax.grid(True, which="both", alpha=0.3)
    summary.tight_layout()
    for path, fig in zip(paths, [summary] + figs):
        fig.savefig(path, dpi=110)
        plt.close(fig)


def run_eval(args):
    path = pathlib.Path(args.rom)
    if not path.is_file():
        raise ValueError(f"ROM file '{path}' does not exist.")
    if _local_header(path) is not None:
        return run_eval_local(args, path)
    save = check_output_path("--save", args.save, overwrite=args.overwrite) if args.save \
        else None
    mu_vals = _floats("--mu", args.mu)

    import jax
    import jax.numpy as jnp
    import numpy as np

    from .. import rom

    model, extras, meta = rom.load_rom(path)
    if not isinstance(model, rom.GalerkinROM):
        raise ValueError(f"'{path}' holds a {type(model).__name__}; `rom eval` evaluates "
                         "Galerkin ROMs.")
    mu = model.check_params(np.asarray(mu_vals), "--mu")
    mu = jnp.asarray(mu, model.operators.dtype)
    fn = model.solve_and_estimate
    jax.block_until_ready(fn(mu))
    t0 = time.perf_counter()
    uN, est = jax.block_until_ready(fn(mu))
    online_s = time.perf_counter() - t0
    rel = float(est / model.energy_norm(uN, mu))
    if save is not None:
        V, free = extras["basis"], extras["free_dofs"]
        u = np.zeros(int(meta["num_dofs"]))
        u[free] = V @ np.asarray(uN)
        np.savez(save, u=u, mu=np.asarray(mu), points=extras["points"], cells=extras["cells"])
    report = {"mu": np.asarray(mu).tolist(), "basis_size": model.basis_size,
              "estimate": float(est), "relative_estimate": rel,
              "coefficients": np.asarray(uN).tolist(), "online_s": online_s}
    if save is not None:
        report["save"] = str(save)
    if args.json:
        emit_json(report)
    else:
        print(f"mu = {report['mu']}: N = {model.basis_size}, error bound (energy) {est:.3e} "
              f"(relative {rel:.3e}), {online_s * 1e6:.1f} us")
    return 0


# ---------------------------------------------------------------------------------------
# local reduced bases (issue #14): `rom build PROBLEM --local K ...`, `rom eval` of the file
# ---------------------------------------------------------------------------------------


def _add_local_options(b):
    g = b.add_argument_group("local reduced bases (--local K; see docs/rom_local.md)")
    g.add_argument("--local", type=int, metavar="K", default=None,
                   help="build K local bases by k-medoids clustering of the training "
                   "snapshots, one local Galerkin ROM each")
    g.add_argument("--dissimilarity", choices=("angle", "euclidean"), default="angle",
                   help="clustering dissimilarity: angle (sine, in the problem's inner "
                   "product) or euclidean (default angle)")
    g.add_argument("--overlap", type=float, default=0.0,
                   help="fraction of extra neighbouring snapshots per cluster (default 0)")
    g.add_argument("--router", choices=("classifier", "medoid", "nearest"),
                   default="classifier",
                   help="online routing: classifier (ROM-net MLP on the parameters, falls "
                   "back to the smallest residual/bound when unsure) or medoid (nearest "
                   "medoid of the full-order solution; needs the full solve, for analysis); "
                   "moving-inclusion: classifier or nearest (cluster of the nearest "
                   "training parameter)")
    g.add_argument("--rank", type=int, default=8,
                   help="modes per local basis (default 8)")
    g.add_argument("--epochs", type=int, default=200,
                   help="classifier training epochs (default 200)")


def _local_header(path):
    import json

    import h5py

    try:
        with h5py.File(path, "r") as f:
            header = json.loads(f.attrs.get("header", "{}"))
    except (OSError, ValueError):
        return None
    return header if header.get("format", "").startswith("pdekit.rom.Local") else None


def _local_problem(meta):
    from .. import rom

    if meta["problem"] == "moving-source":
        return rom.MovingSource(meta["cells"])
    return rom.thermal_block(meta["cells"], meta["blocks"], mu_range=tuple(meta["mu_range"]))


def run_build_local(args):
    # ---- validate everything before any work ----
    if args.local is None:
        raise ValueError(f"`rom build {args.problem}` needs --local K (K >= 1 clusters).")
    if not 1 <= args.local <= 64:
        raise ValueError(f"--local must be in 1..64, got {args.local}.")
    if not 2 <= args.cells <= 512:
        raise ValueError(f"--cells must be in 2..512, got {args.cells}.")
    for name in ("rank", "train", "test", "epochs"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name} must be >= 1, got {getattr(args, name)}.")
    if args.train < 2 * args.local:
        raise ValueError(f"--train ({args.train}) must be >= 2 x --local ({args.local}).")
    if not 0 <= args.overlap <= 1:
        raise ValueError(f"--overlap must be in [0, 1], got {args.overlap}.")
    lo, hi = _floats("--mu-range", args.mu_range, 2)
    out = check_output_path("--out", args.out, overwrite=args.overwrite)
    if args.problem == "moving-inclusion":  # a local non-intrusive ROM
        from . import _rom_nonintrusive

        return _rom_nonintrusive.run_build(args, out)
    if args.router == "nearest":
        raise ValueError("--router nearest is for moving-inclusion; use classifier or medoid.")

    import jax
    import numpy as np

    from .. import rom

    meta = {"problem": args.problem, "cells": args.cells, "local": args.local,
            "dissimilarity": args.dissimilarity, "overlap": args.overlap,
            "router": args.router, "rank": args.rank, "seed": args.seed}
    if args.problem == "thermal-block":
        meta.update(blocks=args.blocks, mu_range=[lo, hi])
    problem = _local_problem(meta)  # validates the problem options
    t0 = time.perf_counter()
    key_train, key_test, key_clf = jax.random.split(jax.random.key(args.seed), 3)
    train, test = problem.sample(key_train, args.train), problem.sample(key_test, args.test)
    affine = args.problem == "thermal-block"
    if affine:
        solve = jax.jit(jax.vmap(problem.solve))
        X, Y = solve(train), solve(test)
        inner = problem.product()
        features = jax.vmap(lambda m: 2 * (m - lo) / (hi - lo) - 1)  # LocalAffineROM.features
    else:
        X, Y = problem.solve(train), problem.solve(test)
        inner = problem.mass
        features = problem.features
    diss = rom.Sine(inner) if args.dissimilarity == "angle" else rom.Euclidean(inner)
    clusters = rom.kmedoids(rom.pairwise(diss, X), args.local, seed=args.seed)
    lb = rom.local_bases(X, clusters, rank=args.rank, dissimilarity=diss,
                         overlap=args.overlap)
    best_train = np.asarray(lb.best(X))
    clf, hist = None, {}
    if args.router == "classifier":
        clf, hist = rom.train_classifier(features(train), best_train, args.local, key=key_clf,
                                         epochs=args.epochs, seed=args.seed)
    g = rom.global_basis(X, rank=max(lb.ranks), inner=inner)
    if affine:
        R = rom.local_affine_rom(problem, lb, classifier=clf)
    else:
        R = rom.local_galerkin_rom(problem.A, lb, classifier=clf, global_basis=g.bases[0])
    offline_s = time.perf_counter() - t0

    # ---- report on random test parameters (full solves as the reference) ----
    k, U = _local_solve(R, problem, test, Y, args.router, affine)
    rel = np.asarray(_rel_errors(problem, U, Y, test, affine))
    best = np.asarray(lb.best(Y))
    rel_proj_global = np.asarray(rom.projection_errors(g.bases[0], Y, inner))
    meta["num_dofs"] = int(problem.num_dofs)
    rom.save_local_rom(out, R, meta=meta, overwrite=args.overwrite)
    report = {
        "problem": args.problem, "dofs": int(X.shape[1]), "n_clusters": lb.num_clusters,
        "basis_sizes": list(lb.ranks), "cluster_sizes": clusters.sizes().tolist(),
        "dissimilarity": args.dissimilarity, "router": args.router,
        "max_rel_error": float(rel.max()), "mean_rel_error": float(rel.mean()),
        "routing_accuracy": float(np.mean(np.asarray(k) == best)),
        "global_projection_error_mean": float(rel_proj_global.mean()),
        "local_projection_error_mean": float(np.mean(np.asarray(lb.errors(Y)).min(axis=1))),
        "offline_s": offline_s, "out": str(out),
    }
    return emit_local_build(
        args, report, hist,
        f"{args.problem}, {report['dofs']} DOFs: {lb.num_clusters} local bases of "
        f"sizes {list(lb.ranks)} ({args.dissimilarity} k-medoids, {args.router} "
        f"routing): max relative error {rel.max():.2e} (mean {rel.mean():.2e}) on "
        f"{args.test} test parameters, routing accuracy "
        f"{report['routing_accuracy']:.2f}; offline {offline_s:.1f} s; wrote {out}")


def emit_local_build(args, report, hist, line: str) -> int:
    """Print a local ROM's `rom build` report (JSON with --json, else `line`), with the
    classifier's training accuracy when one was trained (`hist` non-empty)."""
    if hist:
        report["classifier_train_accuracy"] = hist["train_accuracy"]
    if args.json:
        emit_json(report)
    else:
        print(line)
    return 0


def _local_solve(R, problem, mus, Y, router, affine):
    """Routed local ROM solutions `(k, U)` of a batch (U on the problem's unknowns)."""
    import jax

    from .. import rom

    if affine:
        if router == "medoid":
            k = rom.medoid_router(_affine_bases(R, problem))(Y)
            uN = jax.vmap(lambda m, j: R.solve_in(m, j)[0])(mus, k)
        else:
            uN, k, _, _ = jax.vmap(lambda m: R.solve(m))(mus)
        return k, jax.vmap(R.lift)(uN, k)
    b = problem.loads(mus)
    if router == "medoid":
        k = rom.medoid_router(R.local)(Y)
        return k, jax.vmap(R.solve_in)(b, k)
    U, k, _ = jax.vmap(lambda bb, f: R.solve(bb, f))(b, problem.features(mus))
    return k, U


def _affine_bases(R, problem):
    """The stored medoids of a LocalAffineROM as a LocalBases (for the medoid router)."""
    import jax.numpy as jnp

    from .. import rom

    if R.medoids is None:
        raise ValueError("this local ROM was saved without medoids; use --router classifier.")
    X = problem.product()
    diss = rom.Sine(X) if R.dissimilarity == "Sine" else rom.Euclidean(X)
    return rom.LocalBases(bases=R.bases, medoids=R.medoids,
                          singular_values=jnp.ones(R.pad.shape, R.bases.dtype),
                          total_energy=jnp.ones(R.pad.shape[:1], R.bases.dtype),
                          dissimilarity=diss, ranks=R.ranks)


def _rel_errors(problem, U, Y, mus, affine):
    import jax

    if affine:
        err = jax.vmap(problem.energy_norm)(U - Y, mus)
        return err / jax.vmap(problem.energy_norm)(Y, mus)
    M = problem.mass

    def nrm(v):
        return jax.numpy.sqrt(v @ M.matvec(v))

    return jax.vmap(lambda u, y: nrm(u - y) / nrm(y))(U, Y)


def run_eval_local(args, path):
    mu_vals = _floats("--mu", args.mu)
    save = check_output_path("--save", args.save, overwrite=args.overwrite) if args.save \
        else None
    meta = _local_header(path)["meta"]
    if meta.get("problem") == "moving-inclusion":
        from . import _rom_nonintrusive

        return _rom_nonintrusive.run_eval(args, path, mu_vals, save, meta)

    import jax
    import jax.numpy as jnp
    import numpy as np

    from .. import rom

    problem = _local_problem(meta)
    affine = meta["problem"] == "thermal-block"
    P = problem.num_params if affine else 3
    if len(mu_vals) != P:
        raise ValueError(f"--mu: expected {P} comma-separated values, got {len(mu_vals)}.")
    mu = problem.check_params(np.asarray(mu_vals), "--mu")
    R = rom.load_local_rom(path)
    dtype = R.bases.dtype if affine else R.local.bases.dtype
    mu = jnp.asarray(mu, dtype)
    y = problem.solve(mu) if affine else problem.solve(mu[None])[0]  # the reference
    if meta["router"] == "medoid":  # needs the full solution y (analysis)
        lb = _affine_bases(R, problem) if affine else R.local
        route = rom.medoid_router(lb)
        if affine:
            def query():
                k = route(y)
                return R.solve_in(mu, k)[0], k
        else:
            b = problem.load(mu)

            def query():
                k = route(y)
                return R.solve_in(b, k), k
    else:
        online = R.online()
        if affine:
            def query():
                uN, k, _, _ = online(mu)
                return uN, k
        else:
            b, f = problem.load(mu), problem.features(mu)

            def query():
                u, k, _ = online(b, f)
                return u, k
    jax.block_until_ready(query())  # compile
    t0 = time.perf_counter()
    u, k = jax.block_until_ready(query())
    online_s = time.perf_counter() - t0
    if affine:
        u_red, u = u, R.lift(u, k)
    rel = float(np.asarray(_rel_errors(problem, u[None], y[None], mu[None], affine))[0])
    report = {"mu": np.asarray(mu).tolist(), "cluster": int(k),
              "n_clusters": len(R.ranks if affine else R.local.ranks),
              "router": meta["router"], "rel_error": rel, "online_s": online_s}
    if affine:
        bound = float(R.solve_in(mu, k)[1])
        report["error_bound"] = bound
        report["relative_bound"] = bound / float(problem.energy_norm(y, mu))
        del u_red
    if save is not None:
        full = np.asarray(problem.to_full(u) if affine else u)
        np.savez(save, u=full, mu=np.asarray(mu), cluster=int(k))
        report["save"] = str(save)
    return emit_local_eval(args, report)


def emit_local_eval(args, report) -> int:
    """Print a local ROM's `rom eval` report (JSON with --json, else one line)."""
    if args.json:
        emit_json(report)
    else:
        print(f"mu = {report['mu']}: cluster {report['cluster']} of {report['n_clusters']} "
              f"({report['router']} routing), relative error {report['rel_error']:.3e}, "
              f"{report['online_s'] * 1e6:.0f} us")
    return 0
