"""SpectralConv against a direct (dense, numpy) evaluation of the truncated Fourier multiplier."""

import itertools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pdekit.operators import (
    CPWeights,
    SpectralConv,
    TuckerWeights,
    kept_modes,
    weight_mode_shape,
)


def _frequencies(kept):
    """Per axis, the frequency of each weight index (FFT order: 0..p-1, then -q..-1)."""
    return [list(range(p)) + list(range(-q, 0)) for p, q in kept]


def _dense_reference(u, w, kept):
    """y(x) = Re sum_k h(k_last) W(k)^T c_k e^{ik.x} with explicit sums (no FFT)."""
    spatial = u.shape[1:]
    d = len(spatial)
    grids = np.meshgrid(*[np.arange(n) / n for n in spatial], indexing="ij")
    y = np.zeros((w.shape[1], *spatial))
    freqs = _frequencies(kept)
    for idx in itertools.product(*[range(len(f)) for f in freqs]):
        k = [freqs[a][idx[a]] for a in range(d)]
        phase = np.exp(2j * np.pi * sum(ki * g for ki, g in zip(k, grids)))
        c = np.mean(u * np.conj(phase)[None], axis=tuple(range(1, d + 1)))  # (C_in,)
        out = w[(slice(None), slice(None), *idx)].T @ c  # (C_out,)
        n_last = spatial[-1]
        h = 1.0 if (k[-1] == 0 or 2 * k[-1] == n_last) else 2.0  # Hermitian half
        y += h * np.real(out[:, None] * phase.reshape(1, -1)).reshape(y.shape)
    return y


@pytest.mark.parametrize("convention,transform", [("pdekit", "fft"), ("neuraloperator", "dft")])
@pytest.mark.parametrize(
    "modes,spatial", [((5,), (16,)), ((3, 4), (8, 10)), ((2, 3, 2), (6, 5, 6))])
def test_equals_dense_multiplier(getkey, modes, spatial, convention, transform):
    layer = SpectralConv(2, 3, modes, convention=convention, transform=transform, key=getkey())
    u = jax.random.normal(getkey(), (2, *spatial))
    re, im = layer.weight()
    w = np.asarray(re) + 1j * np.asarray(im)
    ref = _dense_reference(np.asarray(u), w, layer.kept)
    bias = np.asarray(layer.bias).reshape((-1,) + (1,) * len(spatial))
    got = np.asarray(eqx.filter_jit(layer)(u)) - bias
    np.testing.assert_allclose(got, ref, atol=1e-12)


@pytest.mark.parametrize("factory", [TuckerWeights((2, 3, 2, 2)), CPWeights(3)])
def test_factorized_contraction_equals_dense_multiplier(getkey, factory):
    """The factorised contraction (never forming the dense weight) against the explicit sums,
    with the weight the factors stand for."""
    layer = SpectralConv(2, 3, (3, 4), factorization=factory, implementation="factorized",
                         key=getkey())
    u = jax.random.normal(getkey(), (2, 8, 10))
    re, im = layer.weight()
    ref = _dense_reference(np.asarray(u), np.asarray(re) + 1j * np.asarray(im), layer.kept)
    np.testing.assert_allclose(np.asarray(eqx.filter_jit(layer)(u)), ref, atol=1e-12)


@pytest.mark.parametrize("factory", [TuckerWeights((2, 2, 3, 2, 2)), CPWeights(3)])
def test_factorized_equals_reconstructed_on_a_joint_layer(getkey, factory):
    """One layer of a joint (L, C_in, C_out, *modes) tensor (`layer(l)`, still factorised):
    the factorised contraction and the reconstructed one give the same outputs and the same
    gradients with respect to the joint factors (float64)."""
    joint = factory.build((2, 2, 3, 3, 4), key=getkey(), dtype=jnp.float64, std=0.5)
    u = jax.random.normal(getkey(), (2, 8, 10))

    def energy(t, implementation):
        layer = SpectralConv(2, 3, (2, 4), external_weight=True, bias=False,
                             implementation=implementation, key=jax.random.key(0))
        y = layer(u, weight=t.layer(1))
        return jnp.sum(y**2), y

    grad = jax.jit(jax.value_and_grad(energy, has_aux=True), static_argnums=1)
    ((vf, yf), gf), ((vr, _), gr) = grad(joint, "factorized"), grad(joint, "reconstructed")
    np.testing.assert_allclose(vf, vr, rtol=1e-13)
    for a, b in zip(jax.tree_util.tree_leaves(gf), jax.tree_util.tree_leaves(gr)):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-13)
    re, im = jax.jit(lambda t: t())(joint)  # the whole joint tensor, expanded
    dense = np.asarray(re[1]) + 1j * np.asarray(im[1])
    ref = _dense_reference(np.asarray(u), dense, kept_modes((2, 4)))
    np.testing.assert_allclose(np.asarray(yf), ref, atol=1e-12)


def test_mode_conventions():
    assert kept_modes((16, 16), "neuraloperator") == ((8, 8), (9, 0))
    assert weight_mode_shape((16, 16), "neuraloperator") == (16, 9)  # neuraloperator's shape
    assert weight_mode_shape((16, 16, 16), "neuraloperator") == (16, 16, 9)
    assert weight_mode_shape((16, 16)) == (31, 16)
    assert weight_mode_shape((12,)) == (12,)
    assert weight_mode_shape((15, 4), "neuraloperator") == (15, 3)


def test_resolution_independent_on_band_limited_input(getkey):
    """A spectral layer is exact across resolutions: same function sampled twice."""
    layer = SpectralConv(1, 2, (4, 3), key=getkey())

    def field(n):
        x = np.arange(n) / n
        X, Y = np.meshgrid(x, x, indexing="ij")
        return jnp.asarray((np.sin(2 * np.pi * X) + np.cos(2 * np.pi * (2 * X + Y)))[None])

    f = eqx.filter_jit(layer)
    coarse, fine = f(field(16)), f(field(32))
    np.testing.assert_allclose(fine[:, ::2, ::2], coarse, atol=1e-12)


def test_bad_arguments(getkey):
    with pytest.raises(ValueError, match="in_channels"):
        SpectralConv(0, 2, (4,), key=getkey())
    with pytest.raises(ValueError, match="modes"):
        SpectralConv(1, 2, (4, 4, 4, 4), key=getkey())
    with pytest.raises(ValueError, match="convention"):
        SpectralConv(1, 2, (4,), convention="torch", key=getkey())
    layer = SpectralConv(1, 2, (8, 8), key=getkey())
    with pytest.raises(ValueError, match="too coarse"):
        layer(jnp.zeros((1, 8, 8)))
    with pytest.raises(ValueError, match="vmap"):
        layer(jnp.zeros((3, 1, 16, 16)))


def test_float32_smoke(float32, getkey):
    layer = SpectralConv(2, 2, (4, 4), key=jax.random.key(0))
    y = eqx.filter_jit(layer)(jnp.ones((2, 16, 16), jnp.float32))
    assert y.dtype == jnp.float32 and layer.weight.value.dtype == jnp.float32


def test_initialisation_matches_the_convention():
    """Parity mode draws the bias as neuraloperator does (init_std * N(0, 1)); the pdekit
    convention starts it at zero. Weights: complex N(0, init_std^2) in both."""
    c = 64
    std = np.sqrt(2.0 / (c + c))
    parity = SpectralConv(c, c, (4, 4), convention="neuraloperator", key=jax.random.key(0))
    plain = SpectralConv(c, c, (4, 4), key=jax.random.key(0))
    assert np.all(np.asarray(plain.bias) == 0)
    assert 0.7 * std < np.std(np.asarray(parity.bias)) < 1.3 * std
    re, im = parity.weight()
    assert 0.9 * std**2 < float(np.mean(np.asarray(re) ** 2 + np.asarray(im) ** 2)) < 1.1 * std**2
