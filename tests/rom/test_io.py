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


def test_galerkin_rom_roundtrip(tmp_path):
    p = rom.thermal_block(6, (2, 1))
    res = rom.weak_greedy(p, p.grid(3), max_basis_size=3)
    path = rom.save_rom(tmp_path / "m.h5", res.rom, extras={"basis": res.basis},
                        meta={"note": "x"})
    model, extras, meta = rom.load_rom(path)
    assert _leaves_equal(model, res.rom)
    assert model.mu_min == res.rom.mu_min and meta == {"note": "x"}
    assert np.array_equal(extras["basis"], np.asarray(res.basis))
    mu = jnp.asarray([0.4, 0.9])
    assert np.array_equal(np.asarray(model.solve(mu)), np.asarray(res.rom.solve(mu)))
    with pytest.raises(FileExistsError):
        rom.save_rom(path, res.rom)
    rom.save_rom(path, res.rom, overwrite=True)


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
