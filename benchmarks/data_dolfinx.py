"""DOLFINx peer of the Darcy dataset benchmark (runs in benchmarks/.venv-dolfinx, the PyPI wheel
``dolfinx-solver-real``; each process/rank on MPI.COMM_SELF with its own share of samples).

The whole per-sample pipeline of ``pdekit datagen darcy`` (FNO recipe) at s x s:
GRF (numpy normal coefficients, orthonormal inverse DCT-II as two matrix products, alpha = 2,
tau = 3) ->
threshold to 12 / 3 -> per-cell DG0 coefficient -> fixed-pattern reassembly
(``assemble_matrix`` into the existing matrix, zeroed) -> PETSc Cholesky (``preonly`` +
``cholesky``, MUMPS when the wheel has it, else PETSc's own with nested dissection), factorised
per sample -> interpolation onto the cell-centre grid (index arrays built once) -> write into
a preallocated ``.npy`` memmap (flushed per batch of 16). Set-up (mesh, forms, sparsity,
interpolation matrix) is timed apart; ``samples_per_s`` is the sample loop only.

Usage: ``python data_dolfinx.py --spec SPEC.json --out OUT.json`` with spec
``{"s": 64, "n": 256, "rank": 0, "size": 1, "seed": 0}`` (``rank``/``size``: this process
computes samples ``rank::size``; under ``mpirun`` they come from ``MPI.COMM_WORLD``).
"""

from __future__ import annotations

import _harness as H

H.pin_threads()

import dolfinx_solver  # noqa: E402, F401, I001  (loads the wheel's MPI ahead of the bindings)
import time  # noqa: E402
import dolfinx  # noqa: E402
import dolfinx.fem.petsc  # noqa: E402
import numpy as np  # noqa: E402
import ufl  # noqa: E402
from mpi4py import MPI  # noqa: E402
from fem_dolfinx import factor_solver_type  # noqa: E402
from petsc4py import PETSc  # noqa: E402


def cholesky_type():
    return factor_solver_type("cholesky", ("mumps", "petsc"))


def darcy(s, n, rank, size, seed, out_path):
    t0 = time.perf_counter()
    mesh = dolfinx.mesh.create_unit_square(MPI.COMM_SELF, s, s, dolfinx.mesh.CellType.triangle,
                                           diagonal=dolfinx.mesh.DiagonalType.right)
    V = dolfinx.fem.functionspace(mesh, ("Lagrange", 1))
    Q = dolfinx.fem.functionspace(mesh, ("DG", 0))
    a_fn = dolfinx.fem.Function(Q)
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    a_form = dolfinx.fem.form(a_fn * ufl.inner(ufl.grad(u), ufl.grad(v)) * ufl.dx)
    L_form = dolfinx.fem.form(dolfinx.fem.Constant(mesh, 1.0) * v * ufl.dx)
    mesh.topology.create_connectivity(1, 2)
    facets = dolfinx.mesh.exterior_facet_indices(mesh.topology)
    bc = dolfinx.fem.dirichletbc(0.0, dolfinx.fem.locate_dofs_topological(V, 1, facets), V)
    A = dolfinx.fem.petsc.create_matrix(a_form)
    b = dolfinx.fem.petsc.assemble_vector(L_form)
    dolfinx.fem.petsc.apply_lifting(b, [a_form], bcs=[[bc]])
    b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
    dolfinx.fem.petsc.set_bc(b, [bc])
    x = b.duplicate()
    # cell -> grid square (row = y) of its midpoint; the DG0 dof of cell c is c
    tdim = mesh.topology.dim
    ncells = mesh.topology.index_map(tdim).size_local
    mid = dolfinx.mesh.compute_midpoints(mesh, tdim, np.arange(ncells, dtype=np.int32))
    ii = np.minimum((mid[:, 0] * s).astype(int), s - 1)
    jj = np.minimum((mid[:, 1] * s).astype(int), s - 1)
    cell_square = jj * s + ii
    q_dofs = np.array([Q.dofmap.cell_dofs(c)[0] for c in range(ncells)])
    # P1 values at the cell centres: the centre of a square lies on its 'right' diagonal
    # (from (x0, y0) to (x1, y1)), so the value is the mean of those two vertices
    xy = V.tabulate_dof_coordinates()[:, :2]
    key = np.round(xy * s).astype(int)
    lookup = {(int(p), int(q)): d for d, (p, q) in enumerate(key)}
    lo = np.array([[lookup[(i, j)] for i in range(s)] for j in range(s)])
    hi = np.array([[lookup[(i + 1, j + 1)] for i in range(s)] for j in range(s)])
    # orthonormal DCT-II matrix (numpy only: the wheel's venv has no scipy); the inverse
    # 2D transform of X is C^T X C
    m = np.arange(s)
    C = np.sqrt(2.0 / s) * np.cos(np.pi * m[:, None] * (m[None, :] + 0.5) / s)
    C[0] /= np.sqrt(2.0)
    k = np.pi * np.arange(s)
    sq = 3.0 ** (2 - 1) * (k[:, None] ** 2 + k[None, :] ** 2 + 9.0) ** (-1.0)
    sq[0, 0] = 0.0
    sq *= s  # sqrt(N/L)^2 at N = s, L = 1 (as pdekit.data.GaussianRandomField)
    factor = cholesky_type()
    mine = np.arange(rank, n, size)
    store = np.lib.format.open_memmap(out_path, mode="w+", dtype=np.float32,
                                      shape=(mine.size, 2, s, s))
    t_setup = time.perf_counter() - t0

    def one(i):
        rng = np.random.default_rng([seed, int(i)])
        g = C.T @ (sq * rng.standard_normal((s, s))) @ C
        a_grid = np.where(g >= 0, 12.0, 3.0)
        a_fn.x.array[q_dofs] = a_grid.ravel()[cell_square]
        A.zeroEntries()
        dolfinx.fem.petsc.assemble_matrix(A, a_form, bcs=[bc])
        A.assemble()
        ksp = PETSc.KSP().create(MPI.COMM_SELF)
        ksp.setOperators(A)
        ksp.setType("preonly")
        pc = ksp.getPC()
        pc.setType("cholesky")
        pc.setFactorSolverType(factor)
        if factor == "petsc":
            pc.setFactorOrdering("nd")
        ksp.solve(b, x)
        ksp.destroy()
        xa = x.array
        return a_grid, 0.5 * (xa[lo] + xa[hi])

    one(mine[0])  # warm-up
    c0 = time.process_time()
    t0 = time.perf_counter()
    for j, i in enumerate(mine):
        a_grid, u_grid = one(i)
        store[j, 0] = a_grid
        store[j, 1] = u_grid
        if j % 16 == 15:
            store.flush()
    store.flush()
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    u_max = float(np.max(store[:, 1]))
    return {"s": s, "samples": int(mine.size), "rank": rank, "size": size,
            "setup_s": t_setup, "loop_s": wall, "samples_per_s": mine.size / wall,
            "cpu_s": cpu, "samples_per_cpu_s": mine.size / cpu, "cholesky": factor,
            "u_max_max": u_max, "t_start": time.time() - wall,
            "t_end": time.time()}


def main():
    args, spec = H.read_spec(__doc__.splitlines()[0])
    comm = MPI.COMM_WORLD
    rank, size = (comm.rank, comm.size) if comm.size > 1 else (spec["rank"], spec["size"])
    out_npy = f"{args.out}.{rank}.npy"
    row = darcy(spec["s"], spec["n"], rank, size, spec["seed"], out_npy)
    import os

    os.unlink(out_npy)
    rows = comm.gather(row, root=0) if comm.size > 1 else [row]
    if comm.size == 1 or comm.rank == 0:
        H.write_json({"solver": f"DOLFINx {dolfinx.__version__} (PETSc "
                      f"{'.'.join(map(str, PETSc.Sys.getVersion()))})",
                      "versions": H.versions("dolfinx-solver-real", "numpy"),
                      "threads": H.threads_summary(), "ranks": rows}, args.out)


if __name__ == "__main__":
    main()
