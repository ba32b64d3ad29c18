"""Exponential time differencing Runge–Kutta (ETDRK4) of Cox–Matthews / Kassam–Trefethen."""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Inexact

from ..._misc import check_positive_int
from ._base import AbstractFixedStepMethod
from ._problem import mask_product


def contour_points(problem, h, m: int):
    """`(h, hL, z)` for the φ-functions of exponential integrators by the Kassam–Trefethen
    contour mean: `z = hL + e^{iθ_j}`, `θ_j = 2π(j + 1/2)/m`, around each `hL` (avoids the
    cancellation of the direct formulas near `hL = 0`); shape `(*spectral, m)`, or
    `(*spectral, m/2)` for a real symbol and even `m`: then only the upper half circle, as
    in Kassam & Trefethen's code, since `φ(conj z) = conj φ(z)` makes the full-circle mean the
    real part of the half-circle one (:func:`contour_mean`); half the complex work, the same
    coefficients."""
    symbol = problem.linear_symbol
    hc = jnp.asarray(h).astype(symbol.dtype)
    hl = symbol * hc
    num = m // 2 if _half_circle(problem, m) else m
    roots = jnp.asarray(np.exp(2j * np.pi * (np.arange(num) + 0.5) / m), dtype=hl.dtype)
    return hc, hl, hl[..., None] + roots.reshape((1,) * hl.ndim + (num,))


def _half_circle(problem, m: int) -> bool:
    return bool(problem.linear_symbol_is_real) and m % 2 == 0


def contour_mean(problem, values, m: int):
    """The mean of `values` (one φ-expression at the :func:`contour_points`) over the full
    circle: the real part of the half-circle mean for a real symbol."""
    if _half_circle(problem, m):
        return jnp.mean(values.real, axis=-1)
    return jnp.mean(values, axis=-1)


def real_if_real_symbol(problem, coeffs: tuple) -> tuple:
    """Real parts of the coefficients when the problem's symbol is real: the contour means are
    real up to round-off, and real coefficients make every product with the state two real
    multiplications instead of a complex one."""
    return tuple(c.real for c in coeffs) if problem.linear_symbol_is_real else coeffs


class ETDRK4(AbstractFixedStepMethod):
    r"""ETDRK4 (Cox & Matthews 2002) with φ-coefficients by contour integrals (Kassam & Trefethen
    2005, doi:10.1137/S1064827502410633), 4th order.

    The linear part $\mathcal{L}$ (diagonal in Fourier space) is integrated exactly; the
    coefficients $f_1, f_2, f_3, Q$ are means of their defining expressions over
    `num_contour_points` points on the unit circle around each $h\mathcal{L}(k)$, which avoids the
    cancellation of the closed forms near $h\mathcal{L} = 0$. The full circle is used (not the
    half circle + real part of the paper, which needs real $\mathcal{L}$), so real
    (dissipative, e.g. Kuramoto–Sivashinsky), imaginary (dispersive, NLSE, KdV) and complex
    symbols are all handled. 4 nonlinear evaluations (8 FFTs) per step; mass is not conserved
    exactly (drift $O(h^4)$ per unit time).

    **Arguments:**

    - `num_contour_points`: points on the contour (default 32; error decays like $2^{-M}$).
    """

    order: ClassVar[int] = 4
    num_contour_points: int = eqx.field(static=True, default=32)

    def __check_init__(self):
        check_positive_int("num_contour_points", self.num_contour_points, minimum=8)

    def coefficients(self, problem, h):
        m = self.num_contour_points
        hc, hl, lr = contour_points(problem, h, m)
        # one complex exp and one reciprocal per point (complex exp and division dominate:
        # this runs once per solve call, ~1.5 ms for 513 modes with 4 divisions and 2 exps)
        elr2 = jnp.exp(lr / 2)
        elr = elr2 * elr2
        inv = 1.0 / lr
        inv3 = inv * inv * inv
        lr2 = lr * lr

        def mean(v):
            return contour_mean(problem, v, m)

        hr = hc.real if _half_circle(problem, m) else hc
        q = hr * mean((elr2 - 1.0) * inv)
        f1 = hr * mean((-4.0 - lr + elr * (4.0 - 3.0 * lr + lr2)) * inv3)
        f2 = hr * mean((2.0 + lr + elr * (lr - 2.0)) * inv3)
        f3 = hr * mean((-4.0 - 3.0 * lr - lr2 + elr * (4.0 - lr)) * inv3)
        return real_if_real_symbol(problem, (jnp.exp(hl), jnp.exp(hl / 2), q, f1, f2, f3))

    def step(self, problem, coeffs, u_hat: Inexact[Array, " *spectral"]
             ) -> Inexact[Array, " *spectral"]:
        e, e2, q, f1, f2, f3 = coeffs
        real = not jnp.iscomplexobj(e)

        def mul(coef, z):
            return mask_product(z, coef) if real else coef * z

        nv = problem.nonlinear(u_hat)
        a = mul(e2, u_hat) + mul(q, nv)
        na = problem.nonlinear(a)
        b = mul(e2, u_hat) + mul(q, na)
        nb = problem.nonlinear(b)
        c = mul(e2, a) + mul(q, 2.0 * nb - nv)
        nc = problem.nonlinear(c)
        return mul(e, u_hat) + mul(f1, nv) + mul(f2, 2.0 * (na + nb)) + mul(f3, nc)
