"""The a-priori efficiency criterion: it finds the number of subspaces in synthetic data, and
on the moving-source problem its K is within one of the empirical optimum (held-out data)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pdekit import rom

# local bases are built on the POD of ROM I (issue #12)
pytest.importorskip("pdekit.rom._pod")


def _subspaces(seed=0, K=3, r=2, dofs=40, per=16):
    rng = np.random.default_rng(seed)
    x = []
    for _ in range(K):
        B = np.linalg.qr(rng.standard_normal((dofs, r)))[0]
        # directions in a 60-degree cone of the plane (so that angles separate the planes),
        # amplitudes over three decades
        phi = rng.uniform(-np.pi / 6, np.pi / 6, per)
        amp = np.exp(rng.uniform(-3, 3, per))[:, None]
        x.append(amp * (np.stack([np.cos(phi), np.sin(phi)], 1) @ B.T))
    return np.concatenate(x)


def test_criterion_finds_the_number_of_subspaces():
    x = jnp.asarray(_subspaces())
    cr = rom.efficiency_criterion(x, [2, 3, 4, 5], basis_size=2, max_size=6, folds=4)
    assert cr.best_K == 3 and cr.pays_off, cr.summary()
    i3 = list(cr.Ks).index(3)
    assert cr.cv_error[i3, 2] < 1e-6 < cr.cv_error[0, 2]     # K = 3 exact, global not
    # error curves start at 1 (no modes) and do not increase with n
    np.testing.assert_allclose(cr.cv_error[:, 0], 1.0)
    assert np.all(np.diff(cr.cv_error, axis=1) <= 1e-12)
    # the in-sample tail (N-width proxy) keeps falling with K: it cannot pick K by itself
    assert cr.in_sample_tail[-1, 2] <= cr.in_sample_tail[list(cr.Ks).index(3), 2] + 1e-7
    # efficiency at equal accuracy: the global basis needs 6 modes, K = 3 needs 2
    eta = cr.efficiency(1e-6)
    assert cr.size_for(1e-6)[i3] == 2 and cr.size_for(1e-6)[0] == 6
    assert eta[i3] == pytest.approx((6 / 2) ** 3)
    assert "best" in cr.summary()


def test_bad_input():
    x = jnp.ones((6, 3))
    with pytest.raises(ValueError, match="basis_size"):
        rom.efficiency_criterion(x, [2], basis_size=0)
    with pytest.raises(ValueError, match="Ks"):
        rom.efficiency_criterion(x, [7], basis_size=1)
    with pytest.raises(ValueError, match="folds"):
        rom.efficiency_criterion(x, [2], basis_size=1, folds=1)
    with pytest.raises(ValueError, match="`D`"):
        rom.efficiency_criterion(x, [2], basis_size=1, D=np.zeros((2, 2)))


@pytest.mark.slow
def test_criterion_within_one_of_empirical_optimum_moving_source():
    # small training budget (60 snapshots) and n = 8: too many clusters starve each local
    # basis, so the held-out error has an interior minimum in K
    p = rom.MovingSource(12)
    X = p.solve(p.sample(jax.random.key(0), 60))
    Y = p.solve(p.sample(jax.random.key(1), 300))
    d = rom.Sine(p.mass)
    D = rom.pairwise(d, X)
    Ks = list(range(1, 12))
    cr = rom.efficiency_criterion(X, Ks, basis_size=8, dissimilarity=d, D=D, folds=10)
    empirical = []
    for K in Ks:
        lb = rom.local_bases(X, cr.labels[K], rank=8, dissimilarity=d)
        empirical.append(float(jnp.mean(lb.errors_assigned(Y, lb.route_nearest(Y)))))
    k_emp = Ks[int(np.argmin(empirical))]
    assert 1 < k_emp < Ks[-1], empirical            # an interior optimum exists
    assert abs(cr.best_K - k_emp) <= 1, (cr.summary(), empirical)
    assert cr.pays_off
