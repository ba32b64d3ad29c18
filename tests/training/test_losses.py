"""Losses against closed forms: relative Lp and H1 (spectral and finite differences)."""

import jax.numpy as jnp
import numpy as np
import pytest

from pdekit.training import h1, relative_l2, relative_lp


def test_relative_lp_matches_numpy():
    rng = np.random.default_rng(0)
    y, p = rng.standard_normal((3, 2, 8, 8)), rng.standard_normal((3, 2, 8, 8))
    for q in (1.0, 2.0, 3.0):
        ref = np.mean([np.sum(np.abs(p[i] - y[i]) ** q) ** (1 / q)
                       / np.sum(np.abs(y[i]) ** q) ** (1 / q) for i in range(3)])
        np.testing.assert_allclose(relative_lp(jnp.asarray(p), jnp.asarray(y), q), ref,
                                   rtol=1e-12)
    np.testing.assert_allclose(relative_l2(jnp.asarray(p), jnp.asarray(y), reduce=False),
                               [np.linalg.norm(p[i] - y[i]) / np.linalg.norm(y[i])
                                for i in range(3)], rtol=1e-12)
    with pytest.raises(ValueError, match="shape"):
        relative_l2(jnp.zeros((2, 1, 4)), jnp.zeros((2, 1, 5)))


@pytest.mark.parametrize("periodic", [True, False])
def test_h1_closed_form(periodic):
    """target sin(2 pi x), error eps sin(2 pi m x): ratio eps sqrt((1 + (2 pi m)^2) /
    (1 + (2 pi)^2)) (exact spectrally; O(h^2) with differences on a closed grid)."""
    n, m, eps = 256, 3, 1e-2
    x = np.arange(n) / n if periodic else np.linspace(0, 1, n)
    y = np.sin(2 * np.pi * x)[None, None]
    p = y + eps * np.sin(2 * np.pi * m * x)[None, None]
    exact = eps * np.sqrt((1 + (2 * np.pi * m) ** 2) / (1 + (2 * np.pi) ** 2))
    got = float(h1(jnp.asarray(p), jnp.asarray(y), periodic=periodic))
    np.testing.assert_allclose(got, exact, rtol=1e-10 if periodic else 2e-2)
    # 2D: derivatives along both axes
    X, Y = np.meshgrid(np.arange(32) / 32, np.arange(32) / 32, indexing="ij")
    t = np.sin(2 * np.pi * X)[None, None]
    e = eps * np.sin(2 * np.pi * 2 * Y)[None, None]
    ratio = eps * np.sqrt((1 + (4 * np.pi) ** 2) / (1 + (2 * np.pi) ** 2))
    np.testing.assert_allclose(float(h1(jnp.asarray(t + e), jnp.asarray(t))), ratio,
                               rtol=1e-10)
