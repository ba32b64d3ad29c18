"""FourierGrid in 1D, 2D and 3D: transforms against numpy, exact derivatives of trigonometric
polynomials, wavenumbers, Parseval weights, masks and filters."""

import math

import jax.numpy as jnp
import numpy as np
import pytest

from pdekit.solvers import spectral as sp

GRIDS = {1: ((16,), (3.0,)), 2: ((8, 12), (2.0, 5.0)), 3: ((4, 6, 8), (1.0, 2.0, 3.0))}
dims = pytest.mark.parametrize("ndim", [1, 2, 3])


def _grid(ndim):
    shape, lengths = GRIDS[ndim]
    return sp.FourierGrid(shape, lengths)


@dims
def test_transforms_match_numpy_over_trailing_axes(ndim):
    grid = _grid(ndim)
    rng = np.random.default_rng(ndim)
    u = rng.normal(size=(2,) + grid.shape)  # a leading batch axis is left alone
    z = u + 1j * rng.normal(size=u.shape)
    axes = tuple(range(-ndim, 0))
    np.testing.assert_allclose(grid.fftn(jnp.asarray(z)), np.fft.fftn(z, axes=axes), atol=1e-12)
    np.testing.assert_allclose(grid.ifftn(grid.fftn(jnp.asarray(z))), z, atol=1e-13)
    u_hat = grid.rfftn(jnp.asarray(u))
    assert u_hat.shape == (2,) + grid.spectral_shape(real=True)
    np.testing.assert_allclose(u_hat, np.fft.rfftn(u, axes=axes), atol=1e-12)
    np.testing.assert_allclose(grid.irfftn(u_hat), u, atol=1e-13)
    # Parseval weights: int u^2 dx from either spectrum
    ref = grid.cell_volume * np.sum(u[0] ** 2)
    for real, spec in ((False, np.fft.fftn(u[0])), (True, np.fft.rfftn(u[0]))):
        w = np.asarray(grid.mode_weights(real=real))
        assert np.sum(w * np.abs(spec) ** 2) == pytest.approx(ref, rel=1e-12)
    assert float(grid.integrate(jnp.asarray(u[0]))) == pytest.approx(
        grid.cell_volume * np.sum(u[0]), rel=1e-12)


@dims
@pytest.mark.parametrize("real", [False, True])
def test_derivatives_of_trig_polynomials_are_exact(ndim, real):
    grid = _grid(ndim)
    xs = grid.x if ndim > 1 else grid.x[None]
    modes = (1, 2, 3)[:ndim]
    arg = sum(2 * math.pi * m / length * x for m, length, x in zip(modes, grid.lengths, xs))
    u = jnp.sin(arg)
    ks = grid.wavenumbers(real=real, derivative=True)
    fwd, inv = (grid.rfftn, grid.irfftn) if real else (grid.fftn, grid.ifftn)
    u_hat = fwd(u)
    for i, (k, m, length) in enumerate(zip(ks, modes, grid.lengths)):
        du = jnp.real(inv(jnp.asarray(1j, u_hat.dtype) * k.astype(u_hat.dtype) * u_hat))
        kk = 2 * math.pi * m / length
        np.testing.assert_allclose(du, kk * jnp.cos(arg), atol=1e-11, err_msg=f"axis {i}")
    lap = jnp.real(inv(-grid.k_squared(real=real).astype(u_hat.dtype) * u_hat))
    k2 = sum((2 * math.pi * m / length) ** 2 for m, length in zip(modes, grid.lengths))
    np.testing.assert_allclose(lap, -k2 * u, atol=1e-10)


def test_scalar_arguments_keep_the_1d_api():
    grid = sp.FourierGrid(8, 2 * math.pi)
    assert grid.ndim == 1 and grid.num_points == 8 and grid.shape == (8,)
    assert grid.dx == pytest.approx(math.pi / 4) and grid.k_max == pytest.approx(4.0)
    assert grid.x.shape == (8,) and grid.k.shape == (8,)
    np.testing.assert_allclose(grid.k, [0, 1, 2, 3, -4, -3, -2, -1])
    g2 = sp.FourierGrid((8, 4), 2 * math.pi)  # one length for every axis
    assert g2.lengths == (2 * math.pi, 2 * math.pi) and g2.num_points == (8, 4)
    assert g2.x.shape == (2, 8, 4) and g2.k.shape == (2, 8, 4)
    X, Y = g2.x
    np.testing.assert_allclose(X[:, 0], -math.pi + np.arange(8) * math.pi / 4)
    np.testing.assert_allclose(Y[0], -math.pi + np.arange(4) * math.pi / 2)
    np.testing.assert_allclose(g2.k[1][0], [0, 1, -2, -1])


def test_masks_and_filters_2d():
    grid = sp.FourierGrid((12, 6), (2 * math.pi, 2 * math.pi))
    mask = np.asarray(grid.dealias_mask())
    k0, k1 = (np.asarray(k) for k in grid.wavenumbers())
    expect = (np.abs(k0) <= 4) & (np.abs(k1) <= 2)  # 2/3 of k_max = 6 and 3
    np.testing.assert_array_equal(mask, expect.astype(float))
    mask_r = np.asarray(grid.dealias_mask(real=True))
    np.testing.assert_array_equal(mask_r, mask[:, :4])  # the rfft half spectrum
    f = np.asarray(grid.exponential_filter(alpha=36.0, order=8))
    assert f[0, 0] == 1.0
    assert f[6, 3] == pytest.approx(math.exp(-72.0))  # both Nyquist modes: product of two
    assert f[6, 0] == pytest.approx(math.exp(-36.0))
    np.testing.assert_allclose(grid.exponential_filter(real=True), np.asarray(
        grid.exponential_filter())[:, :4])


@pytest.mark.parametrize("kwargs,match", [
    (dict(num_points=(8, 7), domain_length=1.0), r"num_points\[1\]"),
    (dict(num_points=(8, 8), domain_length=(1.0, 2.0, 3.0)), "domain_length"),
    (dict(num_points=(8, 8), domain_length=(1.0, -2.0)), r"domain_length\[1\]"),
    (dict(num_points=(8,) * 4, domain_length=1.0), "num_points"),
    (dict(num_points=np.ones((2, 2), int), domain_length=1.0), "num_points"),
])
def test_bad_grids_name_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sp.FourierGrid(**kwargs)
