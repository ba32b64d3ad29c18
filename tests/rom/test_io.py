"""Saved ROMs load back bit-identical, never overwrite silently, and reject foreign files."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pdekit import rom


def _leaves_equal(a, b):
    la, lb = jax.tree.leaves(a), jax.tree.leaves(b)
    return len(la) == len(lb) and all(
        x.dtype == y.dtype and np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(la, lb)
    )


def _model():
    """A GalerkinROM from random reduced arrays (the format does not care where they came
    from): Qa = 2, Qf = 1, N = 3, SPD operators."""
    rng = np.random.default_rng(0)
    B = rng.standard_normal((2, 3, 3))
    ops = jnp.asarray(B @ np.swapaxes(B, 1, 2) + 3 * np.eye(3))
    theta_a = jnp.asarray([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    theta_f = jnp.asarray([[1.0, 0.0, 0.0]])
    return rom.GalerkinROM(operators=ops, rhs=jnp.asarray(rng.standard_normal((1, 3))),
                           mass=None, residual=jnp.asarray(np.triu(rng.standard_normal((7, 7)))),
                           theta_a=theta_a, theta_f=theta_f, theta_ref=jnp.ones(2),
                           mu_min=(0.1, 0.1), mu_max=(1.0, 1.0))


def test_galerkin_rom_roundtrip(tmp_path):
    model0 = _model()
    basis = np.random.default_rng(1).standard_normal((50, 3))
    path = rom.save_rom(tmp_path / "m.h5", model0, extras={"basis": basis}, meta={"note": "x"})
    model, extras, meta = rom.load_rom(path)
    assert _leaves_equal(model, model0)
    assert model.mu_min == model0.mu_min and meta == {"note": "x"}
    assert np.array_equal(extras["basis"], basis)
    mu = jnp.asarray([0.4, 0.9])
    assert np.array_equal(np.asarray(model.solve(mu)), np.asarray(model0.solve(mu)))
    with pytest.raises(FileExistsError):
        rom.save_rom(path, model0)
    rom.save_rom(path, model0, overwrite=True)


def test_nonintrusive_roundtrip_and_bad_files(tmp_path):
    rng = np.random.default_rng(0)
    mu = rng.uniform(0, 1, (10, 1))
    X = np.cos(np.outer(np.arange(20), mu[:, 0]))
    model = rom.NonIntrusiveROM.fit(jnp.asarray(X), mu, rank=4, kernel="cubic")
    path = rom.save_rom(tmp_path / "n.h5", model)
    back, _, _ = rom.load_rom(path)
    assert _leaves_equal(back, model) and back.kernel == "cubic"
    with pytest.raises(ValueError, match="model"):
        rom.save_rom(tmp_path / "bad.h5", object())
    assert not (tmp_path / "bad.h5").exists()
    import h5py

    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["x"] = 1.0
    with pytest.raises(ValueError, match="not a pdekit-rom file"):
        rom.load_rom(tmp_path / "other.h5")
