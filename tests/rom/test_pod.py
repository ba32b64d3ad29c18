"""POD: exactness on low-rank data, the truncation convention, and agreement of the method
of snapshots, randomized and incremental POD with numpy's exact SVD."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pdekit import rom


def _matrix(n=120, S=40, decay=0.5, seed=0):
    """X = U diag(s) V^T with known singular values s_i = decay^i."""
    rng = np.random.default_rng(seed)
    U = np.linalg.qr(rng.standard_normal((n, S)))[0]
    V = np.linalg.qr(rng.standard_normal((S, S)))[0]
    s = decay ** np.arange(S)
    return U, s, V, (U * s) @ V.T


def _subspace_gap(A, B):
    """Largest principal-angle sine between the column spaces of orthonormal A and B."""
    return float(np.linalg.norm(A - B @ (B.T @ A), 2))


def test_low_rank_subspace_recovered(getkey):
    rng = np.random.default_rng(1)
    A = np.linalg.qr(rng.standard_normal((200, 5)))[0]
    X = A @ rng.standard_normal((5, 60))
    basis = rom.pod(jnp.asarray(X))
    assert basis.rank == 5  # the zero singular values are dropped
    assert _subspace_gap(A, np.asarray(basis.modes)) < 1e-12
    np.testing.assert_allclose(np.asarray(basis.modes.T @ basis.modes), np.eye(5), atol=1e-13)


@pytest.mark.parametrize("tol", [1e-1, 1e-3, 1e-6])
def test_energy_truncation_picks_the_rank(tol):
    _, s, _, X = _matrix()
    total = np.sum(s**2)
    # independent count: smallest r with sqrt(sum_{i>=r} s_i^2 / total) <= tol
    expected = next(r for r in range(s.size + 1) if np.sqrt(np.sum(s[r:] ** 2) / total) <= tol)
    basis = rom.pod(jnp.asarray(X), tol=tol)
    assert basis.rank == expected
    err = np.linalg.norm(X - basis.modes @ (basis.modes.T @ X)) / np.linalg.norm(X)
    assert err <= tol
    predicted = np.sqrt(np.sum(s[expected:] ** 2) / total)
    # the predicted error is the discarded energy (to the round-off of ||X||^2, 1e-16)
    np.testing.assert_allclose(float(basis.relative_error()), predicted, rtol=1e-6, atol=1e-15)
    np.testing.assert_allclose(err, predicted, rtol=1e-3)
    assert rom.pod(jnp.asarray(X), tol=tol, rank=2).rank == min(2, expected)


def test_method_of_snapshots_with_inner_product():
    _, s, _, X = _matrix(decay=0.7)
    rng = np.random.default_rng(2)
    B = rng.standard_normal((X.shape[0], X.shape[0]))
    W = B @ B.T / X.shape[0] + np.eye(X.shape[0])  # SPD inner product
    L = np.linalg.cholesky(W)
    s_ref = np.linalg.svd(L.T @ X, compute_uv=False)
    basis = rom.pod(jnp.asarray(X), product=jnp.asarray(W), rank=10)
    U = np.asarray(basis.modes)
    np.testing.assert_allclose(U.T @ W @ U, np.eye(10), atol=1e-12)
    np.testing.assert_allclose(np.asarray(basis.singular_values), s_ref[:10], rtol=1e-10)
    # W-projection error equals the discarded singular values
    E = X - U @ (U.T @ W @ X)
    err = np.sqrt(np.trace(E.T @ W @ E) / np.trace(X.T @ W @ X))
    np.testing.assert_allclose(err, float(basis.relative_error()), rtol=1e-6)


def test_randomized_agrees_with_exact_svd(getkey):
    U, s, _, X = _matrix(n=300, S=80, decay=0.6)
    basis = rom.randomized_pod(jnp.asarray(X), 10, key=getkey())
    # stated tolerance: 1e-10 relative on the leading values at this decay (0.6^11 tail)
    np.testing.assert_allclose(np.asarray(basis.singular_values), s[:10], rtol=1e-10)
    assert _subspace_gap(U[:, :10], np.asarray(basis.modes)) < 1e-8


@pytest.mark.parametrize(("method", "backend"), [("gram", "numpy"), ("svd", "numpy"),
                                                 ("gram", "jax")])
def test_incremental_agrees_with_exact_svd(method, backend):
    U, s, _, X = _matrix(n=150, S=60, decay=0.6)
    inc = rom.IncrementalPOD(tol=1e-9, method=method, backend=backend)
    for j in range(0, 60, 15):
        inc.update(jnp.asarray(X[:, j:j + 15]))
    basis = inc.result(tol=1e-6)
    exact = rom.pod(jnp.asarray(X), tol=1e-6)
    assert basis.rank == exact.rank
    got = np.asarray(basis.singular_values)
    # stated accuracy: "svd" to ~eps sigma_1; "gram" (a Gram matrix: eigenvalues to
    # eps sigma_1^2) loses (sigma_1 / sigma_i)^2 eps relative on sigma_i
    eps = np.finfo(np.float64).eps
    ref = s[: basis.rank]
    rtol = 1e-8 + (0.0 if method == "svd" else 100 * eps * (s[0] / ref) ** 2)
    assert np.all(np.abs(got - ref) <= rtol * ref), np.max(np.abs(got - ref) / ref)
    modes = np.asarray(basis.modes)
    np.testing.assert_allclose(modes.T @ modes, np.eye(basis.rank), atol=1e-12)
    err = np.linalg.norm(X - modes @ (modes.T @ X)) / np.linalg.norm(X)
    assert err <= 1e-6
    np.testing.assert_allclose(inc.total_energy, np.sum(X**2), rtol=1e-12)


def _same_up_to_sign(A, B, atol):
    A, B = np.asarray(A), np.asarray(B)
    signs = np.sign(np.sum(A * B, axis=0))
    np.testing.assert_allclose(A * signs, B, atol=atol)


def test_numpy_and_jax_backends_agree():
    """Host (numpy/scipy BLAS) and XLA paths: equal modes up to sign, equal values; every
    method Euclidean, the method of snapshots also with a sparse product."""
    import scipy.sparse as sps

    from pdekit.solvers import linalg

    _, _, _, X = _matrix(n=60, S=20, decay=0.7)
    n = X.shape[0]
    W = linalg.CSRMatrix.from_scipy(sps.diags([np.full(n - 1, -0.3), np.full(n, 2.0),
                                               np.full(n - 1, -0.3)], [-1, 0, 1]).tocsr())
    fns = [lambda b: rom.pod_snapshots(X, rank=8, backend=b),
           lambda b: rom.pod_snapshots(X, rank=8, product=W, backend=b),  # FEM-like product
           lambda b: rom.pod(X, rank=8, backend=b),  # thin SVD
           lambda b: rom.randomized_pod(X, 8, key=jax.random.key(0), backend=b)]
    for fn in fns:
        a, b = fn("numpy"), fn("jax")
        assert isinstance(a.modes, jax.Array)
        np.testing.assert_allclose(np.asarray(a.singular_values), np.asarray(b.singular_values),
                                   rtol=1e-10)
        _same_up_to_sign(a.modes, b.modes, 1e-8)
        np.testing.assert_allclose(float(a.total_energy), float(b.total_energy), rtol=1e-12)
    for method in ("gram", "svd"):
        res = []
        for backend in ("numpy", "jax"):
            inc = rom.IncrementalPOD(tol=1e-8, method=method, backend=backend)
            inc.update(X[:, :10]).update(X[:, 10:])
            res.append(inc.result(rank=8))
        np.testing.assert_allclose(np.asarray(res[0].singular_values),
                                   np.asarray(res[1].singular_values), rtol=1e-9)
        _same_up_to_sign(res[0].modes, res[1].modes, 1e-7)
    # "auto": numpy input and a CPU JAX array both take the host path, same result
    a = rom.pod_snapshots(X, rank=8, product=W)
    _same_up_to_sign(a.modes, rom.pod_snapshots(jnp.asarray(X), rank=8, product=W).modes, 1e-8)
    with pytest.raises(ValueError, match="backend"):
        rom.pod(X, backend="cuda")


def test_bad_input_is_rejected():
    X = np.ones((10, 4))
    with pytest.raises(ValueError, match="snapshots"):
        rom.pod(np.where(np.eye(10, 4) > 0, np.nan, X))
    with pytest.raises(ValueError, match="tol"):
        rom.pod(X, tol=1.5)
    with pytest.raises(ValueError, match="rank"):
        rom.pod(X, rank=0)
    with pytest.raises(ValueError, match=r"\(n, S\)"):
        rom.pod(np.ones(5))
    with pytest.raises(ValueError, match="rank"):
        rom.randomized_pod(X, None, key=jax.random.key(0))
    for backend in ("numpy", "jax"):  # the cheap finiteness check still names the argument
        with pytest.raises(ValueError, match="snapshots.*4 non-finite"):
            rom.pod_snapshots(np.where(np.eye(10, 4) > 0, np.inf, X), backend=backend)
        with pytest.raises(ValueError, match="batch"):
            rom.IncrementalPOD(backend=backend).update(np.full((10, 2), np.nan))


def test_float32_smoke(float32):
    _, s, _, X = _matrix(S=20)
    basis = rom.pod(jnp.asarray(X, jnp.float32), rank=5)
    assert basis.modes.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(basis.singular_values), s[:5], rtol=1e-5)
    basis = rom.pod_snapshots(jnp.asarray(X, jnp.float32), rank=5)
    np.testing.assert_allclose(np.asarray(basis.singular_values), s[:5], rtol=1e-3)
    for backend in ("numpy", "jax"):  # float64 numpy input computes in float32 here
        basis = rom.pod_snapshots(X, rank=5, backend=backend)
        assert basis.modes.dtype == jnp.float32
        np.testing.assert_allclose(np.asarray(basis.singular_values), s[:5], rtol=1e-3)
        inc = rom.IncrementalPOD(backend=backend).update(X[:, :10]).update(X[:, 10:])
        assert inc.result(rank=5).modes.dtype == jnp.float32
