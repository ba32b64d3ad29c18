"""Spectral clustering of a precomputed dissimilarity: recovers the synthetic subspaces
from the sine matrix, separates two long parallel chains that k-medoids cuts across, and
rejects bad matrices by name."""

import jax.numpy as jnp
import numpy as np
import pytest

from pdekit import rom
from tests.rom.test_clustering import _accuracy, _subspace_data


def test_spectral_recovers_subspaces_from_sine_matrix():
    x, truth = _subspace_data()
    D = rom.pairwise(rom.Sine(), jnp.asarray(x))
    res = rom.spectral_clustering(D, 4, seed=0)
    assert _accuracy(res.labels, truth, 4) == 1.0
    Dn = np.asarray(D)
    for j, m in enumerate(res.medoids):  # each medoid: its cluster's smallest summed D
        members = np.nonzero(res.labels == j)[0]
        assert res.labels[m] == j
        assert Dn[m, members].sum() <= Dn[np.ix_(members, members)].sum(axis=1).min() + 1e-12
    again = rom.spectral_clustering(D, 4, seed=0)
    np.testing.assert_array_equal(again.labels, res.labels)
    assert res.labels[0] == 0  # canonical order, as k-medoids


def test_spectral_follows_chains_kmedoids_cuts_them():
    t = np.linspace(0, 10, 40)
    pts = np.concatenate([np.stack([t, 0 * t], 1), np.stack([t, 0 * t + 2.0], 1)])
    truth = np.repeat([0, 1], 40)
    D = jnp.asarray(np.linalg.norm(pts[:, None] - pts[None], axis=-1))
    assert _accuracy(rom.spectral_clustering(D, 2, n_neighbors=3).labels, truth, 2) == 1.0
    assert _accuracy(rom.kmedoids(D, 2, seed=0).labels, truth, 2) < 0.8


def test_spectral_bad_input():
    D = np.abs(np.random.default_rng(0).standard_normal((6, 6)))
    with pytest.raises(ValueError, match="symmetric"):
        rom.spectral_clustering(D, 2)
    D = D + D.T
    with pytest.raises(ValueError, match="`k`"):
        rom.spectral_clustering(D, 7)
    with pytest.raises(ValueError, match="n_neighbors"):
        rom.spectral_clustering(D, 2, n_neighbors=6)
    with pytest.raises(ValueError, match="square"):
        rom.spectral_clustering(D[:3], 2)
