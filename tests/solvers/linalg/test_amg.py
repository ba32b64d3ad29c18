"""AMG preconditioner: exact Galerkin coarse operators, SPD V-cycle, mesh-independent CG counts."""

import jax
import jax.numpy as jnp
import numpy as np
import pyamg
import pytest
import scipy.sparse as sps

from pdekit.solvers import linalg

from .problems import poisson_2d, random_rhs


def assert_galerkin_hierarchy(amg, new):
    """The coarse operators for the scipy matrix ``new`` are scipy's ``P^T A P`` to 1e-12."""
    ops = amg.coarse_operators(linalg.CSRMatrix.from_scipy(new))
    expected = new
    for P, op in zip(amg.prolongators(), ops[1:]):
        expected = sps.csr_matrix(P.T @ expected @ P)
        got = op.to_scipy()
        assert abs(got - expected).max() <= 1e-12 * abs(expected).max()


def test_coarse_operators_are_galerkin_products_for_new_values():
    ref = poisson_2d(30, contrast=1.0)
    amg = linalg.AMG.build(ref, max_coarse=20)
    assert amg.num_levels >= 3
    # same aggregation as pyamg's own hierarchy for the reference matrix
    ml = pyamg.smoothed_aggregation_solver(ref, max_coarse=20, max_levels=12)
    assert amg.sizes() == [lev.A.shape[0] for lev in ml.levels]
    new = poisson_2d(30, contrast=100.0, seed=4)  # other coefficient field, same pattern
    assert_galerkin_hierarchy(amg, new)


@pytest.mark.parametrize("smooth", ["default", None])
def test_vcycle_is_symmetric_positive_definite(smooth):
    mat = poisson_2d(10, contrast=100.0)
    kwargs = {} if smooth == "default" else {"smooth": None}
    amg = linalg.AMG.build(mat, max_coarse=10, **kwargs)
    A = linalg.CSRMatrix.from_scipy(mat)
    apply = jax.jit(lambda amg, A, R: jax.vmap(amg.operator(A))(R))
    M = np.asarray(apply(amg, A, jnp.eye(A.shape[0])))
    np.testing.assert_allclose(M, M.T, atol=1e-12 * np.abs(M).max())
    eig = np.linalg.eigvalsh(0.5 * (M + M.T))
    assert eig.min() > 0
    # a good preconditioner: M A has a small condition number
    ev = np.linalg.eigvals(M @ mat.toarray()).real
    assert ev.max() / ev.min() < (5.0 if smooth == "default" else 50.0)


def _iterations(mat, precond):
    A = linalg.CSRMatrix.from_scipy(mat)
    b = jnp.asarray(random_rhs(mat.shape[0]))
    _, stats = linalg.solve_with_stats(A, b, linalg.CG(rtol=1e-8, preconditioner=precond))
    assert bool(stats["converged"])
    return int(stats["num_steps"])


def test_amg_iterations_mesh_independent_and_far_below_jacobi():
    counts = {}
    for n in (32, 128):
        mat = poisson_2d(n, contrast=100.0)
        counts["amg", n] = _iterations(mat, linalg.AMG.build(mat))
        counts["jacobi", n] = _iterations(mat, linalg.Jacobi())
    assert counts["amg", 128] <= 1.5 * counts["amg", 32], counts
    assert counts["amg", 128] <= 25, counts
    assert counts["jacobi", 128] >= 10 * counts["amg", 128], counts
