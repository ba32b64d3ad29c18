"""AMG host set-up on an unstructured mesh: the Galerkin maps and product patterns against scipy."""

import jax.numpy as jnp
import numpy as np
import pytest
import scipy.sparse as sps

from pdekit.solvers import fem, linalg
from pdekit.solvers.linalg._amg import _HostCSR, _map_size, _triple_product_map
from pdekit.solvers.linalg._sparse import SparsityPattern

from .test_amg import assert_galerkin_hierarchy


def _disk_matrix(seed):
    """SPD P1 stiffness + mass-like shift on an unstructured disk mesh, random positive scaling
    (same pattern for every seed)."""
    space = fem.FunctionSpace(fem.disk_mesh(12), fem.P1())
    K = fem.assemble_stiffness(space).to_scipy()
    d = np.random.default_rng(seed).uniform(0.5, 2.0, K.shape[0])
    D = sps.diags(np.sqrt(d))
    A = sps.csr_matrix(D @ K @ D + 1e-2 * sps.identity(K.shape[0]))
    A.sort_indices()
    return A


def _structural(M):
    """Indicator of the stored entries (no cancellation in products of indicators)."""
    M = sps.csr_matrix(M)
    return sps.csr_matrix((np.ones(M.nnz), M.indices, M.indptr), shape=M.shape)


@pytest.mark.parametrize("variant", ["both", "right", "left"])
def test_triple_product_map_matches_scipy(variant):
    A = _disk_matrix(0)
    amg = linalg.AMG.build(A, max_coarse=20)
    P = sps.csr_matrix(amg.prolongators()[0], copy=True)
    P.data[::7] = 0.0  # stored zeros stay in the structural pattern
    left = None if variant == "right" else sps.csr_matrix(P.T)
    right = None if variant == "left" else P
    X = linalg.CSRMatrix.from_scipy(_disk_matrix(1))
    host = _HostCSR.of(X.pattern)
    m, out = _triple_product_map(left, host, right)
    pattern = out.to_pattern()
    assert m.nnz == _map_size(left, host, right)
    assert np.all(np.diff(np.asarray(m.dst)) >= 0)  # sorted for indices_are_sorted=True
    lft = sps.identity(A.shape[0]) if left is None else left
    rgt = sps.identity(A.shape[0]) if right is None else right
    struct = sps.csr_matrix(_structural(lft) @ _structural(X.to_scipy()) @ _structural(rgt))
    struct.sort_indices()
    np.testing.assert_array_equal(np.asarray(pattern.indptr), struct.indptr)
    np.testing.assert_array_equal(np.asarray(pattern.cols), struct.indices)
    got = linalg.CSRMatrix(pattern, m(X.data)).to_scipy()
    expected = sps.csr_matrix(lft @ X.to_scipy() @ rgt)
    assert abs(got - expected).max() <= 1e-12 * abs(expected).max()


@pytest.mark.parametrize("smooth", ["default", None])
def test_coarse_operators_on_unstructured_mesh(smooth):
    kw = {} if smooth == "default" else {"smooth": None}
    amg = linalg.AMG.build(_disk_matrix(0), max_coarse=20, **kw)
    assert amg.num_levels >= 3
    assert_galerkin_hierarchy(amg, _disk_matrix(3))


@pytest.mark.parametrize("banded", [True, False])
def test_pattern_from_canonical_csr_matches_from_coo(banded):
    rng = np.random.default_rng(5)
    n = 60
    if banded:
        M = sps.diags([rng.normal(size=n - abs(k)) for k in (-3, -1, 0, 2)], [-3, -1, 0, 2])
    else:
        M = sps.random(n, n + 5, density=0.2, random_state=6)
    M = sps.csr_matrix(M)
    M.sort_indices()
    fast = SparsityPattern.from_scipy(M)
    coo = M.tocoo()
    slow, scatter = SparsityPattern.from_coo(coo.row, coo.col, M.shape)
    np.testing.assert_array_equal(scatter, np.arange(M.nnz))
    assert fast.dia_offsets == slow.dia_offsets
    assert (fast.dia_offsets is not None) == banded
    for a, b in [(fast.indptr, slow.indptr), (fast.rows, slow.rows), (fast.cols, slow.cols),
                 (fast.diag_index, slow.diag_index)]:
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    if banded:
        np.testing.assert_array_equal(np.asarray(fast.dia_index), np.asarray(slow.dia_index))
    x = jnp.asarray(rng.normal(size=M.shape[1]))
    y = linalg.CSRMatrix(fast, jnp.asarray(M.data)).matvec(x)
    np.testing.assert_allclose(np.asarray(y), M @ np.asarray(x), rtol=1e-13, atol=1e-13)


def test_hierarchy_matches_pyamg_smoothed_aggregation():
    """Own set-up vs pyamg's `smoothed_aggregation_solver` (independent reference): same
    aggregates level by level, the same prolongator pattern, values equal up to the
    spectral-radius estimate in the smoothing weight, and CG iterations no worse."""
    import pyamg

    A = _disk_matrix(0)
    amg = linalg.AMG.build(A, max_coarse=20)
    np.random.seed(0)
    ml = pyamg.smoothed_aggregation_solver(A, max_coarse=20, keep=False)
    assert amg.sizes() == [lev.A.shape[0] for lev in ml.levels]
    for ours, ref in zip(amg.prolongators(), (lev.P for lev in ml.levels[:-1])):
        ref = sps.csr_matrix(ref)
        assert (abs(_structural(ours) - _structural(ref)) > 0).nnz == 0
        assert abs(ours - ref).max() <= 0.05 * abs(ref).max()
    b = np.random.default_rng(2).standard_normal(A.shape[0])
    _, stats = linalg.solve_with_stats(linalg.CSRMatrix.from_scipy(A), jnp.asarray(b),
                                       linalg.CG(rtol=1e-8, preconditioner=amg))
    residuals = []
    ml.solve(b, tol=1e-8, accel="cg", residuals=residuals)
    assert bool(stats["converged"])
    assert int(stats["num_steps"]) <= 1.5 * (len(residuals) - 1) + 2


def test_spectral_radius_estimate_against_eigsh():
    from pdekit.solvers.linalg._amg import _spectral_radius_dinv

    A = _disk_matrix(1)
    s = sps.diags(1.0 / np.sqrt(A.diagonal()))
    exact = sps.linalg.eigsh(s @ A @ s, k=1, which="LA", return_eigenvectors=False)[0]
    assert 0.97 * exact <= _spectral_radius_dinv(A) <= exact * (1 + 1e-12)


@pytest.mark.parametrize("kw, match", [({"theta": 1.0}, "theta"), ({"smooth": "energy"}, "smooth"),
                                       ({"omega": 2.0}, "omega"),
                                       ({"max_coarse": 0}, "max_coarse")])
def test_build_rejects_bad_arguments(kw, match):
    with pytest.raises(ValueError, match=f"`{match}`"):
        linalg.AMG.build(_disk_matrix(0), **kw)
