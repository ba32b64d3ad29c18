"""The interface every pseudo-spectral problem implements, so that each equation is one file and
every integrator (and :func:`solve`) applies to it."""

from __future__ import annotations

import abc
from typing import Any, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Inexact

from ._grid import FourierGrid


def mask_product(u_hat: Array, mask: Array | None) -> Array:
    """`u_hat * mask` for a real `mask` (None: unchanged), as two real products: a complex
    array times a real one is neither allowed under strict dtype promotion nor cheap (XLA does
    a full complex product)."""
    if mask is None:
        return u_hat
    if not jnp.iscomplexobj(u_hat):
        return u_hat * mask
    return jax.lax.complex(u_hat.real * mask, u_hat.imag * mask)


def exp_symbol(symbol: Array, t: Any) -> Array:
    """$e^{L t}$ for a complex symbol and a real time `t` (cast to the symbol's dtype, as
    strict promotion requires)."""
    return jnp.exp(symbol * jnp.asarray(t).astype(symbol.dtype))


class AbstractSpectralProblem(eqx.Module):
    r"""A semilinear evolution equation $u_t = \mathcal{L}u + \mathcal{N}(u)$ on a periodic
    :class:`FourierGrid`, written in Fourier space as
    $\hat u_t = L(k)\,\hat u + \hat{\mathcal N}(\hat u)$ with a *diagonal* linear part.

    A concrete problem (an equinox Module: its physical coefficients are array leaves, so they
    vmap and differentiate; its structure is static) provides:

    - `grid`: the :class:`FourierGrid` (field);
    - `real_valued` (class variable): `True` for real fields (Burgers, KdV, KS, Navier–Stokes
      vorticity): the state in Fourier space is the `rfftn` half spectrum
      (`grid.spectral_shape(real=True)`), transforms are `rfftn`/`irfftn`, and the solution is
      real. `False` (the default) for complex fields (NLSE): full `fftn` spectrum. The half
      spectrum halves the cost of every transform and keeps the state exactly real (no
      projection needed), so it is the layout for real problems;
    - :attr:`linear_symbol`: $L(k)$ on the spectral layout, in the complex dtype of the grid's
      precision (:attr:`FourierGrid.complex_dtype`);
    - :meth:`nonlinear`: $\hat{\mathcal N}(\hat u)$ (masked, if the problem dealiases);
    - optionally :meth:`nonlinear_flow`, the exact flow of $u_t = \mathcal N(u)$ in physical
      space (split-step methods require it and refuse problems without it);
    - optionally :meth:`diagnostics` (its own conserved quantities, at every saved state),
      :attr:`spectral_mask` (dealiasing/filter, applied by split-step methods after the
      nonlinear sub-step), and the flags below that let methods take faster paths.

    Flags (class-level or properties; all default to `False`):

    - `linear_symbol_is_imaginary`: $L$ is purely imaginary (dispersive, unitary propagators
      $|e^{Lh}| = 1$): methods may use $e^{-Lh} = \overline{e^{Lh}}$ and cos/sin of a real phase.
    - `linear_symbol_is_even`: $L(-k) = L(k)$ in the full FFT layout, so propagators of half
      the modes are copies (1D permuted loop of the adaptive Lawson methods).
    - `supports_permuted_order`: `nonlinear(u_hat, permuted=True)` accepts and returns the
      1D radix-4 order of :meth:`FourierGrid.permutation` (a faster transform pair).
    """

    grid: eqx.AbstractVar[FourierGrid]
    real_valued: ClassVar[bool] = False
    linear_symbol_is_imaginary: ClassVar[bool] = False
    linear_symbol_is_even: ClassVar[bool] = False
    supports_permuted_order: ClassVar[bool] = False

    # --- what every problem defines ------------------------------------------------------
    @property
    @abc.abstractmethod
    def linear_symbol(self) -> Inexact[Array, "*spectral"]:
        """$L(k)$ on :attr:`spectral_shape`, complex dtype."""

    @abc.abstractmethod
    def nonlinear(self, u_hat: Inexact[Array, "*spectral"]) -> Inexact[Array, "*spectral"]:
        """$\\hat{\\mathcal N}(\\hat u)$, same shape and dtype as `u_hat`."""

    # --- optional ------------------------------------------------------------------------
    def nonlinear_flow(self, u: Inexact[Array, "*shape"], dt: Any) -> Inexact[Array, "*shape"]:
        """Exact flow of $u_t = \\mathcal N(u)$ over `dt`, in physical space (for split-step
        methods). Problems without one leave this undefined."""
        raise NotImplementedError

    @property
    def has_nonlinear_flow(self) -> bool:
        """Whether the problem defines :meth:`nonlinear_flow`."""
        return type(self).nonlinear_flow is not AbstractSpectralProblem.nonlinear_flow

    def diagnostics(self, us: Inexact[Array, "T ..."]) -> dict[str, Float[Array, " T"]]:
        """The problem's own diagnostics (conserved quantities, drifts) of saved states `us`;
        none by default. :func:`solve` puts them in `Solution.stats`."""
        del us
        return {}

    @property
    def spectral_mask(self) -> Float[Array, "*spectral"] | None:
        """Dealiasing mask times filter on the spectral layout, or None (the default)."""
        return None

    # --- provided ------------------------------------------------------------------------
    @property
    def spectral_shape(self) -> tuple[int, ...]:
        """Shape of the Fourier-space state."""
        return self.grid.spectral_shape(real=self.real_valued)

    @property
    def state_dtype(self):
        """dtype of the physical state: the grid's real dtype for real problems, else its
        complex dtype."""
        return jnp.dtype(self.grid.dtype) if self.real_valued else self.grid.complex_dtype

    def to_fourier(self, u: Array) -> Array:
        """Physical state -> Fourier state (`rfftn` or `fftn` over the trailing axes)."""
        return self.grid.rfftn(u) if self.real_valued else self.grid.fftn(u)

    def to_physical(self, u_hat: Array) -> Array:
        """Fourier state -> physical state (`irfftn` or `ifftn`)."""
        return self.grid.irfftn(u_hat) if self.real_valued else self.grid.ifftn(u_hat)

    def wavenumbers(self, *, derivative: bool = False) -> tuple[Float[Array, "*spectral"], ...]:
        """Per-axis wavenumbers broadcastable against the problem's spectral layout."""
        return self.grid.wavenumbers(real=self.real_valued, derivative=derivative)

    def k_squared(self) -> Float[Array, "*spectral"]:
        """$|k|^2$ on the problem's spectral layout."""
        return self.grid.k_squared(real=self.real_valued)

    def dealias_mask(self, fraction: float = 2.0 / 3.0) -> Float[Array, "*spectral"]:
        """The grid's 2/3-rule mask on the problem's spectral layout."""
        return self.grid.dealias_mask(fraction, real=self.real_valued)

    def apply_mask(self, u_hat: Array) -> Array:
        """`u_hat * spectral_mask` (unchanged without a mask)."""
        return mask_product(u_hat, self.spectral_mask)

    def rhs(self, u_hat: Array) -> Array:
        """$L\\hat u + \\hat{\\mathcal N}(\\hat u)$."""
        return self.linear_symbol * u_hat + self.nonlinear(u_hat)

    def check_interface(self) -> None:
        """Eager consistency check of a (new) problem's pieces: the symbol's shape and dtype.
        :func:`solve` calls it; raises `ValueError` naming what is wrong."""
        symbol = self.linear_symbol
        if tuple(np.shape(symbol)) != self.spectral_shape:
            raise ValueError(
                f"`{type(self).__name__}.linear_symbol` has shape {np.shape(symbol)}, expected "
                f"the spectral shape {self.spectral_shape} (`grid.spectral_shape(real="
                f"{self.real_valued})`).")
        if jnp.result_type(symbol) != self.grid.complex_dtype:
            raise ValueError(
                f"`{type(self).__name__}.linear_symbol` has dtype {jnp.result_type(symbol)}, "
                f"expected {self.grid.complex_dtype} (cast it with "
                "`.astype(grid.complex_dtype)`).")
