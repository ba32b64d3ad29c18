"""Convergence of Lagrange P1/P2 finite elements for a manufactured Poisson problem.

Solves ``-div(a grad u) = f`` with ``a = 2 + x`` and the exact solution
``u = sin(pi x) exp(y)`` (inhomogeneous Dirichlet data) on a sequence of uniformly refined
meshes of the unit square or the L-shaped domain, prints the L2 / H1-seminorm errors with
their observed orders (expected: p + 1 and p for Pp), and draws a log-log plot.

CPU time: about 10 s with the defaults (mostly JIT compilation, one per mesh size).
Writes: ``<out>/poisson_convergence.png``.

    python examples/poisson_convergence.py [--mesh square|lshape] [--levels 4] [--n0 4]
                                           [--out examples_out]
"""

from __future__ import annotations

import argparse
import pathlib


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mesh", choices=("square", "lshape"), default="square")
    parser.add_argument("--levels", type=int, default=4, help="number of meshes (default 4)")
    parser.add_argument("--n0", type=int, default=4, help="cells per unit length, coarsest mesh")
    parser.add_argument("--out", default="examples_out", help="output folder")
    args = parser.parse_args(argv)
    if args.levels < 2 or args.n0 < 1:
        raise ValueError("--levels must be >= 2 and --n0 >= 1.")

    import pdekit

    pdekit.enable_x64()  # errors down to 1e-8 need float64
    import jax.numpy as jnp
    import numpy as np

    from pdekit.plotting import plot_convergence
    from pdekit.solvers import fem

    pi = np.pi

    def exact(x):
        return jnp.sin(pi * x[0]) * jnp.exp(x[1])

    def exact_grad(x):
        return pi * jnp.cos(pi * x[0]) * jnp.exp(x[1]), jnp.sin(pi * x[0]) * jnp.exp(x[1])

    def a(x):
        return 2.0 + x[0]

    def f(x):  # -div(a grad u) for the u above
        return a(x) * (pi**2 - 1) * exact(x) - exact_grad(x)[0]

    base = fem.unit_square_mesh(args.n0) if args.mesh == "square" else fem.lshape_mesh(args.n0)
    results = {"h": [], "P1 L2": [], "P1 H1": [], "P2 L2": [], "P2 H1": []}
    mesh = base
    for level in range(args.levels):
        if level:
            mesh = mesh.refine()
        results["h"].append(mesh.h)
        for p, element in ((1, fem.P1()), (2, fem.P2())):
            space = fem.FunctionSpace(mesh, element)
            u = fem.Poisson(space, dirichlet=fem.Dirichlet(exact)).solve(a=a, f=f)
            results[f"P{p} L2"].append(float(fem.l2_error(space, u, exact)))
            results[f"P{p} H1"].append(float(fem.h1_error(space, u, exact_grad)))

    hs = np.array(results["h"])
    rates = {
        k: float(np.polyfit(np.log(hs), np.log(v), 1)[0]) for k, v in results.items() if k != "h"
    }
    print(f"{'h':>9} " + " ".join(f"{k:>10}" for k in rates))
    for i, h in enumerate(hs):
        print(f"{h:9.4f} " + " ".join(f"{results[k][i]:10.3e}" for k in rates))
    print(f"{'order':>9} " + " ".join(f"{r:10.2f}" for r in rates.values()))

    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    fig = plot_convergence(
        hs,
        {k: results[k] for k in rates},
        orders={"P1 L2": 2, "P1 H1": 1, "P2 L2": 3, "P2 H1": 2},
        title=f"manufactured Poisson on the {args.mesh}",
    )
    fig.savefig(out / "poisson_convergence.png", dpi=110)
    return {"errors": results, "rates": rates, "figure": str(out / "poisson_convergence.png")}


if __name__ == "__main__":
    main()
