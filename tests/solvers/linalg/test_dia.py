"""DIA fast path of CSRMatrix.matvec: same values as the segment-sum path and scipy."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.sparse as sps

from pdekit.solvers import fem
from pdekit.solvers.linalg import CSRMatrix, SparsityPattern
from pdekit.solvers.linalg._sparse import matvec_operator


def _segment_sum_matvec(A, x):
    return jax.ops.segment_sum(
        A.data * x[A.pattern.cols], A.pattern.rows, num_segments=A.shape[0]
    )


def _random_matrix(pattern, seed=0):
    rng = np.random.default_rng(seed)
    return CSRMatrix(pattern, jnp.asarray(rng.standard_normal(pattern.nnz)))


def test_structured_p1_pattern_is_dia():
    space = fem.FunctionSpace(fem.unit_square_mesh(6), fem.P1())
    assert space.pattern.dia_offsets == (-8, -7, -1, 0, 1, 7, 8)
    assert space.pattern.dia_index.shape == (7, 49)


@pytest.mark.parametrize("mesh", ["square", "disk", "permuted"])
def test_matvec_matches_scipy_and_segment_sum(mesh):
    if mesh == "disk":
        m = fem.disk_mesh(6)
    else:
        m = fem.unit_square_mesh(7)
        if mesh == "permuted":  # random numbering: many diagonals, DIA detection must fail
            perm = np.random.default_rng(1).permutation(m.num_nodes)
            inv = np.argsort(perm)
            m = fem.Mesh(m.points[perm], inv[m.cells])
    pattern = fem.FunctionSpace(m, fem.P1()).pattern
    assert (pattern.dia_offsets is not None) == (mesh == "square")
    A = _random_matrix(pattern)
    x = jnp.asarray(np.random.default_rng(2).standard_normal(A.shape[1]))
    ref = A.to_scipy() @ np.asarray(x)
    np.testing.assert_allclose(A.matvec(x), ref, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(_segment_sum_matvec(A, x), ref, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(matvec_operator(A)(x), ref, rtol=1e-13, atol=1e-13)
    batch = jnp.stack([x, 2 * x])
    np.testing.assert_allclose(jax.jit(jax.vmap(A.matvec))(batch)[1], 2 * ref, rtol=1e-13)


@pytest.mark.parametrize("shape", [(9, 9), (7, 10), (10, 6)])
def test_rectangular_banded(shape):
    n_rows, n_cols = shape
    dense = np.zeros(shape)
    for off in (-3, 0, 2):
        for i in range(n_rows):
            if 0 <= i + off < n_cols:
                dense[i, i + off] = 1.0 + i + 0.1 * off
    pattern = SparsityPattern.from_scipy(sps.csr_matrix(dense))
    assert pattern.dia_offsets == (-3, 0, 2)
    A = CSRMatrix.from_scipy(sps.csr_matrix(dense))
    x = jnp.linspace(-1.0, 2.0, n_cols)
    np.testing.assert_allclose(A.matvec(x), dense @ np.asarray(x), rtol=1e-14)


def test_grad_through_dia_matvec():
    pattern = fem.FunctionSpace(fem.unit_square_mesh(4), fem.P1()).pattern
    A = _random_matrix(pattern, seed=3)
    x = jnp.asarray(np.random.default_rng(4).standard_normal(A.shape[1]))
    w = jnp.asarray(np.random.default_rng(5).standard_normal(A.shape[0]))

    def f_dia(data, x):
        return jnp.vdot(w, CSRMatrix(pattern, data).matvec(x))

    def f_ref(data, x):
        return jnp.vdot(w, _segment_sum_matvec(CSRMatrix(pattern, data), x))

    g_dia = jax.grad(f_dia, argnums=(0, 1))(A.data, x)
    g_ref = jax.grad(f_ref, argnums=(0, 1))(A.data, x)
    # analytic: d/d data_k = w[row_k] x[col_k], d/dx = A^T w
    np.testing.assert_allclose(g_dia[0], w[pattern.rows] * x[pattern.cols], rtol=1e-13)
    np.testing.assert_allclose(g_dia[1], A.to_scipy().T @ np.asarray(w), rtol=1e-12)
    np.testing.assert_allclose(g_dia[0], g_ref[0], rtol=1e-13)
    np.testing.assert_allclose(g_dia[1], g_ref[1], rtol=1e-12, atol=1e-13)
