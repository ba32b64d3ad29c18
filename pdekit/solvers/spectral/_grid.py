"""Periodic Fourier grids in 1, 2 and 3 dimensions: collocation points, wavenumbers, transforms,
dealiasing masks, filters and quadrature."""

from __future__ import annotations

import math
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from ..._misc import check_finite_scalar, check_positive_int, default_float_dtype


def _as_tuple(name: str, value: Any) -> tuple:
    if isinstance(value, (tuple, list)):
        if not 1 <= len(value) <= 3:
            raise ValueError(f"`{name}` must be a scalar or a tuple of 1 to 3 entries, got "
                             f"{len(value)} entries.")
        return tuple(value)
    if np.ndim(value) != 0:
        raise ValueError(f"`{name}` must be a scalar or a tuple, got shape {np.shape(value)}.")
    return (value,)


class FourierGrid(eqx.Module):
    r"""Uniform periodic grid on the box $\prod_i [-L_i/2, L_i/2)$ with its discrete Fourier
    transforms, in 1, 2 or 3 dimensions.

    Along axis $i$: $x_j = -L_i/2 + j\,\Delta x_i$, $\Delta x_i = L_i/N_i$, $j = 0..N_i-1$; the
    angular wavenumbers are $k = 2\pi\,\mathrm{fftfreq}(N_i, \Delta x_i)$ in numpy's FFT order
    (the Nyquist mode carries $k = -\pi/\Delta x_i$). Transforms act on the trailing `ndim`
    axes with numpy's normalisation, $\hat u = \mathrm{fftn}(u)$, $u = \mathrm{ifftn}(\hat u)$,
    so that $\int |u|^2 dx = (\Delta V / N) \sum_k |\hat u_k|^2$ ($\Delta V = \prod\Delta x_i$,
    $N = \prod N_i$). Real fields use the half spectrum of `rfftn` (last axis $N/2+1$ modes);
    every spectral helper takes `real=` to pick the layout.

    A scalar `num_points` (and `domain_length`) makes a 1D grid, for which `num_points`, `dx`,
    `x`, `k` and `k_max` are plain numbers / `(N,)` arrays as before; with tuples they are tuples
    (`x` and `k` stacked meshgrids `(ndim, *shape)`). `shape`, `lengths` and `spacing` are
    always tuples. All fields are static: arrays are rebuilt from them when used, so a grid is a
    pytree without leaves (it never gets in the way of `jax.vmap` over a problem's
    coefficients).

    **Arguments:**

    - `num_points`: points per axis $N_i$ (each positive and even): an int (1D) or a tuple of
      1-3 ints.
    - `domain_length`: period(s) $L_i$ (finite, > 0): a number (the same on every axis) or a
      tuple of the grid's dimension.
    - `dtype`: real floating dtype of $x$, $k$ and masks (default: float64 under x64, else
      float32).

    **Raises:** `ValueError` for an odd or non-positive `num_points`, a non-finite or
    non-positive `domain_length`, or tuples of different lengths.
    """

    shape: tuple[int, ...] = eqx.field(static=True)
    lengths: tuple[float, ...] = eqx.field(static=True)
    dtype: Any = eqx.field(static=True)

    def __init__(self, num_points: int | tuple[int, ...],
                 domain_length: float | tuple[float, ...], *, dtype: Any = None):
        sizes = _as_tuple("num_points", num_points)
        lengths = _as_tuple("domain_length", domain_length)
        if len(lengths) == 1 and len(sizes) > 1:
            lengths = lengths * len(sizes)
        if len(lengths) != len(sizes):
            raise ValueError(f"`domain_length` has {len(lengths)} entries but `num_points` has "
                             f"{len(sizes)}; give one length per axis (or one for all).")
        one = len(sizes) == 1
        self.shape = tuple(check_positive_int("num_points" if one else f"num_points[{i}]", n,
                                              even=True, minimum=2)
                           for i, n in enumerate(sizes))
        self.lengths = tuple(check_finite_scalar("domain_length" if one else
                                                 f"domain_length[{i}]", v, positive=True)
                             for i, v in enumerate(lengths))
        self.dtype = default_float_dtype(dtype)

    # --- geometry -------------------------------------------------------------------------
    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        """Total number of points $\\prod N_i$."""
        return math.prod(self.shape)

    def _scalar_in_1d(self, values: tuple):
        return values[0] if self.ndim == 1 else values

    @property
    def num_points(self) -> int | tuple[int, ...]:
        """$N$ (1D) or the tuple `shape`."""
        return self._scalar_in_1d(self.shape)

    @property
    def domain_length(self) -> float | tuple[float, ...]:
        """$L$ (1D) or the tuple `lengths`."""
        return self._scalar_in_1d(self.lengths)

    @property
    def spacing(self) -> tuple[float, ...]:
        """$(\\Delta x_i) = (L_i/N_i)$."""
        return tuple(length / n for length, n in zip(self.lengths, self.shape))

    @property
    def dx(self) -> float | tuple[float, ...]:
        """Grid spacing $L/N$ (1D) or the tuple `spacing`."""
        return self._scalar_in_1d(self.spacing)

    @property
    def cell_volume(self) -> float:
        """$\\Delta V = \\prod \\Delta x_i$, the weight of every point in :meth:`integrate`."""
        return math.prod(self.spacing)

    @property
    def complex_dtype(self):
        return jnp.dtype(jnp.complex128 if self.dtype == jnp.float64 else jnp.complex64)

    def _axis_numpy(self, i: int) -> np.ndarray:
        return -0.5 * self.lengths[i] + self.spacing[i] * np.arange(self.shape[i])

    @property
    def axes(self) -> tuple[Float[Array, " n"], ...]:
        """The 1D coordinates of each axis."""
        return tuple(jnp.asarray(self._axis_numpy(i), dtype=self.dtype)
                     for i in range(self.ndim))

    @property
    def x(self) -> Float[Array, " N"] | Float[Array, "d ..."]:
        """Collocation points: `(N,)` in 1D, else the stacked `'ij'` meshgrid `(ndim, *shape)`
        (unpack with `X, Y = grid.x`)."""
        if self.ndim == 1:
            return self.axes[0]
        return jnp.asarray(np.stack(np.meshgrid(*(self._axis_numpy(i) for i in range(self.ndim)),
                                                indexing="ij")), dtype=self.dtype)

    # --- wavenumbers ----------------------------------------------------------------------
    def spectral_shape(self, real: bool = False) -> tuple[int, ...]:
        """Shape of the spectrum: `shape`, or with `real` the `rfftn` half spectrum (last axis
        $N/2+1$)."""
        if not real:
            return self.shape
        return self.shape[:-1] + (self.shape[-1] // 2 + 1,)

    def _k_axis(self, i: int, real: bool = False, derivative: bool = False) -> np.ndarray:
        n = self.shape[i]
        last_real = real and i == self.ndim - 1
        freq = np.fft.rfftfreq(n, d=self.spacing[i]) if last_real else \
            np.fft.fftfreq(n, d=self.spacing[i])
        k = 2.0 * np.pi * freq
        if derivative:
            # Odd derivatives: the Nyquist mode's sign is ambiguous (+-pi/dx alias), and zeroing
            # it keeps the derivative of a real field real.
            k[n // 2] = 0.0
        return k

    def _broadcast(self, i: int, values: np.ndarray) -> np.ndarray:
        shape = [1] * self.ndim
        shape[i] = values.size
        return values.reshape(shape)

    def wavenumbers(self, *, real: bool = False, derivative: bool = False
                    ) -> tuple[Float[Array, "*spectral"], ...]:
        """Angular wavenumbers per axis, each shaped to broadcast against the spectrum
        (`(1, .., n_i, .., 1)`). `real`: the `rfftn` layout; `derivative`: Nyquist modes set to
        zero (for odd derivatives, see :attr:`k_derivative`)."""
        return tuple(jnp.asarray(self._broadcast(i, self._k_axis(i, real, derivative)),
                                 dtype=self.dtype) for i in range(self.ndim))

    def _k_squared_numpy(self, real: bool = False) -> np.ndarray:
        out = np.zeros(self.spectral_shape(real))
        for i in range(self.ndim):
            out = out + self._broadcast(i, self._k_axis(i, real)) ** 2
        return out

    def k_squared(self, *, real: bool = False) -> Float[Array, "*spectral"]:
        """$|k|^2 = \\sum_i k_i^2$ on the spectrum (the symbol of $-\\Delta$)."""
        return jnp.asarray(self._k_squared_numpy(real), dtype=self.dtype)

    @property
    def k(self) -> Float[Array, " N"] | Float[Array, "d ..."]:
        """Angular wavenumbers in FFT order: `(N,)` in 1D, else the stacked meshgrid
        `(ndim, *shape)` (see :meth:`wavenumbers` for broadcastable per-axis arrays)."""
        if self.ndim == 1:
            return jnp.asarray(self._k_axis(0), dtype=self.dtype)
        ks = [np.broadcast_to(self._broadcast(i, self._k_axis(i)), self.shape)
              for i in range(self.ndim)]
        return jnp.asarray(np.stack(ks), dtype=self.dtype)

    @property
    def k_derivative(self) -> Float[Array, " N"] | Float[Array, "d ..."]:
        """Wavenumbers for odd derivatives: as `k` with the Nyquist modes set to zero (their
        sign is ambiguous, and zeroing them keeps the derivative of a real field real)."""
        if self.ndim == 1:
            return jnp.asarray(self._k_axis(0, derivative=True), dtype=self.dtype)
        ks = [np.broadcast_to(self._broadcast(i, self._k_axis(i, derivative=True)), self.shape)
              for i in range(self.ndim)]
        return jnp.asarray(np.stack(ks), dtype=self.dtype)

    @property
    def k_max(self) -> float | tuple[float, ...]:
        """Largest resolved wavenumber $\\pi/\\Delta x$ (per axis in nD)."""
        return self._scalar_in_1d(tuple(math.pi / d for d in self.spacing))

    # --- transforms -----------------------------------------------------------------------
    def _axes_arg(self) -> tuple[int, ...]:
        return tuple(range(-self.ndim, 0))

    def fftn(self, u: Array) -> Array:
        """Forward transform over the trailing `ndim` axes (numpy normalisation)."""
        if self.ndim == 1:
            return jnp.fft.fft(u, axis=-1)
        return jnp.fft.fftn(u, axes=self._axes_arg())

    def ifftn(self, u_hat: Array) -> Array:
        """Inverse of :meth:`fftn` over the trailing `ndim` axes."""
        if self.ndim == 1:
            return jnp.fft.ifft(u_hat, axis=-1)
        return jnp.fft.ifftn(u_hat, axes=self._axes_arg())

    def rfftn(self, u: Array) -> Array:
        """Forward transform of a real field over the trailing `ndim` axes; the result has the
        half-spectrum shape `spectral_shape(real=True)`."""
        if self.ndim == 1:
            return jnp.fft.rfft(u, axis=-1)
        return jnp.fft.rfftn(u, axes=self._axes_arg())

    def irfftn(self, u_hat: Array) -> Array:
        """Inverse of :meth:`rfftn` (a real field of the grid's shape)."""
        if self.ndim == 1:
            return jnp.fft.irfft(u_hat, n=self.shape[0], axis=-1)
        return jnp.fft.irfftn(u_hat, s=self.shape, axes=self._axes_arg())

    # 1D names kept for the NLSE code (the same transforms)
    def fft(self, u: Array) -> Array:
        """Alias of :meth:`fftn`."""
        return self.fftn(u)

    def ifft(self, u_hat: Array) -> Array:
        """Alias of :meth:`ifftn`."""
        return self.ifftn(u_hat)

    # --- transforms in a permuted Fourier order (1D, for time steppers) ------------------
    # Decimation in frequency by 4: with M = N/4, x viewed as (4, M) rows x[r M + m],
    #   X[4 k1 + k2] = FFT_M( W_N^(m k2) * sum_r W_4^(r k2) x[r M + m] )[k1],
    # so a radix-4 butterfly across contiguous rows, a twiddle and a batched FFT of 4 rows of
    # length M give X stored as rows k2, columns k1. XLA CPU's FFT runs 4 rows of 128 about
    # twice as fast as one row of 512 (it vectorises across rows), and the butterflies fuse
    # into the neighbouring elementwise work. The inverse runs the same steps backwards and
    # lands in natural order, so only Fourier space is permuted.
    def _use_radix4(self) -> bool:
        # (N = 64 gains little at run time and pays ~2x in compile time)
        n = self.shape[0]
        return self.ndim == 1 and n % 4 == 0 and n >= 128

    def permutation(self) -> np.ndarray:
        """Index array `p` with `fft_permuted(u) == fft(u)[..., p]` (1D grids; the identity
        when the transforms are not split: `N` not a multiple of 4, or `N < 128`)."""
        if self.ndim != 1:
            raise ValueError("`permutation` is defined for 1D grids only.")
        n = self.shape[0]
        if not self._use_radix4():
            return np.arange(n)
        return (4 * np.arange(n // 4)[None, :] + np.arange(4)[:, None]).reshape(-1)

    def _twiddles(self, dtype, inverse):
        n = self.shape[0]
        m = n // 4
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
        lead, m = u.shape[:-1], self.shape[0] // 4
        v = u.reshape(lead + (4, m))
        a = jnp.stack(self._butterfly4(*(v[..., r, :] for r in range(4)), False), axis=-2)
        tw = self._twiddles(u.dtype, False).reshape((1,) * len(lead) + (4, m))
        return jnp.fft.fft(a * tw, axis=-1).reshape(u.shape)

    def ifft_permuted(self, u_hat: Array) -> Array:
        """Inverse of :meth:`fft_permuted`: `ifft` of the natural-order spectrum."""
        if not self._use_radix4():
            return self.ifft(u_hat)
        lead, m = u_hat.shape[:-1], self.shape[0] // 4
        tw = self._twiddles(u_hat.dtype, True).reshape((1,) * len(lead) + (4, m))
        e = jnp.fft.ifft(u_hat.reshape(lead + (4, m)), axis=-1) * tw
        return jnp.stack(self._butterfly4(*(e[..., r, :] for r in range(4)), True),
                         axis=-2).reshape(u_hat.shape)

    # --- quadrature -----------------------------------------------------------------------
    def integrate(self, f: Array) -> Array:
        """$\\int f\\,dx$ by the trapezoidal rule (weight $\\Delta V$ at every point), which is
        spectrally accurate for periodic smooth `f`; sums over the trailing `ndim` axes."""
        weight = jnp.asarray(self.cell_volume, dtype=jnp.real(f).dtype)
        return jnp.sum(f, axis=self._axes_arg()) * weight

    def mode_weights(self, *, real: bool = False) -> Float[Array, "*spectral"]:
        """Parseval weights $w$ with $\\int |u|^2 dx = \\sum_k w_k |\\hat u_k|^2$: $\\Delta V/N$
        for every mode of `fftn`; with `real`, doubled for the `rfftn` modes that stand for a
        conjugate pair (all but $k_{last} = 0$ and the last-axis Nyquist column)."""
        w = np.full(self.spectral_shape(real), self.cell_volume / self.size)
        if real:
            w[..., 1:self.shape[-1] // 2] *= 2.0
        return jnp.asarray(w, dtype=self.dtype)

    # --- spectral masks -------------------------------------------------------------------
    def dealias_mask(self, fraction: float = 2.0 / 3.0, *, real: bool = False
                     ) -> Float[Array, "*spectral"]:
        """Orszag's rule: 1 where $|k_i| \\le$ `fraction` $\\cdot k_{max,i}$ on every axis, else 0
        (2/3 by default).

        The 2/3 rule removes all aliasing of quadratic products; for the cubic NLSE term it
        removes the aliasing that lands on the retained modes only partially (a 1/2 rule would
        be exact), which in practice is enough to stop aliasing-driven instabilities.
        """
        fraction = check_finite_scalar("fraction", fraction)
        if not 0.0 < fraction <= 1.0:
            raise ValueError(f"`fraction` must be in (0, 1], got {fraction}.")
        keep = np.ones(self.spectral_shape(real), dtype=bool)
        for i in range(self.ndim):
            k_max = math.pi / self.spacing[i]
            keep = keep & self._broadcast(
                i, np.abs(self._k_axis(i, real)) <= fraction * k_max * (1 + 1e-12))
        return jnp.asarray(keep, dtype=self.dtype)

    def exponential_filter(self, alpha: float = 36.0, order: int = 36, *, real: bool = False
                           ) -> Float[Array, "*spectral"]:
        """Exponential filter $\\prod_i\\exp(-\\alpha (|k_i|/k_{max,i})^{p})$ of strength `alpha`
        and even order `p` (`alpha = 36` damps the highest mode to machine epsilon in
        float64)."""
        alpha = check_finite_scalar("alpha", alpha, nonnegative=True)
        order = check_positive_int("order", order, even=True, minimum=2)
        out = np.ones(self.spectral_shape(real))
        for i in range(self.ndim):
            ratio = np.abs(self._k_axis(i, real)) / (math.pi / self.spacing[i])
            out = out * self._broadcast(i, np.exp(-alpha * ratio**order))
        return jnp.asarray(out, dtype=self.dtype)

    def wavenumber_index(self, wavenumber: float) -> int:
        """Index of the FFT mode whose (non-negative) wavenumber is closest to `wavenumber`
        (1D grids)."""
        if self.ndim != 1:
            raise ValueError("`wavenumber_index` is defined for 1D grids only.")
        return int(np.argmin(np.abs(self._k_axis(0) - abs(wavenumber))))


class ExponentialFilter(eqx.Module):
    """Configuration of the exponential spectral filter $\\exp(-\\alpha (|k|/k_{max})^{p})$
    (a product over axes in nD).

    **Arguments:**

    - `alpha`: strength (>= 0); 36 makes the top mode's factor about machine epsilon.
    - `order`: even order $p$ (larger: sharper cut-off, fewer modes touched).
    """

    alpha: float = eqx.field(static=True, default=36.0)
    order: int = eqx.field(static=True, default=36)

    def __check_init__(self):
        check_finite_scalar("alpha", self.alpha, nonnegative=True)
        check_positive_int("order", self.order, even=True, minimum=2)

    def mask(self, grid: FourierGrid, *, real: bool = False) -> Float[Array, "*spectral"]:
        return grid.exponential_filter(self.alpha, self.order, real=real)
