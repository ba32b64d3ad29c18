r"""Darcy flow with a moving high-conductivity inclusion: a test problem whose *operator* is
non-affine in the parameter, for local reduced bases.

``-div(kappa_c grad u) = I`` on the unit square, ``u = 0`` on the boundary, with
``kappa_c(x) = 1 + (contrast - 1) s((|x - c| - rho) / delta)``: a disc of radius ``rho``
and conductivity ``contrast >> 1`` centred at ``c``, its edge smoothed over ``delta``
(``s(t) = (1 - tanh t) / 2``, evaluated at each cell's centroid: one value per cell), so
that the fields depend continuously on ``c``. ``mu = (c_1, c_2, I)``: centre and load
intensity (log-uniform). Inside the inclusion the pressure is nearly flat; the flattened
patch travels with ``c``, so one global basis needs many modes while nearby centres give
nearly parallel fields. ``kappa_c`` is not a finite sum ``sum_q theta_q(mu) A_q`` (the
disc's cells change with ``c``), so ROM I's affine Galerkin ROMs do not apply as they stand:
use :class:`LocalNonIntrusiveROM` (POD + RBF per cluster), or assemble ``A(mu)`` per query
(:meth:`MovingInclusion.operator`) and project it on the routed local basis (``O(dofs)``
per query). The intensity only scales ``u`` (the problem is linear in the load), which
moves Euclidean distances but no angle.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._misc import check_finite_scalar, check_positive_int
from ..solvers import fem, linalg
from ._moving_source import AbstractCentreIntensityProblem, check_box_and_intensity

__all__ = ["MovingInclusion"]


class MovingInclusion(AbstractCentreIntensityProblem):
    r"""Darcy problem with a moving disc of high conductivity (module docstring); P1 on
    ``n x n`` cells of the unit square, ``mu = (c_1, c_2, I)``.

    **Arguments:**
    - `n`: cells per side (``(n+1)^2`` DOFs), >= 2.
    - `radius`: disc radius ``rho`` in (0, 0.5) (default 0.1).
    - `contrast`: conductivity inside the disc, > 0 (default 100; outside it is 1).
    - `smoothing`: edge width ``delta`` > 0 (default: half a cell, ``0.5 / n``).
    - `box`: ``(lo, hi)`` bounds of each centre coordinate, ``0 <= lo < hi <= 1``
      (default ``(0.2, 0.8)``).
    - `intensity`: ``(I_min, I_max)``, ``0 < I_min <= I_max``, sampled log-uniformly
      (default ``(0.1, 10)``; ``(1, 1)`` to make the centre the only parameter).
    - `dtype`: float dtype (default: float64 under x64, else float32).

    **Fields:** `space`, `problem` (:class:`pdekit.solvers.fem.Poisson`, ``u = 0`` on the
    boundary), `mass` (FEM mass matrix, the ``L^2`` inner product), `centroids` `(cells, 2)`.

    **Raises:** `ValueError` naming the argument for a bad value.
    """

    space: fem.FunctionSpace
    problem: fem.Poisson
    mass: linalg.CSRMatrix
    centroids: Float[Array, "cells 2"]
    radius: float = eqx.field(static=True)
    contrast: float = eqx.field(static=True)
    smoothing: float = eqx.field(static=True)
    box: tuple[float, float] = eqx.field(static=True)
    intensity: tuple[float, float] = eqx.field(static=True)

    def __init__(self, n: int = 24, *, radius: float = 0.1, contrast: float = 100.0,
                 smoothing: float | None = None, box=(0.2, 0.8), intensity=(0.1, 10.0),
                 dtype=None):
        n = check_positive_int("n", n, minimum=2)
        radius = check_finite_scalar("radius", radius, positive=True)
        if radius >= 0.5:
            raise ValueError(f"`radius` must be < 0.5, got {radius}.")
        contrast = check_finite_scalar("contrast", contrast, positive=True)
        smoothing = 0.5 / n if smoothing is None else smoothing
        smoothing = check_finite_scalar("smoothing", smoothing, positive=True)
        self.box, self.intensity = check_box_and_intensity(box, intensity)
        space = fem.FunctionSpace(fem.unit_square_mesh(n), fem.P1(), dtype=dtype)
        self.space = space
        self.problem = fem.Poisson(space)
        self.mass = fem.assemble_mass(space)
        pts = np.asarray(space.mesh.points)[np.asarray(space.mesh.cells)]  # (cells, 3, 2)
        self.centroids = jnp.asarray(pts.mean(axis=1), space.dtype)
        self.radius, self.contrast, self.smoothing = radius, contrast, smoothing

    def conductivity(self, mu: Float[Array, " 3"]) -> Float[Array, " cells"]:
        """``kappa_c`` per cell (at the centroids), shape `(cells,)`."""
        mu = mu.astype(self.centroids.dtype)
        r = jnp.sqrt(jnp.sum((self.centroids - mu[None, :2]) ** 2, axis=1))
        inside = 0.5 * (1 - jnp.tanh((r - self.radius) / self.smoothing))
        return 1 + (self.contrast - 1) * inside

    def operator(self, mu: Float[Array, " 3"]) -> linalg.CSRMatrix:
        """``A(mu)``: the SPD stiffness after Dirichlet elimination (on all DOFs, boundary
        rows identity), for a Galerkin projection per query."""
        return self.problem.system(self.conductivity(mu), 0.0)[0]

    def load(self, mu: Float[Array, " 3"]) -> Float[Array, " dofs"]:
        """Right-hand side ``b(mu)`` of ``A(mu) u = b`` (Dirichlet rows zeroed)."""
        return self.problem.system(1.0, mu[2].astype(self.centroids.dtype))[1]

    def solve(self, mus: Float[Array, "B 3"]) -> Float[Array, "B dofs"]:
        """Full-order solutions for a batch of parameters `(B, 3)`, shape `(B, dofs)`: one
        solve per centre with unit load, scaled by the intensity (exact: linear in ``I``)."""
        arr = self.check_params(mus, "mus")
        if arr.ndim != 2:
            raise ValueError(f"`mus` must have shape (B, 3), got {arr.shape}.")
        mus = jnp.asarray(arr, self.space.dtype)
        a = jax.vmap(self.conductivity)(mus)
        u1 = self.problem.solve_batch(a, jnp.asarray(1.0, self.space.dtype))
        return u1 * mus[:, 2:]
