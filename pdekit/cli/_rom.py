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
    b.add_argument("problem", choices=("thermal-block",), help="the parametrised problem")
    b.add_argument("--blocks", default="2x2", help="blocks NXxNY (default 2x2)")
    b.add_argument("--cells", type=int, default=32,
                   help="mesh cells per side of the unit square (default 32)")
    b.add_argument("--mu-range", default="0.1,1.0",
                   help="conductivity box LOW,HIGH for every block (default 0.1,1.0)")
    b.add_argument("--tol", type=float, default=None,
                   help="greedy tolerance on the relative energy-norm estimate "
                   "(default 1e-6 with --x64, else 1e-4)")
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
    p.add_argument("--x64", action="store_true", help="compute in float64 (recommended)")
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
