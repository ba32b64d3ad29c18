"""GMG preconditioner: exact Galerkin stencils, SPD V-cycle, bounded CG counts, validation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.sparse as sps
import scipy.sparse.linalg as spla

from pdekit.solvers import fem, linalg

from .problems import poisson_2d, random_rhs


def _darcy_system(n, diagonal="right", blocks=8):
    mesh = fem.unit_square_mesh(n, diagonal=diagonal)
    space = fem.FunctionSpace(mesh, fem.P1())
    a = fem.checkerboard(mesh, blocks, 1.0, 100.0)
    A, b = fem.Poisson(space).system(a, 1.0)
    return A, b, fem.grid_shape(space)


def _prolongator(shape_c, bilinear):
    """Interpolation from a coarse (nyc, nxc) to the fine (2nyc-1, 2nxc-1) grid, built
    entry by entry from the geometry (nodal interpolation of the coarse basis)."""
    nyc, nxc = shape_c
    nyf, nxf = 2 * nyc - 1, 2 * nxc - 1
    P = sps.lil_matrix((nyf * nxf, nyc * nxc))
    for jf in range(nyf):
        for i_f in range(nxf):
            J, I = jf // 2, i_f // 2
            row = jf * nxf + i_f
            corners = {(J + dj, I + di) for dj in (0, jf % 2) for di in (0, i_f % 2)}
            if len(corners) == 4 and not bilinear:  # P1 on the (1,1)-diagonal split
                corners = {(J, I), (J + 1, I + 1)}
            for cj, ci in corners:
                P[row, cj * nxc + ci] += 1.0 / len(corners)
    return P.tocsr()


@pytest.mark.parametrize("diagonal", ["right", "left"])
def test_coarse_stencils_are_galerkin_products(diagonal):
    A, _, shape = _darcy_system(16, diagonal)
    gmg = linalg.GMG(shape, max_coarse=10)
    assert gmg.level_shapes() == [(17, 17), (9, 9), (5, 5), (3, 3)]
    offsets = [off for off, _ in gmg.coarse_operators(A)]
    stencils = jax.jit(lambda A: [S for _, S in gmg.coarse_operators(A)])(A)
    ops = [(off, np.asarray(S)) for off, S in zip(offsets, stencils)]
    expected = A.to_scipy()
    bilinear = diagonal == "left"  # not a subset of the 7-point 'right' stencil
    for (offsets, S), shape_c in zip(ops[1:], gmg.level_shapes()[1:]):
        P = _prolongator(shape_c, bilinear)
        expected = (P.T @ expected @ P).tocsr()
        got = np.zeros(expected.shape)
        ny, nx = shape_c
        for k, (dy, dx) in enumerate(offsets):
            for j in range(ny):
                for i in range(nx):
                    if 0 <= j + dy < ny and 0 <= i + dx < nx:
                        got[j * nx + i, (j + dy) * nx + i + dx] = S[k, j, i]
                    else:
                        assert S[k, j, i] == 0
        np.testing.assert_allclose(got, expected.toarray(), atol=1e-12 * abs(expected).max())


@pytest.mark.parametrize("diagonal", ["right", "left"])
def test_vcycle_is_symmetric_positive_definite(diagonal):
    A, _, shape = _darcy_system(8, diagonal, blocks=4)
    gmg = linalg.GMG(shape, max_coarse=10)
    M = np.asarray(jax.jit(lambda A, R: jax.vmap(gmg.operator(A))(R))(A, jnp.eye(A.shape[0])))
    np.testing.assert_allclose(M, M.T, atol=1e-12 * np.abs(M).max())
    x, y = np.random.default_rng(0).standard_normal((2, A.shape[0]))
    assert abs(x @ M @ y - y @ M @ x) <= 1e-12 * np.abs(M).sum()
    assert np.linalg.eigvalsh(0.5 * (M + M.T)).min() > 0
    ev = np.linalg.eigvals(M @ A.to_scipy().toarray()).real
    assert ev.max() / ev.min() < 5.0


def test_cg_gmg_matches_direct_and_iterations_bounded_under_refinement():
    counts = {}
    for n in (16, 32, 64):
        A, b, shape = _darcy_system(n)
        x, stats = linalg.solve_with_stats(
            A, b, linalg.CG(rtol=1e-10, preconditioner=linalg.GMG(shape))
        )
        assert bool(stats["converged"])
        counts[n] = int(stats["num_steps"])
        if n == 32:
            ref = spla.spsolve(A.to_scipy().tocsc(), np.asarray(b))
            assert np.abs(np.asarray(x) - ref).max() <= 1e-8 * np.abs(ref).max()
    # contrast-100 checkerboard: a few more iterations per level at most (12, 14, 17;
    # Jacobi-CG needs hundreds)
    assert counts[64] - counts[16] <= 6 and counts[64] <= 20, counts


def test_five_point_finite_differences():
    """A 5-point FD matrix on the interior nodes (no Dirichlet rows) also works."""
    mat = poisson_2d(33, contrast=100.0)
    A = linalg.CSRMatrix.from_scipy(mat)
    b = jnp.asarray(random_rhs(mat.shape[0]))
    x, stats = linalg.solve_with_stats(
        A, b, linalg.CG(rtol=1e-10, preconditioner=linalg.GMG((33, 33)))
    )
    assert bool(stats["converged"]) and int(stats["num_steps"]) <= 15
    ref = spla.spsolve(mat.tocsc(), np.asarray(b))
    assert np.abs(np.asarray(x) - ref).max() <= 1e-8 * np.abs(ref).max()


def test_mixed_precision_preconditioner():
    A, b, shape = _darcy_system(16)
    counts = []
    for dtype in (None, jnp.float32):
        cg = linalg.CG(rtol=1e-10, preconditioner=linalg.GMG(shape, dtype=dtype))
        x, stats = linalg.solve_with_stats(A, b, cg)
        assert x.dtype == jnp.float64 and bool(stats["converged"])
        counts.append(int(stats["num_steps"]))
    assert counts[1] <= counts[0] + 2, counts


def test_float32_smoke(float32):
    A, b, shape = _darcy_system(16)
    assert A.data.dtype == jnp.float32
    x, stats = linalg.solve_with_stats(
        A, b, linalg.CG(rtol=1e-5, preconditioner=linalg.GMG(shape))
    )
    assert x.dtype == jnp.float32 and bool(stats["converged"])
    mat = A.to_scipy().astype(np.float64)
    res = np.linalg.norm(np.asarray(b, np.float64) - mat @ np.asarray(x, np.float64))
    assert res <= 2e-5 * np.linalg.norm(np.asarray(b, np.float64))


def test_validation():
    A, b, shape = _darcy_system(8)
    for bad, match in (
        (dict(grid_shape=(9,)), "grid_shape"),
        (dict(grid_shape=(1, 81)), "grid_shape"),
        (dict(grid_shape=shape, max_coarse=0), "max_coarse"),
        (dict(grid_shape=shape, lower_ratio=1.0), "lower_ratio"),
        (dict(grid_shape=shape, dtype=jnp.int32), "dtype"),
        (dict(grid_shape=(64, 64)), "coarsens by 2 only"),
    ):
        with pytest.raises(ValueError, match=match):
            linalg.GMG(**bad)

    def solve(A, gmg):
        return linalg.solve(A, b[: A.shape[0]], linalg.CG(rtol=1e-8, preconditioner=gmg))

    with pytest.raises(ValueError, match="needs a matrix of shape"):
        solve(A, linalg.GMG((9, 17)))
    # a 9 x 5 rectangle read as 5 x 9: same size, couplings are not grid neighbours
    space = fem.FunctionSpace(fem.rectangle_mesh(4, 8), fem.P1())
    R, _ = fem.Poisson(space).system(1.0, 1.0)
    with pytest.raises(ValueError, match="neighbours"):
        solve(R, linalg.GMG((5, 9)))
    # a renumbered grid: the pattern is not banded
    perm = np.random.default_rng(0).permutation(A.shape[0])
    mat = A.to_scipy()[perm][:, perm]
    with pytest.raises(ValueError, match="neighbours"):
        solve(linalg.CSRMatrix.from_scipy(mat), linalg.GMG(shape))
