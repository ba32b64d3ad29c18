"""k-medoids / k-means, and the issue's synthetic-subspace check: angle-based k-medoids
recovers K known subspaces from amplitude-scrambled data where Euclidean clustering fails."""

import itertools

import jax.numpy as jnp
import numpy as np
import pytest
from scipy.cluster.vq import kmeans2

from pdekit import rom


def _subspace_data(seed=0, K=4, r=2, dofs=80, per=30):
    """Snapshots in K random r-dim subspaces: a cone of half-angle 30 deg inside each,
    amplitudes log-uniform over [0.02, 50] and random signs (the amplitude, not the
    subspace, dominates Euclidean distances)."""
    rng = np.random.default_rng(seed)
    bases = [np.linalg.qr(rng.standard_normal((dofs, r)))[0] for _ in range(K)]
    x, labels = [], []
    for k, B in enumerate(bases):
        phi = rng.uniform(-np.pi / 6, np.pi / 6, per)
        g = np.stack([np.cos(phi), np.sin(phi)] + [np.zeros(per)] * (r - 2), axis=1)
        amp = np.exp(rng.uniform(np.log(0.02), np.log(50), per)) * rng.choice([-1, 1], per)
        x.append((g @ B.T) * amp[:, None])
        labels += [k] * per
    perm = rng.permutation(K * per)
    return np.concatenate(x)[perm], np.asarray(labels)[perm]


def _accuracy(labels, truth, K):
    """Fraction of correctly clustered snapshots under the best matching of labels."""
    best = 0.0
    for p in itertools.permutations(range(K)):
        best = max(best, float(np.mean(np.asarray(p)[labels] == truth)))
    return best


def test_angle_kmedoids_recovers_subspaces_euclidean_fails():
    x, truth = _subspace_data()
    K = 4
    xj = jnp.asarray(x)
    for d in [rom.Sine(), rom.OneMinusCos()]:
        res = rom.kmedoids(rom.pairwise(d, xj), K, seed=0)
        assert _accuracy(res.labels, truth, K) == 1.0, type(d).__name__
    euc = rom.kmedoids(rom.pairwise(rom.Euclidean(), xj), K, seed=0)
    km = rom.kmeans(xj, K, seed=0)
    acc_e, acc_k = _accuracy(euc.labels, truth, K), _accuracy(km.labels, truth, K)
    assert acc_e < 0.8 and acc_k < 0.8, (acc_e, acc_k)
    # amplitude-driven: the Euclidean cluster of the medoid nearest 0 holds the small snapshots
    norms = np.linalg.norm(x, axis=1)
    small = euc.labels[np.argmin(norms)]
    assert np.median(norms[euc.labels == small]) < np.median(norms)


def test_kmedoids_matches_brute_force_and_is_deterministic():
    rng = np.random.default_rng(5)
    pts = rng.standard_normal((11, 3))
    D = np.linalg.norm(pts[:, None] - pts[None], axis=-1)
    best = min(D[:, list(m)].min(axis=1).sum() for m in itertools.combinations(range(11), 3))
    res = rom.kmedoids(jnp.asarray(D), 3, seed=1, n_init=4)
    assert abs(res.loss - best) < 1e-12
    assert abs(D[:, res.medoids].min(axis=1).sum() - res.loss) < 1e-12
    # labels: each point's nearest medoid; canonical order (cluster 0 holds snapshot 0)
    np.testing.assert_array_equal(res.labels, np.argmin(D[:, res.medoids], axis=1))
    assert res.labels[0] == 0 and res.sizes().sum() == 11
    again = rom.kmedoids(D, 3, seed=1, n_init=4)
    np.testing.assert_array_equal(again.labels, res.labels)
    np.testing.assert_array_equal(again.medoids, res.medoids)


def test_kmeans_against_scipy_and_weighted():
    rng = np.random.default_rng(6)
    centres = rng.standard_normal((3, 5)) * 6
    x = np.concatenate([c + rng.standard_normal((40, 5)) for c in centres])
    res = rom.kmeans(jnp.asarray(x), 3, seed=0)
    _, lab = kmeans2(x, 3, minit="++", seed=0)
    truth = np.repeat(np.arange(3), 40)
    assert _accuracy(res.labels, truth, 3) == 1.0 and _accuracy(lab, truth, 3) == 1.0
    sse = sum(np.sum((x[res.labels == k] - x[res.labels == k].mean(0)) ** 2) for k in range(3))
    assert abs(res.loss - sse) < 1e-8 * sse
    np.testing.assert_allclose(res.centers, [x[res.labels == k].mean(0) for k in range(3)])
    # a diagonal inner product equals Euclidean k-means of the rescaled data
    w = rng.random(5) + 0.5
    rw = rom.kmeans(jnp.asarray(x), 3, inner=jnp.asarray(w), seed=0)
    rs = rom.kmeans(jnp.asarray(x * np.sqrt(w)), 3, seed=0)
    np.testing.assert_array_equal(rw.labels, rs.labels)


def test_float32_smoke(float32):
    x, truth = _subspace_data(seed=1, K=2, per=10, dofs=20)
    xj = jnp.asarray(x, jnp.float32)
    res = rom.kmedoids(rom.pairwise(rom.Sine(), xj), 2)
    assert _accuracy(res.labels, truth, 2) == 1.0
    assert rom.kmeans(xj, 2).centers.dtype == np.float32


def test_bad_input():
    D = np.zeros((3, 3))
    with pytest.raises(ValueError, match="`k`"):
        rom.kmedoids(D, 4)
    with pytest.raises(ValueError, match="`k`"):
        rom.kmedoids(D, 0)
    with pytest.raises(ValueError, match="square"):
        rom.kmedoids(np.zeros((3, 2)), 1)
    with pytest.raises(ValueError, match="non-finite"):
        rom.kmedoids(np.full((2, 2), np.nan), 1)
    with pytest.raises(ValueError, match=">= 0"):
        rom.kmedoids(-np.ones((2, 2)), 1)
    with pytest.raises(ValueError, match="`x`"):
        rom.kmeans(jnp.ones(3), 1)
    with pytest.raises(ValueError, match="n_init"):
        rom.kmeans(jnp.ones((3, 2)), 1, n_init=0)


def _blobs(seed=7, k=5, dofs=12, per=40, spread=1.0):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((k, dofs)) * 3
    return np.concatenate([c + spread * rng.standard_normal((per, dofs)) for c in centres])


def test_kmeans_numpy_and_jax_backends_agree():
    x = _blobs()
    w = np.random.default_rng(8).random(x.shape[1]) + 0.5
    for inner in [jnp.asarray(w)]:  # weighted: covers both inner-product paths
        rh = rom.kmeans(x, 5, inner=inner, seed=3, backend="numpy")
        rj = rom.kmeans(jnp.asarray(x), 5, inner=inner, seed=3, backend="jax")
        np.testing.assert_array_equal(rh.labels, rj.labels)
        np.testing.assert_allclose(rh.centers, rj.centers, rtol=1e-12, atol=1e-12)
        assert abs(rh.loss - rj.loss) <= 1e-10 * rh.loss and rh.n_iter == rj.n_iter


def test_kmeans_fixed_point_and_quality_vs_scipy():
    # overlapping blobs: tol=0 runs Lloyd to its fixed point (labels = nearest centre,
    # centres = cluster means), and greedy k-means++ with 4 restarts is at least as good as
    # the best of 4 scipy kmeans2 (plain k-means++) runs
    x = _blobs(seed=9, k=6, dofs=8, per=30, spread=2.5)
    res = rom.kmeans(x, 6, seed=0, tol=0.0)
    d = ((x[:, None, :] - res.centers[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(res.labels, np.argmin(d, axis=1))
    np.testing.assert_allclose(res.centers, [x[res.labels == j].mean(0) for j in range(6)],
                               atol=1e-12)
    assert abs(res.loss - d.min(axis=1).sum()) < 1e-9 * res.loss
    sp = []
    for s in range(4):
        c, lab = kmeans2(x, 6, minit="++", seed=s, iter=300)
        sp.append(((x - c[lab]) ** 2).sum())
    assert res.loss <= min(sp) * (1 + 1e-9), (res.loss, sp)
    # one pass: the labels are still those of the returned centres (a final reassignment)
    r1 = rom.kmeans(x, 6, seed=0, max_iter=1)
    d1 = ((x[:, None, :] - r1.centers[None]) ** 2).sum(-1)
    assert r1.n_iter == 1
    np.testing.assert_array_equal(r1.labels, np.argmin(d1, axis=1))
    with pytest.raises(ValueError, match="backend"):
        rom.kmeans(x, 2, backend="gpu")
