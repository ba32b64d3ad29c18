"""Periodic Fourier grids: collocation points, wavenumbers, dealiasing masks and filters."""

from __future__ import annotations

import math
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from ..._misc import check_finite_scalar, check_positive_int, default_float_dtype


class FourierGrid(eqx.Module):
    r"""Uniform periodic grid on $x \in [-L/2, L/2)$ with its discrete Fourier transform.

    $x_j = -L/2 + j\,\Delta x$, $\Delta x = L/N$, $j = 0, \dots, N-1$. The angular wavenumbers
    are $k = 2\pi\,\mathrm{fftfreq}(N, \Delta x)$ in numpy's FFT order (the Nyquist mode carries
    $k = -\pi/\Delta x$). Transforms use numpy's normalisation, $\hat u = \mathrm{fft}(u)$,
    $u = \mathrm{ifft}(\hat u)$, so that $\int |u|^2 dx = (\Delta x / N) \sum_k |\hat u_k|^2$.

    All fields are static: the arrays ($x$, $k$, masks) are rebuilt from `num_points` and
    `domain_length` when used, so a grid is a pytree without leaves (it never gets in the way of
    `jax.vmap` over the coefficients of a problem that holds it). Everything dimension-dependent
    goes through `shape`, `ndim`, `fft` and `ifft`, so a 2D/3D grid (tuples of sizes, meshgrid
    wavenumbers, `fftn` over the trailing axes) can follow without changing the callers.

    **Arguments:**

    - `num_points`: number of grid points $N$ (positive, even).
    - `domain_length`: period $L$ (finite, > 0).
    - `dtype`: real floating dtype of $x$ and $k$ (default: float64 under x64, else float32).

    **Raises:** `ValueError` for an odd or non-positive `num_points`, or a non-finite or
    non-positive `domain_length`.
    """

    num_points: int = eqx.field(static=True)
    domain_length: float = eqx.field(static=True)
    dtype: Any = eqx.field(static=True)

    def __init__(self, num_points: int, domain_length: float, *, dtype: Any = None):
        self.num_points = check_positive_int("num_points", num_points, even=True, minimum=2)
        self.domain_length = check_finite_scalar("domain_length", domain_length, positive=True)
        self.dtype = default_float_dtype(dtype)

    # --- geometry -------------------------------------------------------------------------
    @property
    def ndim(self) -> int:
        return 1

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.num_points,)

    @property
    def complex_dtype(self):
        return jnp.dtype(jnp.complex128 if self.dtype == jnp.float64 else jnp.complex64)

    @property
    def dx(self) -> float:
        """Grid spacing $L/N$."""
        return self.domain_length / self.num_points

    @property
    def x(self) -> Float[Array, " N"]:
        """Collocation points $-L/2 + j \\Delta x$."""
        return jnp.asarray(-0.5 * self.domain_length + self.dx * np.arange(self.num_points),
                           dtype=self.dtype)

    def _k_numpy(self) -> np.ndarray:
        return 2.0 * np.pi * np.fft.fftfreq(self.num_points, d=self.dx)

    @property
    def k(self) -> Float[Array, " N"]:
        """Angular wavenumbers in FFT order."""
        return jnp.asarray(self._k_numpy(), dtype=self.dtype)

    @property
    def k_derivative(self) -> Float[Array, " N"]:
        """Wavenumbers for odd derivatives: as `k` with the Nyquist mode set to zero (its sign is
        ambiguous, and zeroing it keeps the derivative of a real field real)."""
        k = self._k_numpy()
        k[self.num_points // 2] = 0.0
        return jnp.asarray(k, dtype=self.dtype)

    @property
    def k_max(self) -> float:
        """Largest resolved wavenumber $\\pi/\\Delta x$."""
        return math.pi / self.dx

    # --- transforms -----------------------------------------------------------------------
    def fft(self, u: Array) -> Array:
        """Forward transform over the trailing `ndim` axes (numpy normalisation)."""
        return jnp.fft.fft(u, axis=-1)

    def ifft(self, u_hat: Array) -> Array:
        """Inverse transform over the trailing `ndim` axes."""
        return jnp.fft.ifft(u_hat, axis=-1)

    # --- transforms in a permuted Fourier order (for time steppers) ----------------------
    # Decimation in frequency by 4: with M = N/4, x viewed as (4, M) rows x[r M + m],
    #   X[4 k1 + k2] = FFT_M( W_N^(m k2) * sum_r W_4^(r k2) x[r M + m] )[k1],
    # so a radix-4 butterfly across contiguous rows, a twiddle and a batched FFT of 4 rows of
    # length M give X stored as rows k2, columns k1. XLA CPU's FFT runs 4 rows of 128 about
    # twice as fast as one row of 512 (it vectorises across rows), and the butterflies fuse
    # into the neighbouring elementwise work. The inverse runs the same steps backwards and
    # lands in natural order, so only Fourier space is permuted.
    def _use_radix4(self) -> bool:
        # (N = 64 gains little at run time and pays ~2x in compile time)
        return self.num_points % 4 == 0 and self.num_points >= 128

    def permutation(self) -> np.ndarray:
        """Index array `p` with `fft_permuted(u) == fft(u)[..., p]` (the identity when the
        transforms are not split: `N` not a multiple of 4, or `N < 128`)."""
        n = self.num_points
        if not self._use_radix4():
            return np.arange(n)
        return (4 * np.arange(n // 4)[None, :] + np.arange(4)[:, None]).reshape(-1)

    def _twiddles(self, dtype, inverse):
        n, m = self.num_points, self.num_points // 4
        t = np.exp((2j if inverse else -2j) * np.pi * np.arange(4)[:, None]
                   * np.arange(m)[None, :] / n)
        return jnp.asarray(t / 4 if inverse else t, dtype=dtype)

    @staticmethod
    def _butterfly4(x0, x1, x2, x3, inverse):
        a, b, c, d = x0 + x2, x0 - x2, x1 + x3, x1 - x3
        b_minus_id = jax.lax.complex(b.real + d.imag, b.imag - d.real)
        b_plus_id = jax.lax.complex(b.real - d.imag, b.imag + d.real)
        if inverse:
            return a + c, b_plus_id, a - c, b_minus_id
        return a + c, b_minus_id, a - c, b_plus_id

    def fft_permuted(self, u: Array) -> Array:
        """`fft(u)[..., permutation()]`, computed faster (see the comment above)."""
        if not self._use_radix4():
            return self.fft(u)
        lead, m = u.shape[:-1], self.num_points // 4
        v = u.reshape(lead + (4, m))
        a = jnp.stack(self._butterfly4(*(v[..., r, :] for r in range(4)), False), axis=-2)
        tw = self._twiddles(u.dtype, False).reshape((1,) * len(lead) + (4, m))
        return jnp.fft.fft(a * tw, axis=-1).reshape(u.shape)

    def ifft_permuted(self, u_hat: Array) -> Array:
        """Inverse of :meth:`fft_permuted`: `ifft` of the natural-order spectrum."""
        if not self._use_radix4():
            return self.ifft(u_hat)
        lead, m = u_hat.shape[:-1], self.num_points // 4
        tw = self._twiddles(u_hat.dtype, True).reshape((1,) * len(lead) + (4, m))
        e = jnp.fft.ifft(u_hat.reshape(lead + (4, m)), axis=-1) * tw
        return jnp.stack(self._butterfly4(*(e[..., r, :] for r in range(4)), True),
                         axis=-2).reshape(u_hat.shape)

    def integrate(self, f: Array) -> Array:
        """$\\int f\\,dx$ by the trapezoidal rule, which is spectrally accurate for periodic
        smooth `f`; sums over the trailing `ndim` axes."""
        return jnp.sum(f, axis=-1) * jnp.asarray(self.dx, dtype=jnp.real(f).dtype)

    # --- spectral masks -------------------------------------------------------------------
    def dealias_mask(self, fraction: float = 2.0 / 3.0) -> Float[Array, " N"]:
        """Orszag's rule: 1 where $|k| \\le$ `fraction` $\\cdot k_{max}$, else 0 (2/3 by default).

        The 2/3 rule removes all aliasing of quadratic products; for the cubic NLSE term it
        removes the aliasing that lands on the retained modes only partially (a 1/2 rule would be
        exact), which in practice is enough to stop aliasing-driven instabilities.
        """
        if not 0.0 < fraction <= 1.0:
            raise ValueError(f"`fraction` must be in (0, 1], got {fraction}.")
        keep = np.abs(self._k_numpy()) <= fraction * self.k_max * (1 + 1e-12)
        return jnp.asarray(keep, dtype=self.dtype)

    def exponential_filter(self, alpha: float = 36.0, order: int = 36) -> Float[Array, " N"]:
        """Exponential filter $\\exp(-\\alpha (|k|/k_{max})^{p})$ of strength `alpha` and even
        order `p` (`alpha = 36` damps the highest mode to machine epsilon in float64)."""
        alpha = check_finite_scalar("alpha", alpha, nonnegative=True)
        order = check_positive_int("order", order, even=True, minimum=2)
        ratio = np.abs(self._k_numpy()) / self.k_max
        return jnp.asarray(np.exp(-alpha * ratio**order), dtype=self.dtype)

    def wavenumber_index(self, wavenumber: float) -> int:
        """Index of the FFT mode whose (non-negative) wavenumber is closest to `wavenumber`."""
        return int(np.argmin(np.abs(self._k_numpy() - abs(wavenumber))))


class ExponentialFilter(eqx.Module):
    """Configuration of the exponential spectral filter $\\exp(-\\alpha (|k|/k_{max})^{p})$.

    **Arguments:**

    - `alpha`: strength (>= 0); 36 makes the top mode's factor about machine epsilon.
    - `order`: even order $p$ (larger: sharper cut-off, fewer modes touched).
    """

    alpha: float = eqx.field(static=True, default=36.0)
    order: int = eqx.field(static=True, default=36)

    def __check_init__(self):
        check_finite_scalar("alpha", self.alpha, nonnegative=True)
        check_positive_int("order", self.order, even=True, minimum=2)

    def mask(self, grid: FourierGrid) -> Float[Array, " N"]:
        return grid.exponential_filter(self.alpha, self.order)


