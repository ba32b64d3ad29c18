"""DOLFINx runner for the FEM benchmark (runs in benchmarks/.venv-dolfinx, Python 3.12, the PyPI
wheel ``dolfinx-solver-real``; serial, MPI.COMM_SELF).

Same problem as fem_skfem.py: P1 Poisson on the unit square (n x n squares, 'right' diagonal),
f = 2 pi^2 sin(pi x) sin(pi y), u = 0 on the boundary.

* form compile (FFCx + C compiler, cached on disk after the first run) and the sparsity pattern
  (``create_matrix``) are set-up, timed apart; assembly is ``assemble_matrix`` into the existing
  matrix (zeroed), with the Dirichlet rows, + ``A.assemble()``.
* solves: PETSc CG preconditioned by GAMG (this wheel has no hypre) to the spec's ``rtol``, and
  PETSc's sparse LU (MUMPS / SuperLU when the wheel has them, else PETSc's own LU with nested
  dissection ordering), set-up and factorisation included in the direct time.
"""

from __future__ import annotations

import _harness as H

H.pin_threads()

import time  # noqa: E402

# the wheel's MPI must be loaded before the dolfinx bindings (libmpi.so.12 otherwise)
import dolfinx_solver  # noqa: E402, F401

# isort: split
import dolfinx  # noqa: E402
import dolfinx.fem.petsc  # noqa: E402
import numpy as np  # noqa: E402
import ufl  # noqa: E402
from mpi4py import MPI  # noqa: E402
from petsc4py import PETSc  # noqa: E402


def factor_solver_type(pc_type="lu", candidates=("mumps", "superlu", "petsc")):
    """The first PETSc factorisation package among `candidates` that sets up a `pc_type`
    ("lu" or "cholesky") factorisation in this build; "petsc" if none does."""
    for name in candidates:
        try:
            pc = PETSc.PC().create(MPI.COMM_SELF)
            pc.setType(pc_type)
            pc.setFactorSolverType(name)
            A = PETSc.Mat().createAIJ([2, 2], comm=MPI.COMM_SELF)
            A.setValues([0, 1], [0, 1], [[2.0, 0], [0, 2.0]])
            A.assemble()
            pc.setOperators(A)
            pc.setUp()
            return name
        except PETSc.Error:
            continue
    return "petsc"


def direct_solver_type():
    return factor_solver_type("lu", ("mumps", "superlu", "petsc"))


def _setup(n):
    """Mesh, P1 space, compiled forms and the Dirichlet condition; times of (mesh, space +
    boundary DOFs, form compile)."""
    t0 = time.perf_counter()
    mesh = dolfinx.mesh.create_unit_square(MPI.COMM_SELF, n, n, dolfinx.mesh.CellType.triangle,
                                           diagonal=dolfinx.mesh.DiagonalType.right)
    t1 = time.perf_counter()
    V = dolfinx.fem.functionspace(mesh, ("Lagrange", 1))
    t2 = time.perf_counter()
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    x = ufl.SpatialCoordinate(mesh)
    f = 2 * ufl.pi**2 * ufl.sin(ufl.pi * x[0]) * ufl.sin(ufl.pi * x[1])
    a = dolfinx.fem.form(ufl.inner(ufl.grad(u), ufl.grad(v)) * ufl.dx)
    L = dolfinx.fem.form(f * v * ufl.dx)
    t3 = time.perf_counter()
    mesh.topology.create_connectivity(1, 2)
    facets = dolfinx.mesh.exterior_facet_indices(mesh.topology)
    dofs = dolfinx.fem.locate_dofs_topological(V, 1, facets)
    bc = dolfinx.fem.dirichletbc(0.0, dofs, V)
    t4 = time.perf_counter()  # boundary DOFs count as space set-up (pdekit: Poisson(...))
    return mesh, V, a, L, bc, (t1 - t0, t2 - t1 + t4 - t3, t3 - t2)


def _rhs(a, L, bc):
    b = dolfinx.fem.petsc.assemble_vector(L)
    dolfinx.fem.petsc.apply_lifting(b, [a], bcs=[[bc]])
    b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
    dolfinx.fem.petsc.set_bc(b, [bc])
    return b


def poisson(n, rtol, repeat, direct=True):
    mesh, V, a, L, bc, (t_mesh, t_space, t_compile) = _setup(n)
    t_mesh += t_space
    t0 = time.perf_counter()
    A = dolfinx.fem.petsc.create_matrix(a)
    t_sparsity = time.perf_counter() - t0

    def assemble():
        A.zeroEntries()
        dolfinx.fem.petsc.assemble_matrix(A, a, bcs=[bc])
        A.assemble()

    assemble()
    t_asm = H.timeit(assemble, repeat=repeat, max_time=60)
    b = _rhs(a, L, bc)
    xy = V.tabulate_dof_coordinates()
    exact = np.sin(np.pi * xy[:, 0]) * np.sin(np.pi * xy[:, 1])
    row = {"n": n, "dofs": int(V.dofmap.index_map.size_global), "cells": 2 * n * n,
           "mesh_s": t_mesh, "form_compile_s": t_compile, "sparsity_s": t_sparsity,
           "assembly": t_asm, "nnz": int(A.getInfo()["nz_used"])}

    def krylov(ksp_type, pc_type, factor=None):
        ksp = PETSc.KSP().create(MPI.COMM_SELF)
        ksp.setOperators(A)
        ksp.setType(ksp_type)
        ksp.getPC().setType(pc_type)
        if factor is not None:
            ksp.getPC().setFactorSolverType(factor)
            if factor == "petsc":
                ksp.getPC().setFactorOrdering("nd")
        ksp.setTolerances(rtol=rtol, atol=0.0, max_it=1000)
        ksp.setNormType(PETSc.KSP.NormType.UNPRECONDITIONED)
        return ksp

    xv = b.duplicate()

    def solve_cg():  # set-up (GAMG hierarchy) + solve, like pyamg set-up + CG
        ksp = krylov("cg", "gamg")
        ksp.solve(b, xv)
        return ksp

    ksp = solve_cg()
    row["gamg_cg"] = H.timeit(solve_cg, repeat=min(repeat, 3), max_time=60)
    row.update(gamg_iters=int(ksp.getIterationNumber()),
               gamg_converged=bool(ksp.getConvergedReason() > 0),
               gamg_err_max=float(np.abs(xv.array - exact).max()))
    if direct:
        factor = direct_solver_type()

        def solve_lu():
            ksp = krylov("preonly", "lu", factor)
            ksp.solve(b, xv)

        row["lu"] = H.timeit(solve_lu, repeat=min(repeat, 2), max_time=20)
        row["lu_factor"] = factor
        row["lu_err_max"] = float(np.abs(xv.array - exact).max())
    return row


def e2e(n, rtol):
    """Mesh -> solution, each stage timed (form compilation apart): the time-to-solution row
    of fem_bench.py (same problem, CG+GAMG to the same rtol)."""
    t = {}
    c0 = time.process_time()  # process CPU time of the same stages (form lookup included)
    mesh, V, a, L, bc, times = _setup(n)
    t["mesh_s"], t["space_s"], t["form_compile_s"] = times
    t0 = time.perf_counter()
    A = dolfinx.fem.petsc.assemble_matrix(a, bcs=[bc])
    A.assemble()
    b = _rhs(a, L, bc)
    t["assemble_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    ksp = PETSc.KSP().create(MPI.COMM_SELF)
    ksp.setOperators(A)
    ksp.setType("cg")
    ksp.getPC().setType("gamg")
    ksp.setTolerances(rtol=rtol, atol=0.0, max_it=1000)
    ksp.setNormType(PETSc.KSP.NormType.UNPRECONDITIONED)
    xv = b.duplicate()
    ksp.solve(b, xv)
    t["solve_s"] = time.perf_counter() - t0
    t["total_s"] = t["mesh_s"] + t["space_s"] + t["assemble_s"] + t["solve_s"]
    t["cpu_s"] = time.process_time() - c0
    xy = V.tabulate_dof_coordinates()
    exact = np.sin(np.pi * xy[:, 0]) * np.sin(np.pi * xy[:, 1])
    t.update(dofs=int(V.dofmap.index_map.size_global), iters=int(ksp.getIterationNumber()),
             converged=bool(ksp.getConvergedReason() > 0),
             err_max=float(np.abs(xv.array - exact).max()))
    return t


def main():
    args, spec = H.read_spec(__doc__.splitlines()[0])
    out = {"solver": f"DOLFINx {dolfinx.__version__} (PETSc {PETSc.Sys.getVersion()})",
           "versions": H.versions("dolfinx-solver-real", "fenics-ffcx", "numpy"),
           "threads": H.threads_summary(), "poisson": []}
    out["poisson"] = H.run_jobs(spec["poisson"], lambda job: poisson(
        job["n"], spec["rtol"], spec["repeat"], direct=job.get("direct", True)))
    if spec.get("e2e"):
        out["e2e"] = e2e(spec["e2e"]["n"], spec["rtol"])
        print(out["e2e"], flush=True)
    H.write_json(out, args.out)


if __name__ == "__main__":
    main()
