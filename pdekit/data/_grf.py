r"""Gaussian random fields with covariance $\sigma^2(-\Delta + \tau^2)^{-\alpha}$ on grids.

A sample is the Karhunen–Loève sum $u = \sum_k \sigma(\lambda_k + \tau^2)^{-\alpha/2}\xi_k
e_k$ over the Laplacian eigenpairs $(\lambda_k, e_k)$ of the box $[0, L]^d$ with the chosen
boundary condition, $\xi_k \sim N(0, 1)$ i.i.d., truncated to the grid's modes:

- ``"periodic"``: $e_k = L^{-d/2}\exp(2\pi i k\cdot x/L)$, $\lambda_k = 4\pi^2|k|^2/L^2$,
  nodes $x_j = jL/N$; white noise on the grid is coloured by one FFT pair (exact discrete
  covariance, real field).
- ``"neumann"`` (zero normal derivative): $e_k \propto \prod\cos(\pi k_i x_i/L)$,
  $\lambda_k = \pi^2|k|^2/L^2$, cell-centred nodes $x_j = (j + 1/2)L/N$; an orthonormal
  inverse DCT-II (``jax.scipy.fft.idctn``).
- ``"dirichlet"`` (zero boundary values): $e_k \propto \prod\sin(\pi k_i x_i/L)$,
  $k_i = 1..N$, cell-centred nodes; the DST-II is built from the DCT-II through
  $\sin(\pi k(j+\tfrac12)/N) = (-1)^j\cos(\pi(N-k)(j+\tfrac12)/N)$.

These are the fields of the FNO benchmarks (Li et al. 2021, doi:10.48550/arXiv.2010.08895):
Darcy permeability $\alpha = 2$, $\tau = 3$ (Neumann, thresholded to 12 / 3) with
$\sigma = \tau^{\alpha - d/2}$ (the default here, as the FNO's `GRF.m`), Navier–Stokes
initial vorticity $\alpha = 2.5$, $\tau = 7$ (periodic) with $\sigma = \sqrt2\,\tau^{\alpha-1}$
(the FNO Python script's normalisation, see `navier-stokes`), both with the mean mode removed.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._misc import check_finite_scalar, check_positive_int, default_float_dtype

BOUNDARIES = ("periodic", "neumann", "dirichlet")


class GaussianRandomField(eqx.Module):
    r"""Sampler of a centred Gaussian random field with covariance operator
    $\sigma^2(-\Delta + \tau^2)^{-\alpha}$ on a $d$-dimensional box grid ($d = 1, 2, 3$).

    **Arguments:**
    - `shape`: grid points per dimension, e.g. `(64, 64)`; each `>= 2`.
    - `alpha`: smoothness exponent $\alpha > d/2$ (so the field is a function), default 2.
    - `tau`: inverse length scale $\tau > 0$, default 3.
    - `sigma`: amplitude; default `None` means $\tau^{\alpha - d/2}$ (the FNO scaling).
    - `boundary`: ``"periodic"`` (FFT), ``"neumann"`` (cosine) or ``"dirichlet"`` (sine).
    - `domain_length`: side $L$ of the box (default 1).
    - `zero_mean`: drop the constant mode (periodic/Neumann; default True, as the FNO data).
    - `dtype`: real dtype of the samples (default float64 under x64, else float32).

    **Call:** `grf(key)` returns one sample of shape `shape`; `grf.sample(key, num)` returns
    `(num, *shape)` (sample `i` from ``jax.random.fold_in(key, i)``). Nodes are
    :meth:`nodes`. Everything is jit/vmap friendly.

    **Raises:** `ValueError` for a bad shape, non-finite or out-of-range `alpha`, `tau`,
    `sigma`, `domain_length`, or an unknown `boundary`.
    """

    sqrt_eigenvalues: Float[Array, "*shape"]
    shape: tuple[int, ...] = eqx.field(static=True)
    boundary: str = eqx.field(static=True)
    alpha: float = eqx.field(static=True)
    tau: float = eqx.field(static=True)
    sigma: float = eqx.field(static=True)
    domain_length: float = eqx.field(static=True)

    def __init__(self, shape, *, alpha=2.0, tau=3.0, sigma=None, boundary="neumann",
                 domain_length=1.0, zero_mean=True, dtype=None):
        if isinstance(shape, (int, np.integer)):
            shape = (shape,)
        shape = tuple(check_positive_int("shape", s, minimum=2) for s in shape)
        if not 1 <= len(shape) <= 3:
            raise ValueError(f"`shape` must have 1 to 3 entries, got {shape}.")
        d = len(shape)
        alpha = check_finite_scalar("alpha", alpha, positive=True)
        if alpha <= d / 2:
            raise ValueError(f"`alpha` must be > d/2 = {d / 2} for a {d}D field, got {alpha}.")
        tau = check_finite_scalar("tau", tau, positive=True)
        sigma = tau ** (alpha - d / 2) if sigma is None else check_finite_scalar(
            "sigma", sigma, positive=True)
        length = check_finite_scalar("domain_length", domain_length, positive=True)
        if boundary not in BOUNDARIES:
            raise ValueError(f"`boundary` must be one of {BOUNDARIES}, got {boundary!r}.")
        dtype = default_float_dtype(dtype)
        ks = []
        for n in shape:
            if boundary == "periodic":
                k = 2 * np.pi * np.fft.fftfreq(n, 1.0 / n) / length
            elif boundary == "neumann":
                k = np.pi * np.arange(n) / length
            else:  # DCT index m stands for sine mode N - m (see module docstring)
                k = np.pi * (n - np.arange(n)) / length
            ks.append(k)
        lam = sum(k**2 for k in np.meshgrid(*ks, indexing="ij"))
        sq = sigma * (lam + tau**2) ** (-alpha / 2)
        if zero_mean and boundary != "dirichlet":
            sq[(0,) * d] = 0.0
        # grid samples of L^2-orthonormal eigenfunctions = sqrt(N/L)^d x discrete orthonormal
        # vectors (periodic: the fft/ifft pair of white noise, see __call__)
        sq = sq * math.prod(math.sqrt(n / length) for n in shape)
        self.sqrt_eigenvalues = jnp.asarray(sq, dtype)
        self.shape = shape
        self.boundary = boundary
        self.alpha, self.tau, self.sigma, self.domain_length = alpha, tau, sigma, length

    def nodes(self) -> list[np.ndarray]:
        """Grid coordinates per dimension: `j L / N` (periodic) or `(j + 1/2) L / N`."""
        off = 0.0 if self.boundary == "periodic" else 0.5
        return [(np.arange(n) + off) * self.domain_length / n for n in self.shape]

    def __call__(self, key) -> Float[Array, "*shape"]:
        dtype = self.sqrt_eigenvalues.dtype
        xi = jax.random.normal(key, self.shape, dtype)
        axes = tuple(range(len(self.shape)))
        if self.boundary == "periodic":
            # FFT of real white noise has E|w_k|^2 = N^d with Hermitian symmetry, so
            # ifft(sqrt(lam) fft(w)) is real with the exact discrete covariance
            w_hat = jnp.fft.fftn(xi, axes=axes)
            w_hat = w_hat * self.sqrt_eigenvalues.astype(w_hat.dtype)
            return jnp.real(jnp.fft.ifftn(w_hat, axes=axes)).astype(dtype)
        u = jax.scipy.fft.idctn(self.sqrt_eigenvalues * xi, type=2, axes=axes, norm="ortho")
        if self.boundary == "dirichlet":
            for ax, n in enumerate(self.shape):
                sign = jnp.asarray(1.0 - 2.0 * (np.arange(n) % 2), dtype)
                bshape = [1] * len(self.shape)
                bshape[ax] = n
                u = u * sign.reshape(bshape)
        return u.astype(dtype)

    def sample(self, key, num: int) -> Float[Array, " num *shape"]:
        """`num` samples, sample `i` drawn from ``jax.random.fold_in(key, i)``."""
        num = check_positive_int("num", num)
        keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(num))
        return jax.vmap(self)(keys)

    def spectrum(self) -> Float[Array, "*shape"]:
        """Variance of each discrete mode coefficient (`sqrt_eigenvalues ** 2`), in the
        transform's own normalisation (for tests and plots)."""
        return self.sqrt_eigenvalues**2
