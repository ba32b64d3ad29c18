"""The Kuramoto–Sivashinsky equation in 1D."""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
from jaxtyping import Array, ArrayLike, Complex, Float

from ._equation_utils import AbstractConvection1D, check_grid, coefficient, parseval_energy, symbol
from ._grid import FourierGrid


class KuramotoSivashinsky(AbstractConvection1D):
    r"""Kuramoto–Sivashinsky equation in conservative form
    $u_t + a\,u u_x + u_{xx} + u_{xxxx} = 0$ on the periodic interval $[-L/2, L/2)$, real
    field (1D grids).

    Linear symbol $L(k) = k^2 - k^4$ (unstable for $0 < |k| < 1$, strongly damped above: stiff,
    the textbook case for :class:`ETDRK4`, Kassam & Trefethen 2005,
    doi:10.1137/S1064827502410633); nonlinearity $\mathcal N(u) = -\tfrac a2\partial_x(u^2)$,
    dealiased by the 2/3 rule by default. After scaling the domain length $L$ is the only
    parameter (chaotic for $L \gtrsim 22$; the classical case is $L = 32\pi$,
    $u_0 = \cos(x/16)(1 + \sin(x/16))$); $a$ only rescales $u$ and is kept as an array leaf
    for vmap/grad. Solutions stay bounded ($\limsup\|u\|_{L^2} = O(L^{3/2})$ or better).

    **Arguments:**

    - `grid`: a 1D :class:`FourierGrid`.
    - `convection`: $a$ (real scalar, array leaf; default 1).
    - `dealias`: 2/3 rule on the nonlinear term (default True).

    Diagnostics: `mass` $\int u$ (conserved), `mass_drift` (absolute), `energy`
    $\tfrac12\int u^2$.

    **Raises:** `ValueError` for a grid that is not a 1D :class:`FourierGrid` or a non-scalar,
    complex or non-finite `convection`.
    """

    grid: FourierGrid
    convection: Float[Array, ""]
    dealias: bool = eqx.field(static=True)
    real_valued: ClassVar[bool] = True
    linear_symbol_is_real: ClassVar[bool] = True

    def __init__(self, grid: FourierGrid, convection: ArrayLike = 1.0, *,
                 dealias: bool = True):
        self.grid = check_grid(grid, 1, "KuramotoSivashinsky")
        self.convection = coefficient("convection", convection, grid.dtype)
        self.dealias = bool(dealias)

    @property
    def linear_symbol(self) -> Complex[Array, " K"]:
        """$L(k) = k^2 - k^4$."""
        k2 = self.k_squared()
        return symbol(k2 - k2 * k2, None, self.spectral_shape)

    def diagnostics(self, us: Float[Array, "T N"]) -> dict[str, Float[Array, " T"]]:
        """Mass, its absolute drift and the energy."""
        mass = self.grid.integrate(us)
        return dict(mass=mass, mass_drift=mass - mass[0], energy=parseval_energy(self, us))
