"""MG patching: tiles hold the right views; identity patching reproduces the model."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from pdekit.operators import FNO, MGPatching


class _Identity(eqx.Module):
    def apply_batch(self, x):
        return x[:, :1]  # level 0, first channel


def test_tiles_are_the_multigrid_views():
    a = jnp.arange(2 * 8 * 8, dtype=jnp.float64).reshape(1, 2, 8, 8)
    mg = MGPatching(_Identity(), levels=1, patches=2, padding=1)
    t = np.asarray(mg.tiles(a))
    assert t.shape == (4, 4, 6, 6)
    an = np.asarray(a[0])
    # tile (0, 1), level 0, channel 1: rows -1..4, columns 3..8 (periodic)
    np.testing.assert_array_equal(t[1, 1], an[1][np.ix_(np.arange(-1, 5) % 8,
                                                         np.arange(3, 9) % 8)])
    # level 1 (channels 2, 3): twice the region around the tile centre, every other point
    rows = (2 - 2 * 3 + 2 * np.arange(6)) % 8
    cols = (6 - 2 * 3 + 2 * np.arange(6)) % 8
    np.testing.assert_array_equal(t[1, 2], an[0][np.ix_(rows, cols)])
    # stitched level-0 crops give the input back
    np.testing.assert_array_equal(np.asarray(mg.apply_batch(a)), an[None, :1])


def test_single_patch_without_context_is_the_model():
    m = FNO(1, 1, (3, 3), 4, 1, key=jax.random.key(0))
    mg = MGPatching(m, levels=0, patches=1, padding=0)
    a = jax.random.normal(jax.random.key(1), (1, 8, 8))
    np.testing.assert_allclose(eqx.filter_jit(mg)(a), eqx.filter_jit(m)(a), atol=1e-12)
    deep = MGPatching(FNO(3, 1, (3, 3), 4, 1, key=jax.random.key(0)), levels=2, patches=2,
                      padding=2)
    assert eqx.filter_jit(deep)(a).shape == (1, 8, 8)
