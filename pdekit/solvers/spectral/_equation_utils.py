"""Small helpers shared by the equation files (coefficient checks, derivative products)."""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Complex, Float

from ..._misc import is_tracer
from ._grid import FourierGrid
from ._nlse import check_real_scalar
from ._problem import AbstractSpectralProblem


def check_grid(grid: Any, ndim: int | None = None, name: str = "") -> FourierGrid:
    """`grid` checked to be a :class:`FourierGrid` (of dimension `ndim` if given)."""
    if not isinstance(grid, FourierGrid):
        raise ValueError(f"`grid` must be a FourierGrid, got {type(grid).__name__}.")
    if ndim is not None and grid.ndim != ndim:
        raise ValueError(f"`grid` must be {ndim}D for {name}, got a {grid.ndim}D grid of shape "
                         f"{grid.shape}.")
    return grid


def coefficient(name: str, value: Any, dtype: Any, *, nonnegative: bool = False) -> Array:
    """A real scalar coefficient as a 0-d array leaf of `dtype` (vmappable, differentiable).

    Eager checks (shape, kind, finiteness, and the sign with `nonnegative` when the value is
    concrete); tracers pass through unchecked beyond shape and kind."""
    check_real_scalar(name, value)
    if nonnegative and not is_tracer(value) and float(np.asarray(value)) < 0:
        raise ValueError(f"`{name}` must be >= 0, got {float(np.asarray(value))}.")
    return jnp.asarray(value).astype(dtype)


def times_i(coef: Array, z: Array) -> Array:
    """`1j * coef * z` for a real `coef` and a complex `z`, in real arithmetic (a complex
    product with a zero part is neither allowed under strict promotion nor folded by XLA)."""
    return jax.lax.complex(-coef * z.imag, coef * z.real)


def times_real(coef: Array, z: Array) -> Array:
    """`coef * z` for a real `coef` and a complex `z`, as two real products."""
    return jax.lax.complex(coef * z.real, coef * z.imag)


def symbol(re: Array, im: Array | None, shape: tuple[int, ...]) -> Array:
    """The complex symbol `re + 1j im` broadcast to `shape`."""
    re = jnp.broadcast_to(re, shape)
    im = jnp.zeros_like(re) if im is None else jnp.broadcast_to(im, shape)
    return jax.lax.complex(re, im)


def parseval_energy(problem: Any, us: Array, weight: Array | None = None) -> Array:
    """$\\tfrac12\\sum_k w_k\\,m_k|\\hat u_k|^2$ over the trailing axes of real states `us`
    (`m` an optional real spectral weight, e.g. $1/|k|^2$): $\\tfrac12\\int u^2 dx$ for
    `weight=None`."""
    u_hat = problem.grid.rfftn(us)
    power = u_hat.real**2 + u_hat.imag**2
    w = problem.grid.mode_weights(real=True)
    if weight is not None:
        w = w * weight
    w = jnp.reshape(w, (1,) * (power.ndim - w.ndim) + w.shape)
    axes = tuple(range(-problem.grid.ndim, 0))
    return 0.5 * jnp.sum(power * w, axis=axes)


def drift(values: Array) -> Array:
    """Relative drift `(q - q[0]) / max(|q[0]|, tiny)` of a diagnostic over the saved times."""
    scale = jnp.maximum(jnp.abs(values[0]), jnp.finfo(values.dtype).tiny)
    return (values - values[0]) / scale


def quadratic_convection(problem: Any, u_hat: Array, scale: Array) -> Array:
    r"""$-\tfrac{a}{2}\,\partial_x(u^2)$ in Fourier space (1D, rfft layout), $a$ = `scale`,
    masked by the problem's `spectral_mask`: the conservative form of $-a\,u u_x$ keeps
    $\int u$ exactly and, with the 2/3 rule, $\int u^2$ (the Galerkin-truncated quadratic term
    is energy neutral)."""
    grid = problem.grid
    u = grid.irfftn(u_hat)
    (k,) = problem.wavenumbers(derivative=True)
    coef = (-0.5 * scale) * k
    mask = problem.spectral_mask
    if mask is not None:
        coef = coef * mask
    return times_i(coef, grid.rfftn(u * u))


class AbstractConvection1D(AbstractSpectralProblem):
    r"""The part Burgers, KdV and Kuramoto–Sivashinsky share: the conservative convection term
    $-\tfrac a2 (u^2)_x$ (:func:`quadratic_convection`) as :meth:`nonlinear`, and the 2/3 rule as
    :attr:`spectral_mask` when `dealias` is set. A subclass declares the fields `convection`
    (the coefficient $a$) and `dealias` (static) and its own linear symbol."""

    convection: eqx.AbstractVar[Float[Array, ""]]
    dealias: eqx.AbstractVar[bool]

    @property
    def spectral_mask(self) -> Float[Array, " K"] | None:
        """The 2/3 mask (with `dealias`), else None."""
        return self.dealias_mask() if self.dealias else None

    def nonlinear(self, u_hat: Complex[Array, " K"]) -> Complex[Array, " K"]:
        r"""$\mathcal F[-\tfrac a2 (u^2)_x]$, masked."""
        return quadratic_convection(self, u_hat, self.convection)
