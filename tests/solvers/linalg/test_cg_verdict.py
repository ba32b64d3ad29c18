"""CG's verdict uses the true residual ||b - A x||, and failures come as RESULTS codes."""

import jax.numpy as jnp
import numpy as np
import pytest
import scipy.sparse as sps

from pdekit.solvers import RESULTS, linalg


def _laplacian_1d(n, dtype):
    T = sps.diags([-np.ones(n - 1), 2 * np.ones(n), -np.ones(n - 1)], [-1, 0, 1]).tocsr()
    return linalg.CSRMatrix.from_scipy(T, dtype=dtype)


def test_verdict_is_true_residual_in_float32(float32):
    # cond ~ 1.6e6: in float32 the recursive residual drops below rtol = 1e-5 while the
    # true residual stalls near eps * cond; the verdict must follow the true one
    A = _laplacian_1d(2000, jnp.float32)
    b = jnp.ones(2000, jnp.float32)
    rtol = 1e-5
    x, stats = linalg.solve_with_stats(A, b, linalg.CG(rtol=rtol, max_steps=20_000),
                                       throw=False)
    true = float(jnp.linalg.norm(b - A.matvec(x)))
    tol = rtol * float(jnp.linalg.norm(b))
    assert float(stats["residual_norm"]) == pytest.approx(true, rel=1e-6)
    assert bool(stats["converged"]) == (true <= tol), (true, tol)
    expected = RESULTS.successful if true <= tol else RESULTS.linear_solve_failed
    assert stats["result"] == expected


def test_results_code_and_throw():
    A = _laplacian_1d(64, jnp.float64)
    b = jnp.ones(64)
    x, stats = linalg.solve_with_stats(A, b, linalg.CG(rtol=1e-12))
    assert stats["result"] == RESULTS.successful and bool(stats["converged"])
    assert float(jnp.linalg.norm(b - A @ x)) <= 1e-12 * float(jnp.linalg.norm(b))
    few = linalg.CG(rtol=1e-12, max_steps=3)
    _, stats = linalg.solve_with_stats(A, b, few, throw=False)
    assert stats["result"] == RESULTS.linear_solve_failed and not bool(stats["converged"])
    with pytest.raises(Exception, match="CG did not reach"):
        linalg.solve(A, b, few)
    # Direct reports through the same code
    _, stats = linalg.solve_with_stats(A, b, linalg.Direct())
    assert stats["result"] == RESULTS.successful
