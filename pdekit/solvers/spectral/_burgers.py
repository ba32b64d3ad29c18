"""Viscous Burgers equation in 1D."""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
from jaxtyping import Array, ArrayLike, Complex, Float

from ._equation_utils import (
    AbstractConvection1D,
    check_grid,
    coefficient,
    drift,
    parseval_energy,
    symbol,
)
from ._grid import FourierGrid


class Burgers(AbstractConvection1D):
    r"""Viscous Burgers equation $u_t + a\,u u_x = \nu u_{xx}$ on the periodic interval
    $[-L/2, L/2)$, real field (1D grids).

    Linear symbol $L(k) = -\nu k^2$; nonlinearity in conservative form
    $\mathcal N(u) = -\tfrac a2\partial_x(u^2)$, evaluated pseudo-spectrally and, by default,
    dealiased by the 2/3 rule (the quadratic product then has no aliasing on the kept modes).
    Stiff through $\nu k^2$: use :class:`ETDRK4` (or a Lawson method). Smooth solutions for
    every $\nu > 0$ (Cole–Hopf); steep fronts of width $\sim\nu/|\Delta u|$ need
    $\Delta x \lesssim$ that width. Units: $\nu$ in length²/time, $a$ dimensionless.

    **Arguments:**

    - `grid`: a 1D :class:`FourierGrid`.
    - `viscosity`: $\nu \ge 0$ (real scalar, array leaf: vmappable, differentiable; default
      0.1, the FNO Burgers data set).
    - `convection`: $a$ (real scalar, array leaf; default 1).
    - `dealias`: apply the 2/3-rule mask to the nonlinear term (default True).

    Diagnostics: `mass` $\int u$ (conserved), `mass_drift` (absolute), `energy`
    $\tfrac12\int u^2$ (decays as $-\nu\int u_x^2$).

    **Raises:** `ValueError` for a grid that is not a 1D :class:`FourierGrid`, or a non-scalar,
    complex or non-finite coefficient (or a negative `viscosity`).
    """

    grid: FourierGrid
    viscosity: Float[Array, ""]
    convection: Float[Array, ""]
    dealias: bool = eqx.field(static=True)
    real_valued: ClassVar[bool] = True
    linear_symbol_is_real: ClassVar[bool] = True

    def __init__(self, grid: FourierGrid, viscosity: ArrayLike = 0.1,
                 convection: ArrayLike = 1.0, *, dealias: bool = True):
        self.grid = check_grid(grid, 1, "Burgers")
        self.viscosity = coefficient("viscosity", viscosity, grid.dtype, nonnegative=True)
        self.convection = coefficient("convection", convection, grid.dtype)
        self.dealias = bool(dealias)

    @property
    def linear_symbol(self) -> Complex[Array, " K"]:
        """$L(k) = -\\nu k^2$."""
        return symbol(-self.viscosity * self.k_squared(), None, self.spectral_shape)

    def diagnostics(self, us: Float[Array, "T N"]) -> dict[str, Float[Array, " T"]]:
        """Mass, its absolute drift, energy and its relative change."""
        mass = self.grid.integrate(us)
        energy = parseval_energy(self, us)
        return dict(mass=mass, mass_drift=mass - mass[0], energy=energy,
                    energy_change=drift(energy))
