"""Second-order exponential time differencing Runge–Kutta (ETD2RK, Cox & Matthews 2002)."""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Inexact

from ..._misc import check_positive_int
from ._base import AbstractFixedStepMethod
from ._etdrk import _half_circle, contour_mean, contour_points, real_if_real_symbol
from ._problem import mask_product


class ETDRK2(AbstractFixedStepMethod):
    r"""ETD2RK (Cox & Matthews 2002, doi:10.1006/jcph.2002.6995, eq. (22)), 2nd order:

    $$a = e^{Lh}\hat u + \varphi_1 \mathcal N(\hat u),\qquad
    \hat u_{n+1} = a + \varphi_2\,(\mathcal N(a) - \mathcal N(\hat u)),$$

    $\varphi_1 = (e^{Lh} - 1)/L$, $\varphi_2 = (e^{Lh} - 1 - hL)/(hL^2)$, evaluated as means over
    `num_contour_points` points on the unit circle around $hL$ (as :class:`ETDRK4`, no
    cancellation near $hL = 0$). Two nonlinear evaluations per step (half of ETDRK4's): the
    cheaper method when a loose accuracy (~1e-3) is enough, e.g. for training data. The linear
    part is exact; real coefficients for problems flagged `linear_symbol_is_real`.

    **Arguments:**

    - `num_contour_points`: points on the contour (default 32).
    """

    order: ClassVar[int] = 2
    num_contour_points: int = eqx.field(static=True, default=32)

    def __check_init__(self):
        check_positive_int("num_contour_points", self.num_contour_points, minimum=8)

    def coefficients(self, problem, h):
        m = self.num_contour_points
        hc, hl, z = contour_points(problem, h, m)
        ez = jnp.exp(z)
        inv = 1.0 / z  # one division per point (see ETDRK4.coefficients)
        hr = hc.real if _half_circle(problem, m) else hc
        phi1 = hr * contour_mean(problem, (ez - 1.0) * inv, m)
        phi2 = hr * contour_mean(problem, (ez - 1.0 - z) * (inv * inv), m)
        return real_if_real_symbol(problem, (jnp.exp(hl), phi1, phi2))

    def step(self, problem, coeffs, u_hat: Inexact[Array, " *spectral"]
             ) -> Inexact[Array, " *spectral"]:
        e, phi1, phi2 = coeffs
        real = not jnp.iscomplexobj(e)

        def mul(coef, z):
            return mask_product(z, coef) if real else coef * z

        nv = problem.nonlinear(u_hat)
        a = mul(e, u_hat) + mul(phi1, nv)
        return a + mul(phi2, problem.nonlinear(a) - nv)
