"""The thermal-block generator registered with pdekit.data: stored samples equal direct
full-order solves at the stored conductivities."""

import jax.numpy as jnp
import numpy as np

from pdekit import data, rom


def test_thermal_block_generator(tmp_path):
    assert "thermal-block" in data.GENERATORS
    path = data.generate("thermal-block", tmp_path / "tb.h5", n=3, resolution=6, seed=0,
                         progress=False, dtype="float64", blocks="2x1")
    x, y = data.Dataset(path).arrays()
    assert x.shape == (3, 1, 1, 2) and y.shape == (3, 1, 49)
    problem = rom.thermal_block(6, (2, 1))
    for xi, yi in zip(x, y):
        mu = jnp.asarray(xi.reshape(-1))
        assert np.all((0.1 <= xi) & (xi <= 1.0))
        np.testing.assert_allclose(yi[0], np.asarray(problem.to_full(problem.solve(mu))),
                                   rtol=1e-10, atol=1e-14)
