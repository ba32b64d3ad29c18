"""Exponential time differencing Runge–Kutta (ETDRK4) of Cox–Matthews / Kassam–Trefethen."""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Inexact

from ..._misc import check_positive_int
from ._base import AbstractFixedStepMethod


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
        symbol = problem.linear_symbol
        hc = jnp.asarray(h).astype(symbol.dtype)
        hl = symbol * hc
        m = self.num_contour_points
        roots = jnp.asarray(np.exp(2j * np.pi * (np.arange(m) + 0.5) / m), dtype=hl.dtype)
        lr = hl[..., None] + roots.reshape((1,) * hl.ndim + (m,))
        elr = jnp.exp(lr)
        lr3 = lr**3
        q = hc * jnp.mean((jnp.exp(lr / 2) - 1.0) / lr, axis=-1)
        f1 = hc * jnp.mean((-4.0 - lr + elr * (4.0 - 3.0 * lr + lr * lr)) / lr3, axis=-1)
        f2 = hc * jnp.mean((2.0 + lr + elr * (lr - 2.0)) / lr3, axis=-1)
        f3 = hc * jnp.mean((-4.0 - 3.0 * lr - lr * lr + elr * (4.0 - lr)) / lr3, axis=-1)
        return jnp.exp(hl), jnp.exp(hl / 2), q, f1, f2, f3

    def step(self, problem, coeffs, u_hat: Inexact[Array, " *spectral"]
             ) -> Inexact[Array, " *spectral"]:
        e, e2, q, f1, f2, f3 = coeffs
        nv = problem.nonlinear(u_hat)
        a = e2 * u_hat + q * nv
        na = problem.nonlinear(a)
        b = e2 * u_hat + q * na
        nb = problem.nonlinear(b)
        c = e2 * a + q * (2.0 * nb - nv)
        nc = problem.nonlinear(c)
        return e * u_hat + f1 * nv + 2.0 * f2 * (na + nb) + f3 * nc
