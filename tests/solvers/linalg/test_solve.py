"""CG (Jacobi), Direct: agreement with scipy, adjoint gradients, vmap, tracing, validation."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.sparse.linalg as spla

from pdekit.solvers import linalg

from .problems import poisson_2d, random_rhs

METHODS = {
    "cg": lambda: linalg.CG(rtol=1e-12, max_steps=5000),
    "cg-jacobi": lambda: linalg.CG(rtol=1e-12, max_steps=5000, preconditioner=linalg.Jacobi()),
    "direct": lambda: linalg.Direct(),
}


@pytest.fixture(scope="module")
def system():
    mat = poisson_2d(24, contrast=100.0)
    b = random_rhs(mat.shape[0])
    return mat, linalg.CSRMatrix.from_scipy(mat), jnp.asarray(b), spla.spsolve(mat.tocsc(), b)


@pytest.mark.parametrize("name", sorted(METHODS))
def test_agrees_with_spsolve(system, name):
    mat, A, b, x_ref = system
    x, stats = linalg.solve_with_stats(A, b, METHODS[name]())
    assert bool(stats["converged"])
    np.testing.assert_allclose(np.asarray(x), x_ref, rtol=0, atol=1e-9 * np.abs(x_ref).max())
    res = np.linalg.norm(np.asarray(b) - mat @ np.asarray(x))
    assert res <= 1e-11 * np.linalg.norm(np.asarray(b)) * 10
    np.testing.assert_allclose(float(stats["residual_norm"]), res, rtol=1e-3, atol=1e-14)
