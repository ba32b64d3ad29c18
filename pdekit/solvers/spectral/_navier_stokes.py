"""Two-dimensional incompressible Navier–Stokes in vorticity form on the torus."""

from __future__ import annotations

import math
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Complex, Float

from ..._misc import check_finite_array, is_tracer
from ._equation_utils import check_grid, coefficient, parseval_energy, symbol, times_i
from ._grid import FourierGrid
from ._problem import AbstractSpectralProblem


class NavierStokes2D(AbstractSpectralProblem):
    r"""2D incompressible Navier–Stokes equations in vorticity form on the periodic box
    $[-L_x/2, L_x/2)\times[-L_y/2, L_y/2)$:

    $$\omega_t + \mathbf u\cdot\nabla\omega = \nu\Delta\omega - \alpha\,\omega + f,\qquad
    \mathbf u = (\psi_y, -\psi_x),\quad -\Delta\psi = \omega,$$

    for the real vorticity $\omega = \partial_x u_2 - \partial_y u_1$ (stream function $\psi$
    with zero mean; the mean of $\omega$ is conserved, zero for a velocity field on the torus).
    Linear symbol $L(k) = -\nu|k|^2 - \alpha$; nonlinearity
    $\mathcal N(\hat\omega) = -\mathcal F[\mathbf u\cdot\nabla\omega] + \hat f$ with the
    advection evaluated pseudo-spectrally (in Basdevant's form: 2 inverse and 2 forward real
    FFTs, batched) and dealiased by the 2/3 rule by default; the time-independent forcing is
    added unmasked.
    Stiff through $\nu|k|^2$ at fine grids: :class:`ETDRK4` is the method of choice.

    The FNO data sets (Li et al. 2021, arXiv:2010.08895) are :meth:`fno`: $[0,1]^2$ (here
    $[-1/2,1/2)^2$; the forcing is 1-periodic in $x+y$, so the shift does not matter),
    $f = 0.1(\sin 2\pi(x+y) + \cos 2\pi(x+y))$, $\nu \in \{10^{-3}, 10^{-4}, 10^{-5}\}$,
    $\alpha = 0$. Units: $\nu$ length²/time, $\alpha$ and $\omega$ 1/time, $f$ 1/time².

    **Arguments:**

    - `grid`: a 2D :class:`FourierGrid`.
    - `viscosity`: $\nu \ge 0$ (real scalar, array leaf: vmappable, differentiable).
    - `forcing`: $f$ in physical space, a real array of shape `grid.shape`, or None (no
      forcing). Stored as its real FFT (an array leaf).
    - `drag`: linear (Ekman) drag $\alpha \ge 0$ (real scalar, array leaf; default 0).
    - `dealias`: 2/3 rule on the advection term (default True).

    Diagnostics: `energy` $\tfrac12\int|\mathbf u|^2$, `enstrophy` $\tfrac12\int\omega^2$
    (both conserved by the dealiased inviscid unforced dynamics, decaying with viscosity),
    `palinstrophy` $\tfrac12\int|\nabla\omega|^2$ (so $dZ/dt = -2\nu P$ unforced), and
    `circulation` $\int\omega$ (conserved for a mean-free forcing).

    **Raises:** `ValueError` for a grid that is not a 2D :class:`FourierGrid`, a bad
    coefficient (non-scalar, complex, non-finite, negative), or a `forcing` of the wrong shape,
    complex or non-finite.
    """

    grid: FourierGrid
    viscosity: Float[Array, ""]
    drag: Float[Array, ""]
    forcing_hat: Complex[Array, "Nx Ky"] | None
    dealias: bool = eqx.field(static=True)
    real_valued: ClassVar[bool] = True
    linear_symbol_is_real: ClassVar[bool] = True

    def __init__(self, grid: FourierGrid, viscosity: ArrayLike = 1e-3,
                 forcing: ArrayLike | None = None, *, drag: ArrayLike = 0.0,
                 dealias: bool = True):
        self.grid = check_grid(grid, 2, "NavierStokes2D")
        self.viscosity = coefficient("viscosity", viscosity, grid.dtype, nonnegative=True)
        self.drag = coefficient("drag", drag, grid.dtype, nonnegative=True)
        if forcing is None:
            self.forcing_hat = None
        else:
            if isinstance(forcing, (list, tuple)):
                forcing = np.asarray(forcing)
            if jnp.shape(forcing) != grid.shape:
                raise ValueError(f"`forcing` must have the grid's shape {grid.shape}, got "
                                 f"{jnp.shape(forcing)}.")
            if jnp.iscomplexobj(forcing):
                raise ValueError("`forcing` must be real.")
            if not is_tracer(forcing):
                check_finite_array("forcing", np.asarray(forcing))
            self.forcing_hat = grid.rfftn(jnp.asarray(forcing).astype(grid.dtype))
        self.dealias = bool(dealias)

    @classmethod
    def fno(cls, num_points: int = 64, viscosity: ArrayLike = 1e-3, *, dtype=None,
            dealias: bool = True) -> NavierStokes2D:
        """The FNO setting on the unit torus with `num_points`² points (see above)."""
        grid = FourierGrid((num_points, num_points), 1.0, dtype=dtype)
        return cls(grid, viscosity, fno_forcing(grid), dealias=dealias)

    @property
    def linear_symbol(self) -> Complex[Array, "Nx Ky"]:
        """$L(k) = -\\nu|k|^2 - \\alpha$."""
        return symbol(-self.viscosity * self.k_squared() - self.drag, None, self.spectral_shape)

    @property
    def spectral_mask(self) -> Float[Array, "Nx Ky"] | None:
        """The 2/3 mask (with `dealias`), else None."""
        return self.dealias_mask() if self.dealias else None

    def _inverse_laplacian(self) -> Float[Array, "Nx Ky"]:
        k2 = self.k_squared()
        return jnp.where(k2 > 0, 1.0 / jnp.where(k2 > 0, k2, 1.0), 0.0)

    def nonlinear(self, u_hat: Complex[Array, "Nx Ky"]) -> Complex[Array, "Nx Ky"]:
        r"""$-\mathcal F[\mathbf u\cdot\nabla\omega]$ (masked) $+ \hat f$.

        Evaluated in Basdevant's form (Basdevant 1983, doi:10.1016/0021-9991(83)90116-4): for
        a divergence-free $\mathbf u = (u, v)$,
        $\mathbf u\cdot\nabla\omega = (\partial_{xx} - \partial_{yy})(uv)
        + \partial_{xy}(v^2 - u^2)$, so a step needs 2 inverse FFTs ($u$, $v$) and 2 forward
        ones ($uv$, $v^2 - u^2$) instead of the 4 + 1 of the advective form; the products
        are quadratic, so the 2/3 rule removes their aliasing all the same."""
        grid = self.grid
        kx, ky = self.wavenumbers(derivative=True)
        inv = self._inverse_laplacian()
        shape = self.spectral_shape
        # u = psi_y = i ky w/|k|^2, v = -psi_x = -i kx w/|k|^2 (one batched inverse FFT)
        coef = jnp.stack([jnp.broadcast_to(c, shape) for c in (ky * inv, -kx * inv)])
        # one batched inverse FFT for both components (indexing one result twice: a
        # per-component call would transform both twice when XLA does not CSE it)
        uv_phys = grid.irfftn(times_i(coef, u_hat[..., None, :, :]))
        u, v = uv_phys[..., 0, :, :], uv_phys[..., 1, :, :]
        products = grid.rfftn(jnp.stack([u * v, v * v - u * u], axis=-3))
        # -(d_xx - d_yy) F[uv] - d_xy F[v^2 - u^2] = (kx^2 - ky^2) F[uv] + kx ky F[v^2 - u^2]
        a = jnp.broadcast_to(kx * kx - ky * ky, shape)
        b = jnp.broadcast_to(kx * ky, shape)
        mask = self.spectral_mask
        if mask is not None:
            a, b = a * mask, b * mask
        uv, diff = products[..., 0, :, :], products[..., 1, :, :]
        out = jax.lax.complex(a * uv.real + b * diff.real, a * uv.imag + b * diff.imag)
        return out if self.forcing_hat is None else out + self.forcing_hat

    def velocity(self, omega: Float[Array, "*batch Nx Ny"]) -> Float[Array, "*batch 2 Nx Ny"]:
        """The velocity $(u_1, u_2) = (\\psi_y, -\\psi_x)$ of vorticity fields `omega`,
        stacked on a new axis before the two spatial ones."""
        grid = self.grid
        kx, ky = self.wavenumbers(derivative=True)
        inv = self._inverse_laplacian()
        w_hat = grid.rfftn(omega)
        coef = jnp.stack([jnp.broadcast_to(c, self.spectral_shape)
                          for c in (ky * inv, -kx * inv)])
        return grid.irfftn(times_i(coef, w_hat[..., None, :, :]))

    def diagnostics(self, us: Float[Array, "T Nx Ny"]) -> dict[str, Float[Array, " T"]]:
        """Energy, enstrophy, palinstrophy and circulation of the saved vorticity fields."""
        k2 = self.k_squared()
        return dict(energy=parseval_energy(self, us, self._inverse_laplacian()),
                    enstrophy=parseval_energy(self, us),
                    palinstrophy=parseval_energy(self, us, k2),
                    circulation=self.grid.integrate(us))


def fno_forcing(grid: FourierGrid) -> Float[Array, "Nx Ny"]:
    r"""The forcing of the FNO Navier–Stokes data, $0.1(\sin 2\pi(x+y) + \cos 2\pi(x+y))$,
    on the points of a 2D `grid` (meant for the unit torus)."""
    grid = check_grid(grid, 2, "fno_forcing")
    x, y = grid.x
    phase = (2.0 * math.pi) * (x + y)
    return 0.1 * (jnp.sin(phase) + jnp.cos(phase))
