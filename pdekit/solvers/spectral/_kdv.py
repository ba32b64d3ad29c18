"""The Korteweg–de Vries equation in 1D."""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
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


class KdV(AbstractConvection1D):
    r"""Korteweg–de Vries equation $u_t + a\,u u_x + b\,u_{xxx} = 0$ on the periodic interval
    $[-L/2, L/2)$, real field (1D grids). The defaults $a = 6$, $b = 1$ give the classical
    form, whose soliton is $u = \tfrac c2\,\mathrm{sech}^2(\tfrac{\sqrt c}{2}(x - ct - x_0))$
    (:meth:`soliton`).

    Linear symbol $L(k) = i b k^3$ (purely imaginary: dispersion is integrated exactly by the
    exponential and Lawson methods; the Nyquist mode gets $k = 0$ so the field stays real);
    nonlinearity $\mathcal N(u) = -\tfrac a2\partial_x(u^2)$, dealiased by the 2/3 rule by
    default. Very stiff ($b k_{max}^3$): use :class:`ETDRK4`, :class:`LawsonRK4`/`RK8` or an
    adaptive Lawson method.

    **Arguments:**

    - `grid`: a 1D :class:`FourierGrid`.
    - `convection`: $a$ (real scalar, array leaf; default 6).
    - `dispersion`: $b$ (real scalar, array leaf; default 1).
    - `dealias`: 2/3 rule on the nonlinear term (default True).

    Diagnostics (conserved by the PDE): `mass` $\int u$, `momentum` $\tfrac12\int u^2$ and the
    Hamiltonian `energy` $\int \tfrac b2 u_x^2 - \tfrac a6 u^3\,dx$, with `momentum_drift` and
    `energy_drift` (relative) and `mass_drift` (absolute).

    **Raises:** `ValueError` for a grid that is not a 1D :class:`FourierGrid` or a non-scalar,
    complex or non-finite coefficient.
    """

    grid: FourierGrid
    convection: Float[Array, ""]
    dispersion: Float[Array, ""]
    dealias: bool = eqx.field(static=True)
    real_valued: ClassVar[bool] = True
    linear_symbol_is_imaginary: ClassVar[bool] = True

    def __init__(self, grid: FourierGrid, convection: ArrayLike = 6.0,
                 dispersion: ArrayLike = 1.0, *, dealias: bool = True):
        self.grid = check_grid(grid, 1, "KdV")
        self.convection = coefficient("convection", convection, grid.dtype)
        self.dispersion = coefficient("dispersion", dispersion, grid.dtype)
        self.dealias = bool(dealias)

    @property
    def linear_symbol(self) -> Complex[Array, " K"]:
        """$L(k) = i b k^3$."""
        (k,) = self.wavenumbers(derivative=True)
        return symbol(jnp.zeros_like(k), self.dispersion * k**3, self.spectral_shape)

    def soliton(self, speed: ArrayLike, t: ArrayLike = 0.0, position: ArrayLike = 0.0
                ) -> Float[Array, " N"]:
        r"""The exact soliton of speed $c > 0$ centred at `position` + $ct$ at time `t`:
        $u = A\,\mathrm{sech}^2(\kappa(x - x_0 - ct))$ with $\kappa = \sqrt{c/(4b)}$,
        $A = 12 b\kappa^2/a$, summed over the periodic images within 3 periods (exact to
        round-off once $e^{-2\kappa L}$ is below it). Requires $c/b > 0$."""
        x = self.grid.x
        dtype = x.dtype
        length = self.grid.lengths[0]
        c = jnp.asarray(speed).astype(dtype)
        kappa = jnp.sqrt(c / (4.0 * self.dispersion))
        amplitude = 12.0 * self.dispersion * kappa**2 / self.convection
        centre = jnp.asarray(position).astype(dtype) + c * jnp.asarray(t).astype(dtype)
        # fold the centre into the box, then add the neighbouring images
        centre = jnp.mod(centre + 0.5 * length, length) - 0.5 * length
        out = jnp.zeros_like(x)
        for image in range(-3, 4):
            out = out + jnp.cosh(kappa * (x - centre - image * length)) ** -2
        return amplitude * out

    def diagnostics(self, us: Float[Array, "T N"]) -> dict[str, Float[Array, " T"]]:
        """Mass, momentum, Hamiltonian and their drifts."""
        grid = self.grid
        mass = grid.integrate(us)
        momentum = parseval_energy(self, us)
        (k,) = self.wavenumbers()
        gradient = 2.0 * parseval_energy(self, us, k * k)  # \int u_x^2
        energy = 0.5 * self.dispersion * gradient - self.convection / 6.0 * grid.integrate(us**3)
        return dict(mass=mass, mass_drift=mass - mass[0], momentum=momentum,
                    momentum_drift=drift(momentum), energy=energy, energy_drift=drift(energy))
