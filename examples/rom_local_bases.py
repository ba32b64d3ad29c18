"""Local reduced bases by physics-informed clustering (Daniel, Casenave, Akkari, Ryckelynck
2021, arXiv:2103.13683; the comparison of their Fig. "projection error vs basis size").

Poisson on the unit square with a moving Gaussian source of random intensity
(``pdekit.rom.MovingSource``: centre in [0.15, 0.85]^2, intensity log-uniform in [0.1, 10]).
Training snapshots are clustered by k-medoids twice, with the Euclidean distance and with the
sine of the angle (both in the FEM mass inner product); one POD basis per cluster. Held-out
snapshots are routed to the nearest medoid (in each clustering's own dissimilarity) and
projected; the figure shows the mean relative projection error against the basis size for
the global basis, Euclidean local bases and angle-based local bases (dashed: the best of the
K bases, what a perfect router achieves), and the N-width proxies (POD tails). Then the
a-priori criterion picks K from the training snapshots, a ROM-net classifier is trained to
route parameters, and the NLSE travelling soliton (pseudo-spectral) gets the same global vs
local comparison.

CPU time: about 50 s at the defaults (one process on a 2-core machine, most of it JIT
compilation; the error curves for every basis size come from one nested-truncation pass).
With ``--problem inclusion`` the same comparison runs on Darcy flow with a moving
high-conductivity disc (``pdekit.rom.MovingInclusion``: an operator that is not affine in the
parameter; ~70 s at ``--n 16 --train 200 --test 100 --no-soliton``), written to
``<out>/rom_local_bases_inclusion.png``.

Writes ``<out>/rom_local_bases.png``.

    python examples/rom_local_bases.py [--n 24] [--train 300] [--test 200] [--K 6] [--out .]
"""

from __future__ import annotations

import argparse
import pathlib
import time


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--problem", choices=("source", "inclusion"), default="source",
                        help="moving source (default) or moving high-conductivity inclusion")
    parser.add_argument("--n", type=int, default=24, help="cells per side of the mesh")
    parser.add_argument("--train", type=int, default=300, help="training snapshots")
    parser.add_argument("--test", type=int, default=200, help="held-out snapshots")
    parser.add_argument("--K", type=int, default=6, help="number of clusters")
    parser.add_argument("--sizes", type=str, default="1,2,3,4,6,8,10,12",
                        help="basis sizes (comma separated)")
    parser.add_argument("--criterion-Ks", type=str, default="1,2,4,6,8")
    parser.add_argument("--epochs", type=int, default=150, help="classifier epochs")
    parser.add_argument("--no-soliton", action="store_true", help="skip the NLSE case")
    parser.add_argument("--x64", action="store_true", help="run in float64")
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("."))
    args = parser.parse_args(argv)
    import pdekit

    if args.x64:
        pdekit.enable_x64()
    import jax
    import jax.numpy as jnp
    import matplotlib.pyplot as plt
    import numpy as np

    from pdekit import rom

    t0 = time.perf_counter()
    sizes = [int(s) for s in args.sizes.split(",")]
    r_max = max(sizes)
    problem = rom.MovingSource(args.n) if args.problem == "source" else rom.MovingInclusion(args.n)
    title = "moving source" if args.problem == "source" else "moving inclusion"
    mu_train = problem.sample(jax.random.key(0), args.train)
    mu_test = problem.sample(jax.random.key(1), args.test)
    X, Y = problem.solve(mu_train), problem.solve(mu_test)
    print(f"{title}: {problem.num_dofs} DOFs, {args.train} training / {args.test} "
          f"held-out snapshots ({time.perf_counter() - t0:.1f} s)")

    glob = rom.global_basis(X, rank=r_max, inner=problem.mass)
    bases, D = {}, {}
    for name, d in [("Euclidean", rom.Euclidean(problem.mass)), ("angle", rom.Sine(problem.mass))]:
        D[name] = rom.pairwise(d, X)
        clusters = rom.kmedoids(D[name], args.K, seed=0)
        bases[name] = rom.local_bases(X, clusters, rank=r_max, dissimilarity=d)
        print(f"  {name:9s} clusters: sizes {clusters.sizes().tolist()}")

    # errors for every basis size at once: ||u - V_n V_n^T W u||_W from the coefficients of
    # the largest basis (nested truncations), one compiled call per set of bases
    nested = jax.jit(jax.vmap(lambda V, y, w: rom.nested_projection_errors(
        V, y, rom.InnerProduct(w)), in_axes=(0, None, None)))
    cols = np.asarray(sizes)
    routed = {"global": np.asarray(nested(glob.bases, Y, problem.mass))[0][:, cols]
              .mean(axis=0).tolist()}
    best = {}
    for name, lb in bases.items():
        E = np.asarray(nested(lb.bases, Y, problem.mass))[:, :, cols]   # (K, B, sizes)
        k = np.asarray(lb.route_nearest(Y))
        routed[name] = E[k, np.arange(Y.shape[0])].mean(axis=0).tolist()
        best[name] = E.min(axis=0).mean(axis=0).tolist()
    print(f"\n  mean held-out relative projection error (K = {args.K}, nearest-medoid routing)")
    print(f"  {'n':>3} {'global':>10} {'Euclidean':>10} {'angle':>10}")
    for i, n in enumerate(sizes):
        print(f"  {n:>3} {routed['global'][i]:>10.3e} {routed['Euclidean'][i]:>10.3e} "
              f"{routed['angle'][i]:>10.3e}")
    # at equal *total* size (K local bases of n modes vs one global basis of K n modes)
    n_eq = [n for n in sizes if args.K * n <= r_max]
    if n_eq:
        n = n_eq[-1]
        g_tot = float(jnp.mean(glob.truncate(args.K * n).errors(Y)))
        print(f"  equal total size {args.K * n}: global {g_tot:.3e} vs angle local "
              f"({args.K} x {n}) {routed['angle'][sizes.index(n)]:.3e}")

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    colors = {"global": "k", "Euclidean": "C0", "angle": "C3"}
    for name, err in routed.items():
        label = name if name == "global" else f"{name} local (K={args.K})"
        axes[0].semilogy(sizes, err, "o-", color=colors[name], label=label)
    for name, err in best.items():
        axes[0].semilogy(sizes, err, "--", color=colors[name], alpha=0.6,
                         label=f"{name}: best of K bases")
    axes[0].set_xlabel("basis size n (modes used per online solve)")
    axes[0].set_ylabel("mean relative projection error, held out")
    axes[0].set_title(f"{title}: error vs basis size")
    axes[0].grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=8)
    # N-width proxies: the bases keep every POD singular value of their cluster
    full = {"global": glob, "Euclidean local": bases["Euclidean"], "angle local": bases["angle"]}
    rom.plot_singular_values(full, max_modes=3 * r_max, ax=axes[1],
                             colors={"global": "k", "Euclidean local": "C0", "angle local": "C3"})
    fig.tight_layout()
    args.out.mkdir(parents=True, exist_ok=True)
    png = args.out / ("rom_local_bases.png" if args.problem == "source"
                      else "rom_local_bases_inclusion.png")
    fig.savefig(png, dpi=110)
    plt.close(fig)

    # a-priori criterion (training snapshots only)
    Ks = [int(k) for k in args.criterion_Ks.split(",")]
    n_crit = sizes[len(sizes) // 2]
    crit = rom.efficiency_criterion(X, Ks, basis_size=n_crit, dissimilarity=rom.Sine(problem.mass),
                                    D=D["angle"], folds=4)
    print(f"\n  a-priori criterion at n = {n_crit} (cross-validated, training data only):")
    print("  " + crit.summary().replace("\n", "\n  "))

    # ROM-net classifier: parameters -> best local basis
    lb = bases["angle"].truncate(n_crit)
    clf, _ = rom.train_classifier(problem.features(mu_train), np.asarray(lb.best(X)), args.K,
                                  key=jax.random.key(2), epochs=args.epochs, batch_size=64,
                                  learning_rate=1e-2)
    target = np.asarray(lb.best(Y))
    acc = float(np.mean(np.asarray(clf.predict(problem.features(mu_test))) == target))
    acc_medoid = float(np.mean(np.asarray(lb.route_nearest(Y)) == target))
    print(f"\n  ROM-net routing to the best basis (held out): classifier {acc:.1%}, "
          f"nearest medoid {acc_medoid:.1%}")

    out = {"sizes": sizes, "routed": routed, "best": best, "criterion_K": crit.best_K,
           "classifier_accuracy": acc, "png": png}
    if not args.no_soliton:
        v_train = jnp.linspace(-2.0, 2.0, 64)
        v_test = jnp.asarray(np.random.default_rng(0).uniform(-2, 2, 48))
        S, _ = rom.travelling_soliton_snapshots(v_train)
        T, _ = rom.travelling_soliton_snapshots(v_test)
        n = 4
        g = float(jnp.mean(rom.global_basis(S, rank=n).errors(T)))
        d = rom.Sine()
        lbs = rom.local_bases(S, rom.kmedoids(rom.pairwise(d, S), args.K), rank=n,
                              dissimilarity=d)
        loc = float(jnp.mean(lbs.errors_assigned(T, lbs.route_nearest(T))))
        print(f"\n  NLSE travelling soliton |psi(x, t=4)|, v in [-2, 2], n = {n}: global "
              f"{g:.3e}, angle local (K = {args.K}) {loc:.3e}")
        out["soliton"] = (g, loc)
    print(f"\nwrote {png} ({time.perf_counter() - t0:.1f} s)")
    return out


if __name__ == "__main__":
    main()
