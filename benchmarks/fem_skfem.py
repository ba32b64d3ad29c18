"""scikit-fem runner for the FEM benchmark (runs in benchmarks/.venv-fem).

P1 Poisson -div(a grad u) = f on the unit square, u = 0 on the boundary, structured n x n mesh
of 2 n^2 triangles, f = 2 pi^2 sin(pi x) sin(pi y) (exact u = sin(pi x) sin(pi y)).

* assembly: ``asm(laplace, basis)`` (COO -> CSR included); the mesh and the ``Basis`` (mapping,
  quadrature, shape functions) are set-up, timed apart.
* solves on the condensed system: scipy ``spsolve`` (SuperLU) and pyamg smoothed-aggregation
  set-up + CG preconditioned by one V-cycle (``rtol`` from the spec, as for every iterative
  contender).
* Darcy: a loop over coefficient fields (piecewise constant on a B x B block grid, given by the
  spec) assembling ``a`` per element and solving with spsolve; the basis and load vector are built
  once outside the loop.
"""

from __future__ import annotations

import _harness as H

H.pin_threads()


import numpy as np  # noqa: E402
import pyamg  # noqa: E402
import scipy.sparse.linalg as spla  # noqa: E402
import skfem  # noqa: E402
from skfem import Basis, BilinearForm, ElementTriP0, ElementTriP1, LinearForm, MeshTri  # noqa: E402
from skfem.helpers import dot, grad  # noqa: E402
from skfem.models.poisson import laplace  # noqa: E402


@LinearForm
def load(v, w):
    x, y = w.x
    return 2 * np.pi**2 * np.sin(np.pi * x) * np.sin(np.pi * y) * v


@LinearForm
def unit_load(v, w):
    return 1.0 * v


@BilinearForm
def weighted_laplace(u, v, w):
    return w.a * dot(grad(u), grad(v))


def unit_square(n):
    s = np.linspace(0.0, 1.0, n + 1)
    return MeshTri.init_tensor(s, s)


def poisson(n, rtol, repeat, direct=True):
    (mesh, basis), t_setup = H.first_call(
        lambda: (lambda m: (m, Basis(m, ElementTriP1())))(unit_square(n)))
    A = skfem.asm(laplace, basis)
    t_asm = H.timeit(lambda: skfem.asm(laplace, basis), repeat=repeat, max_time=60)
    b = skfem.asm(load, basis)
    D = basis.get_dofs()
    Ai, bi, xi, I = skfem.condense(A, b, D=D)  # noqa: E741
    Ai = Ai.tocsr()
    exact = np.sin(np.pi * mesh.p[0]) * np.sin(np.pi * mesh.p[1])
    row = {"n": n, "dofs": int(basis.N), "cells": int(mesh.t.shape[1]), "setup_s": t_setup,
           "assembly": t_asm, "nnz": int(A.nnz)}
    if direct:
        sols = []
        row["spsolve"] = H.timeit(lambda: sols.append(spla.spsolve(Ai, bi)),
                                  repeat=min(repeat, 2), max_time=20)
        x = xi.copy()
        x[I] = sols[-1]
        row["spsolve_err_max"] = float(np.abs(x - exact).max())

    def amg():
        ml = pyamg.smoothed_aggregation_solver(Ai)
        its = []
        xs, info = spla.cg(Ai, bi, rtol=rtol, atol=0.0, M=ml.aspreconditioner(cycle="V"),
                           callback=lambda _: its.append(1), maxiter=500)
        return ml, xs, info, len(its)

    (ml, xs, info, its), _ = H.first_call(amg)
    row["amg_setup"] = H.timeit(lambda: pyamg.smoothed_aggregation_solver(Ai),
                                repeat=min(repeat, 3), max_time=60)
    M = ml.aspreconditioner(cycle="V")
    row["amg_cg"] = H.timeit(lambda: spla.cg(Ai, bi, rtol=rtol, atol=0.0, M=M, maxiter=500),
                             repeat=min(repeat, 3), max_time=60)
    x = xi.copy()
    x[I] = xs
    row.update(amg_iters=its, amg_converged=info == 0,
               amg_err_max=float(np.abs(x - exact).max()))
    return row


def darcy(n, blocks):
    """Loop over coefficient fields; returns timing and the solutions' mean values."""
    mesh = unit_square(n)
    basis = Basis(mesh, ElementTriP1())
    basis0 = basis.with_element(ElementTriP0())
    b = skfem.asm(unit_load, basis)
    D = basis.get_dofs()
    nb = blocks.shape[-1]
    centroid = mesh.p[:, mesh.t].mean(axis=1)
    ix = np.minimum((centroid * nb).astype(int), nb - 1)  # (2, cells): block column, row

    def solve_one(field):
        a = basis0.interpolate(field[ix[1], ix[0]])
        A = skfem.asm(weighted_laplace, basis, a=a)
        return skfem.solve(*skfem.condense(A, b, D=D))

    means = []

    def loop():
        means.clear()
        for field in blocks:
            means.append(float(solve_one(field).mean()))

    solve_one(blocks[0])
    t = H.timeit(loop, repeat=1)
    return {"n": n, "dofs": int(basis.N), "batch": int(len(blocks)), "time": t,
            "solves_per_s": len(blocks) / t["best"], "u_mean": means}


def main():
    args, spec = H.read_spec(__doc__.splitlines()[0])
    out = {"solver": f"scikit-fem {skfem.__version__} + scipy spsolve / pyamg CG",
           "versions": H.versions("scikit-fem", "numpy", "scipy", "pyamg"),
           "threads": H.threads_summary(), "poisson": [], "darcy": None}
    out["poisson"] = H.run_jobs(spec["poisson"], lambda job: poisson(
        job["n"], spec["rtol"], spec["repeat"], direct=job.get("direct", True)))
    if spec.get("darcy"):
        blocks = np.load(spec["darcy"]["blocks"])
        out["darcy"] = darcy(spec["darcy"]["n"], blocks)
    H.write_json(out, args.out)


if __name__ == "__main__":
    main()
