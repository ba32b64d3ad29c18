"""Non-intrusive POD-RBF: the RBF part equals scipy's RBFInterpolator, and a model fitted
from a snapshot *file* alone reproduces held-out thermal-block solutions."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.interpolate import RBFInterpolator

from pdekit import rom
from pdekit.data import Snapshots


@pytest.mark.parametrize("kernel", ["thin_plate_spline", "cubic"])
def test_rbf_matches_scipy(kernel):
    rng = np.random.default_rng(0)
    mu = rng.uniform(0, 1, (30, 2))
    X = np.stack([np.sin(3 * mu[:, 0] + k) * np.cos(2 * mu[:, 1] - k) for k in range(12)])
    model = rom.NonIntrusiveROM.fit(jnp.asarray(X), mu, rank=12, mu_min=(0, 0),
                                    mu_max=(1, 1), kernel=kernel)
    # scipy on the same training coefficients (the box is the unit square: no rescaling)
    c_train = np.asarray(model.modes.T @ X).T
    ref = RBFInterpolator(mu, c_train, kernel=kernel, degree=1)
    new = rng.uniform(0, 1, (7, 2))
    ours = np.asarray(jax.vmap(model.coefficients)(jnp.asarray(new)))
    np.testing.assert_allclose(ours, ref(new), rtol=1e-8, atol=1e-10)
    # interpolation: exact at the training parameters
    np.testing.assert_allclose(np.asarray(jax.vmap(model)(jnp.asarray(mu))).T, X, atol=1e-8)


def test_fit_from_snapshot_file(tmp_path):
    problem = rom.thermal_block(10, (2, 1))
    space = rom.thermal_block_space(10)
    train = problem.grid(9)
    snaps = rom.solve_snapshots(problem, train, mesh=space.mesh)
    path = snaps.save(tmp_path / "snaps.h5")
    loaded = Snapshots.load(path, mesh=space.mesh)  # mesh checked
    model = rom.NonIntrusiveROM.fit(loaded, None, tol=1e-6, mu_min=problem.mu_min,
                                    mu_max=problem.mu_max)
    test = problem.sample(jax.random.key(4), 10)
    U = problem.to_full(jax.vmap(problem.solve)(test))
    approx = jax.vmap(model)(test)
    rel = jnp.linalg.norm(U - approx, axis=1) / jnp.linalg.norm(U, axis=1)
    # interpolation error of the 1/mu dependence on a 9x9 grid (RBF = scipy, tested above)
    assert float(jnp.max(rel)) < 6e-2 and float(jnp.median(rel)) < 1e-2, rel
    with pytest.raises(ValueError, match="outside the parameter box"):
        model.check_params(np.asarray([0.0, 0.5]))
    with pytest.raises(ValueError, match="kernel"):
        rom.NonIntrusiveROM.fit(loaded, None, kernel="sinc")
    with pytest.raises(ValueError, match="params"):
        rom.NonIntrusiveROM.fit(loaded.matrix(), np.ones((3, 2)))


def _smooth_family():
    """u(x; mu) = exp(-mu_0 x) (1 + mu_1 sin(pi x)) on 200 points: smooth in mu."""
    x = np.linspace(0, 1, 200)

    def field(mu):
        return np.exp(-mu[0] * x) * (1 + mu[1] * np.sin(np.pi * x))

    axes = np.meshgrid(np.linspace(0.5, 2, 8), np.linspace(0, 1, 8), indexing="ij")
    train = np.stack(axes, -1).reshape(-1, 2)
    test = np.random.default_rng(0).uniform([0.5, 0], [2, 1], (50, 2))
    return (np.stack([field(m) for m in train], 1), train,
            np.stack([field(m) for m in test]), test)


def test_pod_mlp_through_training_fit(tmp_path):
    """POD + MLP (pdekit.training.fit) on an 8x8 grid of a smooth 2-parameter family:
    stated accuracy max relative L2 error < 1e-2 on 50 random test parameters (the POD
    floor at tol 1e-6 is 1e-6; the RBF reaches ~2e-3 here); saved and loaded bit-identical."""
    X, train, U, test = _smooth_family()
    val = (U[:10].T, test[:10])
    model, history = rom.NonIntrusiveMLP.fit(X, train, tol=1e-6, mu_min=(0.5, 0),
                                             mu_max=(2, 1), hidden=(32, 32), epochs=1000,
                                             validation=val)
    assert history["train_loss"][-1] < history["train_loss"][0] / 10
    assert np.isfinite(history["validation_rel_l2"][-1])
    approx = np.asarray(jax.vmap(model)(jnp.asarray(test)))
    rel = np.linalg.norm(approx - U, axis=1) / np.linalg.norm(U, axis=1)
    assert rel.max() < 1e-2 and np.median(rel) < 3e-3, (rel.max(), np.median(rel))
    path = rom.save_rom(tmp_path / "mlp.h5", model)
    loaded, _, _ = rom.load_rom(path)
    assert isinstance(loaded, rom.NonIntrusiveMLP) and loaded.sizes == model.sizes
    for a, b in zip(jax.tree_util.tree_leaves(model), jax.tree_util.tree_leaves(loaded)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    with pytest.raises(ValueError, match="hidden"):
        rom.NonIntrusiveMLP.fit(X, train, hidden=(0,))
    with pytest.raises(ValueError, match="activation"):
        rom.NonIntrusiveMLP.fit(X, train, activation="relu6")
    with pytest.raises(ValueError, match="batch_size"):
        rom.NonIntrusiveMLP.fit(X, train, batch_size=1000)
    with pytest.raises(ValueError, match="params"):
        rom.NonIntrusiveMLP.fit(X, train[:5])


def test_pod_mlp_float32_smoke(float32):
    X, train, _, test = _smooth_family()
    model, _ = rom.NonIntrusiveMLP.fit(X.astype(np.float32), train, rank=4, hidden=(8,),
                                       epochs=5)
    assert model.params.dtype == jnp.float32
    out = jax.vmap(model)(jnp.asarray(test, jnp.float32))
    assert out.dtype == jnp.float32 and bool(jnp.all(jnp.isfinite(out)))
