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
    problem = rom.thermal_block(12, (2, 1))
    space = rom.thermal_block_space(12)
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
