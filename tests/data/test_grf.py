"""Gaussian random fields: the empirical spectrum over many samples follows
sigma^2 (|k|^2 + tau^2)^(-alpha), mode by mode, checked with transforms independent of the
sampler's (numpy FFT, scipy DCT-II/DST-II)."""

import jax
import numpy as np
import pytest
import scipy.fft

from pdekit.data import GaussianRandomField

M = 4000  # samples: relative std of a mode's variance estimate ~ 1/sqrt(M) = 0.016
TOL = 0.1  # on every mode (> 6 standard deviations)


@pytest.mark.parametrize(
    "boundary, shape, alpha, tau",
    [("periodic", (32, 32), 2.5, 7.0), ("periodic", (64,), 2.0, 3.0),
     ("neumann", (24, 32), 2.0, 3.0), ("dirichlet", (32, 24), 2.0, 3.0)],
)
def test_empirical_spectrum(boundary, shape, alpha, tau):
    d, length = len(shape), 1.0
    grf = GaussianRandomField(shape, alpha=alpha, tau=tau, boundary=boundary)
    u = np.asarray(jax.jit(lambda k: grf.sample(k, M))(jax.random.key(0)))
    assert u.shape == (M, *shape) and u.dtype == np.float64
    sigma2 = tau ** (2 * alpha - d)
    axes = tuple(range(1, d + 1))
    npts = np.prod(shape)
    if boundary == "periodic":
        coef = np.fft.fftn(u, axes=axes)  # E|c_k|^2 = N^d * var of the L2-normalised mode
        ks = [2 * np.pi * np.fft.fftfreq(n, 1.0 / n) for n in shape]
        scale = npts * npts / length**d
    elif boundary == "neumann":
        coef = scipy.fft.dctn(u, type=2, norm="ortho", axes=axes)
        ks = [np.pi * np.arange(n) for n in shape]
        scale = npts / length**d
    else:
        coef = scipy.fft.dstn(u, type=2, norm="ortho", axes=axes)  # index i: sin mode i + 1
        ks = [np.pi * np.arange(1, n + 1) for n in shape]
        scale = npts / length**d
    k2 = sum(k**2 for k in np.meshgrid(*ks, indexing="ij"))
    expected = scale * sigma2 * (k2 + tau**2) ** (-alpha)
    empirical = np.mean(np.abs(coef) ** 2, axis=0)
    if boundary != "dirichlet":  # mean mode removed
        assert empirical[(0,) * d] < 1e-20
        empirical[(0,) * d] = expected[(0,) * d] = 1.0
    if boundary == "dirichlet":  # the top sine mode sits on the grid's Nyquist: skip it
        for ax in range(d):
            idx = [slice(None)] * d
            idx[ax] = -1
            empirical[tuple(idx)] = expected[tuple(idx)] = 1.0
    ratio = empirical / expected
    assert np.max(np.abs(ratio - 1)) < TOL, (ratio.min(), ratio.max())
    # and the total (pointwise) variance: a sum dominated by the low modes
    assert abs(np.sum(empirical - 1 * (boundary != "dirichlet")) /
               np.sum(expected - 1 * (boundary != "dirichlet")) - 1) < 0.05


def test_reproducible_float32_and_errors(float32):
    grf = GaussianRandomField((16, 16), boundary="periodic")
    a = grf.sample(jax.random.key(1), 3)
    assert a.dtype == np.float32 and a.shape == (3, 16, 16)
    np.testing.assert_array_equal(np.asarray(a[2]),
                                  np.asarray(grf(jax.random.fold_in(jax.random.key(1), 2))))
    assert [len(c) for c in grf.nodes()] == [16, 16]
    with pytest.raises(ValueError, match="`alpha`"):
        GaussianRandomField((16, 16), alpha=1.0)
    with pytest.raises(ValueError, match="`tau`"):
        GaussianRandomField((16,), tau=float("nan"))
    with pytest.raises(ValueError, match="`boundary`"):
        GaussianRandomField((16,), boundary="robin")
    with pytest.raises(ValueError, match="`shape`"):
        GaussianRandomField((16, 1))
