"""Dissimilarities and Grassmann distances against scipy references."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg
import scipy.sparse as sps
from scipy.spatial.distance import cdist

from pdekit import rom
from pdekit.solvers import fem, linalg


def _spd(rng, n):
    A = rng.standard_normal((n, n))
    return A @ A.T / n + np.eye(n)


@pytest.fixture
def snaps():
    rng = np.random.default_rng(1)
    return rng.standard_normal((23, 12)), rng.standard_normal((9, 12)), rng


def _references(x, y, L):
    # W = L L^T: ||u||_W = ||L^T u||, so map rows to L^T u and use scipy's cdist
    xs, ys = x @ L, y @ L
    euc = cdist(xs, ys)
    cos = 1 - cdist(xs, ys, "cosine")
    return euc, np.sqrt(np.clip(1 - cos**2, 0, 1)), 1 - np.abs(cos)


def _weights(kind, rng, n):
    """The inner-product matrix `W` (numpy, for the Cholesky reference) and what pdekit is
    given for it: None (identity), the diagonal, a dense array or a CSRMatrix."""
    if kind == "identity":
        return np.eye(n), None
    if kind == "diagonal":
        w = rng.random(n) + 0.5
        return np.diag(w), jnp.asarray(w)
    W = _spd(rng, n)
    W[np.abs(W) < 0.3] = 0  # sparse, kept SPD by the diagonal shift
    W = 0.5 * (W + W.T) + n * np.eye(n)
    return W, (jnp.asarray(W) if kind == "dense"
               else linalg.CSRMatrix.from_scipy(sps.csr_matrix(W)))


@pytest.mark.parametrize("kind", ["identity", "diagonal", "dense", "csr"])
def test_pairwise_matches_cdist(snaps, kind):
    x, y, rng = snaps
    W, weights = _weights(kind, rng, x.shape[1])
    L = np.linalg.cholesky(W)
    refs = _references(x, y, L)
    for cls, ref in zip([rom.Euclidean, rom.Sine, rom.OneMinusCos], refs):
        d = cls(weights)
        D = np.asarray(rom.pairwise(d, jnp.asarray(x), jnp.asarray(y), tile_size=4,
                                    backend="jax"))
        np.testing.assert_allclose(D, ref, atol=1e-7, err_msg=cls.__name__)
        if kind == "dense":  # one accurate pair
                np.testing.assert_allclose(float(d(jnp.asarray(x[3]), jnp.asarray(y[5]))),
                                       ref[3, 5], rtol=1e-10)


def test_tiled_equals_untiled_and_symmetric(snaps):
    x, _, _ = snaps
    x = jnp.asarray(x)
    D1 = rom.pairwise(rom.Sine(), x, tile_size=5)
    D2 = rom.pairwise(rom.Sine(), x, tile_size=10_000)
    np.testing.assert_allclose(np.asarray(D1), np.asarray(D2), rtol=0, atol=1e-14)
    assert np.all(np.diag(np.asarray(D1)) == 0)
    np.testing.assert_array_equal(np.asarray(D1), np.asarray(D1).T)


def test_angle_is_scale_and_sign_invariant(snaps):
    x, y, _ = snaps
    a = jnp.asarray(x)
    scaled = a * jnp.asarray(np.linspace(-50, 50, x.shape[0]) + 0.3)[:, None]
    for d in [rom.Sine(), rom.OneMinusCos()]:
        assert d.scale_invariant
        np.testing.assert_allclose(np.asarray(rom.pairwise(d, scaled)),
                                   np.asarray(rom.pairwise(d, a)), atol=1e-7)
    assert not rom.Euclidean().scale_invariant


def test_sine_single_pair_small_angle_accurate():
    u = jnp.asarray(np.ones(50))
    v = u + 1e-9 * jnp.asarray(np.sin(np.arange(50.0)))
    ref = 1e-9 * np.linalg.norm(np.sin(np.arange(50.0)) - np.mean(np.sin(np.arange(50.0))))
    ref /= np.linalg.norm(np.ones(50))
    assert abs(float(rom.Sine()(v, u)) - ref) < 1e-6 * ref


def test_fem_mass_inner_product_is_l2():
    # the sine in the FEM mass inner product equals the one from L2 inner products of fields
    space = fem.FunctionSpace(fem.unit_square_mesh(6), fem.P1())
    M = fem.assemble_mass(space)
    u = space.interpolate(lambda x: jnp.sin(np.pi * x[0]) * x[1])
    v = space.interpolate(lambda x: x[0] * x[1] + 0.1)
    Md = np.asarray(M.todense())
    uv, uu, vv = (np.asarray(a) @ Md @ np.asarray(b) for a, b in [(u, v), (u, u), (v, v)])
    ref = np.sqrt(1 - uv**2 / (uu * vv))
    D = rom.pairwise(rom.Sine(M), jnp.stack([u, v]))
    np.testing.assert_allclose(float(D[0, 1]), ref, rtol=1e-8)


def test_zero_snapshot_is_maximally_dissimilar():
    x = jnp.asarray(np.array([[0.0, 0.0], [1.0, 0.0]]))
    D = np.asarray(rom.pairwise(rom.Sine(), x))
    assert np.all(np.isfinite(D)) and D[0, 1] == 1.0


def _orth(rng, n, p):
    return np.linalg.qr(rng.standard_normal((n, p)))[0]


@pytest.mark.parametrize("pq", [(3, 3), (4, 2)])
def test_principal_angles_match_scipy(pq):
    rng = np.random.default_rng(2)
    U, V = _orth(rng, 30, pq[0]), _orth(rng, 30, pq[1])
    theta = np.asarray(rom.principal_angles(jnp.asarray(U), jnp.asarray(V)))
    ref = np.sort(scipy.linalg.subspace_angles(U, V))
    np.testing.assert_allclose(theta, ref, atol=1e-12)
    ref_d = {"geodesic": np.linalg.norm(ref), "chordal": np.linalg.norm(np.sin(ref)),
             "projection": np.sin(ref).max(), "asimov": ref.max(),
             "binet_cauchy": np.sqrt(1 - np.prod(np.cos(ref) ** 2)),
             "fubini_study": np.arccos(np.prod(np.cos(ref))),
             "martin": np.sqrt(-2 * np.sum(np.log(np.cos(ref)))),
             "procrustes": 2 * np.linalg.norm(np.sin(ref / 2))}
    assert set(ref_d) == set(rom.GRASSMANN_DISTANCES)
    for kind, val in ref_d.items():
        got = float(rom.grassmann_distance(jnp.asarray(U), jnp.asarray(V), kind))
        np.testing.assert_allclose(got, val, rtol=1e-10, err_msg=kind)


def test_principal_angles_small_angle_and_weighted():
    rng = np.random.default_rng(3)
    U = _orth(rng, 40, 3)
    V = np.linalg.qr(U + 1e-9 * rng.standard_normal((40, 3)))[0]
    theta = np.asarray(rom.principal_angles(jnp.asarray(U), jnp.asarray(V)))
    ref = np.sort(scipy.linalg.subspace_angles(U, V))
    np.testing.assert_allclose(theta, ref, rtol=1e-5)  # arccos alone would give ~1e-8 noise
    assert 0 < theta.min()
    # W-orthonormal bases: angles equal those of L^T U, L^T V in the Euclidean product
    W = _spd(rng, 40)
    L = np.linalg.cholesky(W)
    A, B = (np.linalg.solve(L.T, _orth(rng, 40, 3)) for _ in range(2))
    got = np.asarray(rom.principal_angles(jnp.asarray(A), jnp.asarray(B), inner=jnp.asarray(W)))
    np.testing.assert_allclose(got, np.sort(scipy.linalg.subspace_angles(L.T @ A, L.T @ B)),
                               atol=1e-10)


def test_grassmann_pairwise_vmapped_matches_loop():
    rng = np.random.default_rng(4)
    bases = jnp.asarray(np.stack([_orth(rng, 20, 2) for _ in range(5)]))
    D = np.asarray(rom.grassmann_pairwise(bases, "chordal"))
    for i in range(5):
        for j in range(5):
            ref = 0.0 if i == j else float(rom.grassmann_distance(bases[i], bases[j], "chordal"))
            assert abs(D[i, j] - ref) < 1e-12


def test_jit_and_float32(float32):
    x = jnp.asarray(np.random.default_rng(0).standard_normal((20, 8)), jnp.float32)
    D = rom.pairwise(rom.Sine(), x, tile_size=7)
    assert D.dtype == jnp.float32
    D64 = cdist(np.asarray(x, np.float64), np.asarray(x, np.float64), "cosine")
    ref = np.sqrt(np.clip(1 - (1 - D64) ** 2, 0, 1))
    np.fill_diagonal(ref, 0)
    np.testing.assert_allclose(np.asarray(D), ref, atol=2e-3)
    f = jax.jit(lambda u, v: rom.Sine()(u, v))
    assert f(x[0], x[1]).dtype == jnp.float32


def test_bad_input():
    x = jnp.ones((4, 3))
    with pytest.raises(ValueError, match="`x`"):
        rom.pairwise(rom.Sine(), jnp.ones(3))
    with pytest.raises(ValueError, match="tile_size"):
        rom.pairwise(rom.Sine(), x, tile_size=0)
    with pytest.raises(ValueError, match="same DOFs"):
        rom.pairwise(rom.Sine(), x, jnp.ones((2, 4)))
    with pytest.raises(ValueError, match="inner product acts on 5"):
        rom.pairwise(rom.Sine(jnp.ones(5)), x)
    with pytest.raises(ValueError, match="weights"):
        rom.InnerProduct(-jnp.ones(3))
    with pytest.raises(ValueError, match="symmetric"):
        rom.InnerProduct(jnp.asarray(np.triu(np.ones((3, 3)))))
    with pytest.raises(ValueError, match="dissimilarity"):
        rom.pairwise("angle", x)
    with pytest.raises(ValueError, match="kind"):
        rom.grassmann_distance(jnp.eye(3)[:, :1], jnp.eye(3)[:, 1:2], "nope")


@pytest.mark.parametrize("kind", ["identity", "diagonal", "dense", "csr"])
def test_numpy_backend_matches_cdist(snaps, kind):
    # the host (BLAS) path against the same independent reference as the JAX path above
    x, y, rng = snaps
    W, weights = _weights(kind, rng, x.shape[1])
    L = np.linalg.cholesky(W)
    for yy in (y, None):
        refs = _references(x, x if yy is None else yy, L)
        for cls, ref in zip([rom.Euclidean, rom.Sine, rom.OneMinusCos], refs):
            D = rom.pairwise(cls(weights), x, yy, tile_size=4, backend="numpy")
            assert isinstance(D, jax.Array) and D.dtype == jnp.float64
            D = np.asarray(D)
            if yy is None:  # exactly symmetric, zero diagonal (cdist's is ~1e-8)
                np.fill_diagonal(ref, 0)
                np.testing.assert_array_equal(D, D.T)
                assert np.all(np.diag(D) == 0)
            np.testing.assert_allclose(D, ref, atol=1e-7, err_msg=cls.__name__)


def test_backends_agree_and_auto():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((19, 7))
    d = rom.Sine(jnp.asarray(rng.random(7) + 0.5))
    Dh = rom.pairwise(d, x, backend="numpy")
    Dj = rom.pairwise(d, jnp.asarray(x), tile_size=4, backend="jax")
    np.testing.assert_allclose(np.asarray(Dh), np.asarray(Dj), rtol=0, atol=1e-13)
    # "auto": the host path for a numpy input, the JAX one under jit
    np.testing.assert_array_equal(np.asarray(rom.pairwise(d, x)), np.asarray(Dh))
    Dt = jax.jit(lambda a: rom.pairwise(d, a, tile_size=4))(jnp.asarray(x))
    np.testing.assert_allclose(np.asarray(Dt), np.asarray(Dh), rtol=0, atol=1e-13)


def test_numpy_backend_float32_and_bad_backend(float32):
    x = np.random.default_rng(2).standard_normal((15, 6))
    D = rom.pairwise(rom.Sine(), x.astype(np.float32), backend="numpy")
    assert D.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(D), np.asarray(rom.pairwise(
        rom.Sine(), jnp.asarray(x, jnp.float32), backend="jax")), atol=1e-5)
    with pytest.raises(ValueError, match="backend"):
        rom.pairwise(rom.Sine(), x, backend="blas")
