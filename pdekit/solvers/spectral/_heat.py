"""The heat equation and linear advection–diffusion on a periodic box (exact in Fourier space)."""

from __future__ import annotations

from typing import ClassVar

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Complex, Float

from ..._misc import check_finite_array, is_tracer
from ._equation_utils import check_grid, coefficient, parseval_energy, symbol
from ._grid import FourierGrid
from ._problem import AbstractSpectralProblem, exp_symbol


class _Linear(AbstractSpectralProblem):
    """Shared parts of the linear problems: zero nonlinearity (identity flow), the exact
    propagator and the mass/energy diagnostics."""

    real_valued: ClassVar[bool] = True

    def nonlinear(self, u_hat: Complex[Array, "*spectral"]) -> Complex[Array, "*spectral"]:
        """Zero: the problem is linear."""
        return jnp.zeros_like(u_hat)

    def nonlinear_flow(self, u: Float[Array, "*shape"], dt: ArrayLike
                       ) -> Float[Array, "*shape"]:
        """The identity (the nonlinear part is zero), so split-step methods are exact too."""
        del dt
        return u

    def propagate(self, u0: Float[Array, "*shape"], t: ArrayLike) -> Float[Array, "*shape"]:
        r"""The exact solution $u(t) = \mathcal F^{-1}[e^{L t}\hat u_0]$ (no time stepping;
        `t` a scalar time, vmap over it for several)."""
        return self.to_physical(exp_symbol(self.linear_symbol, t) * self.to_fourier(u0))

    def diagnostics(self, us: Float[Array, "T ..."]) -> dict[str, Float[Array, " T"]]:
        r"""`mass` $\int u\,dx$ (conserved), `mass_drift` (its change, absolute),
        `energy` $\tfrac12\int u^2dx$ (decays as $-\kappa\int|\nabla u|^2$)."""
        mass = self.grid.integrate(us)
        return dict(mass=mass, mass_drift=mass - mass[0],
                    energy=parseval_energy(self, us))


class Heat(_Linear):
    r"""Heat equation $u_t = \kappa\,\Delta u$ on the periodic box $\prod_i[-L_i/2, L_i/2)$
    (1D, 2D or 3D, the grid decides), real field.

    Linear symbol $L(k) = -\kappa|k|^2$, no nonlinearity, so every integrator is exact up to
    round-off (ETDRK4 and the Lawson methods reduce to $\hat u \leftarrow e^{Lh}\hat u$), and
    :meth:`propagate` gives the solution at any time directly. Units: $\kappa$ in
    length²/time.

    **Arguments:**

    - `grid`: the :class:`FourierGrid`.
    - `diffusivity`: $\kappa \ge 0$ (real scalar, array leaf: vmappable, differentiable).

    Diagnostics: `mass` $\int u$ (conserved), `mass_drift`, `energy` $\tfrac12\int u^2$.

    **Raises:** `ValueError` for a grid that is not a :class:`FourierGrid` or a non-scalar,
    complex, non-finite or negative `diffusivity`.
    """

    grid: FourierGrid
    diffusivity: Float[Array, ""]
    linear_symbol_is_real: ClassVar[bool] = True

    def __init__(self, grid: FourierGrid, diffusivity: ArrayLike = 1.0):
        self.grid = check_grid(grid)
        self.diffusivity = coefficient("diffusivity", diffusivity, grid.dtype, nonnegative=True)

    @property
    def linear_symbol(self) -> Complex[Array, "*spectral"]:
        """$L(k) = -\\kappa|k|^2$."""
        return symbol(-self.diffusivity * self.k_squared(), None, self.spectral_shape)


class AdvectionDiffusion(_Linear):
    r"""Linear advection–diffusion $u_t + c\cdot\nabla u = \kappa\,\Delta u$ with a constant
    velocity $c$ on the periodic box (1D, 2D or 3D), real field.

    Linear symbol $L(k) = -\kappa|k|^2 - i\,c\cdot k$ (odd derivative: the Nyquist modes get
    $k = 0$, which keeps the field real), no nonlinearity: the exact solution is the initial
    state translated by $ct$ and damped mode by mode, $\hat u_k(t) = e^{-\kappa|k|^2t}
    e^{-ic\cdot k\,t}\hat u_k(0)$ (:meth:`propagate`). Units: $\kappa$ in length²/time, $c$ in
    length/time.

    **Arguments:**

    - `grid`: the :class:`FourierGrid`.
    - `diffusivity`: $\kappa \ge 0$ (real scalar, array leaf).
    - `velocity`: $c$, one real component per axis: shape `(grid.ndim,)` (a scalar is allowed
      in 1D); an array leaf.

    Diagnostics: as :class:`Heat`.

    **Raises:** `ValueError` for a bad grid, `diffusivity` (see :class:`Heat`) or a `velocity`
    of the wrong shape, complex or non-finite.
    """

    grid: FourierGrid
    diffusivity: Float[Array, ""]
    velocity: Float[Array, " d"]

    def __init__(self, grid: FourierGrid, diffusivity: ArrayLike = 1.0,
                 velocity: ArrayLike = 1.0):
        self.grid = check_grid(grid)
        self.diffusivity = coefficient("diffusivity", diffusivity, grid.dtype, nonnegative=True)
        if isinstance(velocity, (list, tuple)):
            velocity = np.asarray(velocity)
        shape = jnp.shape(velocity)
        if shape not in ((grid.ndim,),) and not (shape == () and grid.ndim == 1):
            raise ValueError(f"`velocity` must have shape ({grid.ndim},) (one component per "
                             f"axis of the {grid.ndim}D grid), got {shape}.")
        if jnp.iscomplexobj(velocity):
            raise ValueError("`velocity` must be real.")
        if not is_tracer(velocity):
            check_finite_array("velocity", np.asarray(velocity))
        self.velocity = jnp.reshape(jnp.asarray(velocity).astype(grid.dtype), (grid.ndim,))

    @property
    def linear_symbol(self) -> Complex[Array, "*spectral"]:
        """$L(k) = -\\kappa|k|^2 - i\\,c\\cdot k$."""
        ks = self.wavenumbers(derivative=True)
        ck = sum(self.velocity[i] * k for i, k in enumerate(ks))
        return symbol(-self.diffusivity * self.k_squared(), -ck, self.spectral_shape)
