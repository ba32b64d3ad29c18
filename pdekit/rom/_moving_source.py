r"""Test problems with a strongly nonlinear solution manifold, for local reduced bases.

- :class:`MovingSource`: ``-Δu = f_μ`` on the unit square, ``u = 0`` on the boundary, with a
  localised Gaussian source ``f_μ(x) = I exp(-|x - c|^2 / (2 w^2)) / (2π w^2)`` of centre
  ``c ∈ [lo, hi]^2`` and intensity ``I`` (log-uniform in a range): ``μ = (c_1, c_2, I)``.
  The solution is a bump that travels with ``c``: its Kolmogorov N-width decays slowly (one
  global basis needs many modes) while solutions for nearby centres are nearly parallel
  (local bases need few). The intensity only scales the solution, so it changes Euclidean
  distances by orders of magnitude but no angle: the case the angle-based dissimilarity is
  made for (a load magnitude that varies between runs).
- :func:`travelling_soliton_snapshots`: the NLSE bright soliton (pseudo-spectral solver)
  launched at a parameter-dependent speed, sampled at a fixed time: a travelling structure.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._misc import check_finite_scalar, check_positive_int
from ..solvers import fem, linalg, spectral

__all__ = ["AbstractCentreIntensityProblem", "MovingSource", "check_box_and_intensity",
           "travelling_soliton_snapshots"]


def check_box_and_intensity(box, intensity) -> tuple[tuple[float, float], tuple[float, float]]:
    """Validated ``(lo, hi)`` centre bounds (``0 <= lo < hi <= 1``) and ``(I_min, I_max)``
    intensity range (``0 < I_min <= I_max``); `ValueError` naming the argument."""
    try:
        lo, hi = (float(b) for b in box)
    except (TypeError, ValueError):
        raise ValueError(f"`box` must be a pair (lo, hi), got {box!r}.") from None
    if not (0 <= lo < hi <= 1):
        raise ValueError(f"`box` must satisfy 0 <= lo < hi <= 1, got {box!r}.")
    try:
        i_lo, i_hi = (float(b) for b in intensity)
    except (TypeError, ValueError):
        raise ValueError(f"`intensity` must be a pair, got {intensity!r}.") from None
    if not (0 < i_lo <= i_hi < math.inf):
        raise ValueError(f"`intensity` must satisfy 0 < min <= max, got {intensity!r}.")
    return (lo, hi), (i_lo, i_hi)


class AbstractCentreIntensityProblem(eqx.Module):
    """A FEM problem on the unit square parametrised by ``mu = (c_1, c_2, I)``: a centre in
    ``box^2`` (uniform) and an intensity in `intensity` (log-uniform). Subclasses hold
    `space`, static `box` and `intensity`."""

    space: eqx.AbstractVar[fem.FunctionSpace]
    box: eqx.AbstractVar[tuple[float, float]]
    intensity: eqx.AbstractVar[tuple[float, float]]

    @property
    def num_dofs(self) -> int:
        return int(self.space.num_dofs)

    def check_params(self, mu, name: str = "mu") -> np.ndarray:
        """`mu` as a host `(..., 3)` array, or `ValueError` naming `name` if it is outside
        the parameter box."""
        arr = np.asarray(mu, dtype=np.float64)
        if arr.shape[-1:] != (3,):
            raise ValueError(f"`{name}` must have shape (..., 3) (centre x, centre y, "
                             f"intensity), got {arr.shape}.")
        (lo, hi), (i_lo, i_hi), eps = self.box, self.intensity, 1e-6
        c, inten = arr[..., :2], arr[..., 2]
        if (not np.all(np.isfinite(arr)) or c.min() < lo - eps or c.max() > hi + eps
                or inten.min() < i_lo * (1 - eps) or inten.max() > i_hi * (1 + eps)):
            raise ValueError(f"`{name}` must lie in [{lo}, {hi}]^2 x [{i_lo}, {i_hi}].")
        return arr

    def sample(self, key, num: int) -> Float[Array, "num 3"]:
        """`num` parameters: centres uniform in the box, intensities log-uniform."""
        num = check_positive_int("num", num)
        (lo, hi), (i_lo, i_hi) = self.box, self.intensity
        kc, ki = jax.random.split(key)
        dtype = self.space.dtype
        c = jax.random.uniform(kc, (num, 2), dtype, lo, hi)
        logi = jax.random.uniform(ki, (num, 1), dtype, math.log(i_lo), math.log(i_hi))
        return jnp.concatenate([c, jnp.exp(logi)], axis=1)

    def features(self, mu: Float[Array, "... 3"]) -> Float[Array, "... 3"]:
        """Parameters mapped to ``[-1, 1]^3`` (log intensity): classifier inputs."""
        (lo, hi), (i_lo, i_hi) = self.box, self.intensity
        c = 2 * (mu[..., :2] - lo) / (hi - lo) - 1
        span = max(math.log(i_hi / i_lo), 1e-12)
        li = 2 * (jnp.log(mu[..., 2:]) - math.log(i_lo)) / span - 1
        return jnp.concatenate([c, li], axis=-1)


class MovingSource(AbstractCentreIntensityProblem):
    r"""Poisson problem with a moving Gaussian source on the unit square (P1, ``n x n`` cells).

    Parameters ``μ = (c_1, c_2, I)``: source centre and intensity.

    **Arguments:**
    - `n`: cells per side (``(n+1)^2`` DOFs; ``n = 100`` gives ~10^4).
    - `width`: standard deviation ``w`` of the Gaussian source, > 0 (default 0.05).
    - `box`: ``(lo, hi)`` bounds of each centre coordinate, ``0 <= lo < hi <= 1``
      (default ``(0.15, 0.85)``).
    - `intensity`: ``(I_min, I_max)``, ``0 < I_min <= I_max``, sampled log-uniformly
      (default ``(0.1, 10)``; ``(1, 1)`` for a fixed intensity).
    - `dtype`: float dtype (default: float64 under x64, else float32).

    **Fields:** `space` (FunctionSpace), `A` (SPD stiffness after Dirichlet elimination),
    `mass` (the FEM mass matrix, the ``L^2`` inner product), `h1` (mass + stiffness, the
    ``H^1`` inner product), `free` (mask of non-Dirichlet DOFs).

    **Raises:** `ValueError` for a bad `n`, `width` or `box`.
    """

    space: fem.FunctionSpace
    problem: fem.Poisson
    A: linalg.CSRMatrix
    mass: linalg.CSRMatrix
    h1: linalg.CSRMatrix
    coords: Float[Array, "dofs 2"]
    width: float = eqx.field(static=True)
    box: tuple[float, float] = eqx.field(static=True)
    intensity: tuple[float, float] = eqx.field(static=True)

    def __init__(self, n: int = 32, *, width: float = 0.05, box=(0.15, 0.85),
                 intensity=(0.1, 10.0), dtype=None):
        n = check_positive_int("n", n, minimum=2)
        width = check_finite_scalar("width", width, positive=True)
        (lo, hi), (i_lo, i_hi) = check_box_and_intensity(box, intensity)
        mesh = fem.unit_square_mesh(n)
        space = fem.FunctionSpace(mesh, fem.P1(), dtype=dtype)
        self.space = space
        self.problem = fem.Poisson(space)
        self.A, _ = self.problem.system(1.0, 0.0)
        M = fem.assemble_mass(space)
        K = fem.assemble_stiffness(space)
        self.mass = M
        self.h1 = linalg.CSRMatrix(M.pattern, M.data + K.data)
        self.coords = jnp.asarray(space.dof_coords, space.dtype)
        self.width, self.box, self.intensity = width, (lo, hi), (i_lo, i_hi)

    def source(self, mu: Float[Array, " 3"]) -> Float[Array, " dofs"]:
        """Nodal values of the source ``f_μ``."""
        w2 = jnp.asarray(self.width**2, self.coords.dtype)
        mu = mu.astype(self.coords.dtype)
        r2 = jnp.sum((self.coords - mu[None, :2]) ** 2, axis=1)
        return mu[2] * jnp.exp(-r2 / (2 * w2)) / (2 * jnp.pi * w2)

    def load(self, mu: Float[Array, " 3"]) -> Float[Array, " dofs"]:
        """Right-hand side ``b(μ)`` of ``A u = b`` (Dirichlet rows zeroed)."""
        return self.problem.system(1.0, self.source(mu))[1]

    @eqx.filter_jit
    def loads(self, mus: Float[Array, "B 3"]) -> Float[Array, "B dofs"]:
        """Batched :meth:`load`."""
        return jax.vmap(self.load)(mus)

    def solve(self, mus: Float[Array, "B 3"]) -> Float[Array, "B dofs"]:
        """Full-order solutions for a batch of parameters `(B, 3)`, shape `(B, dofs)`
        (one sparse factorisation for the whole batch)."""
        mus = jnp.asarray(self.check_params(mus, "mus"), self.space.dtype)
        if mus.ndim != 2:
            raise ValueError(f"`mus` must have shape (B, 3), got {mus.shape}.")
        return _solve_many(self.A, self.loads(mus))


@eqx.filter_jit
def _solve_many(A, B):
    return jax.vmap(lambda b: linalg.solve(A, b, linalg.Direct()))(B)


def travelling_soliton_snapshots(
    velocities: Float[Array, " B"],
    *,
    t1: float = 4.0,
    num_points: int = 256,
    domain_length: float = 40.0,
    position: float = -8.0,
    num_steps: int = 200,
) -> tuple[Float[Array, "B N"], Float[Array, " N"]]:
    r"""Amplitudes ``|ψ(x, t1)|`` of NLSE bright solitons ``i ψ_t + ψ_xx/2 + |ψ|^2 ψ = 0``
    launched at ``x = position`` with the given `velocities`, solved by Strang splitting
    (`num_steps` steps) on a periodic grid: a structure whose position ``position + v t1``
    depends on the parameter ``v``.

    **Returns:** `(snapshots (B, num_points), x (num_points,))`.

    **Raises:** `ValueError` for a bad size, time or step count.
    """
    t1 = check_finite_scalar("t1", t1, positive=True)
    num_steps = check_positive_int("num_steps", num_steps)
    num_points = check_positive_int("num_points", num_points, even=True)
    domain_length = check_finite_scalar("domain_length", domain_length, positive=True)
    v = jnp.asarray(velocities)
    if v.ndim != 1:
        raise ValueError(f"`velocities` must have shape (B,), got {v.shape}.")
    grid = spectral.FourierGrid(num_points, domain_length)
    nlse = spectral.NLSE(grid)
    method = spectral.StrangSplitting()
    dt = t1 / num_steps

    u0s = jnp.stack([
        spectral.cases.soliton(amplitude=1.0, velocity=float(vel), position=position,
                               num_points=num_points, domain_length=domain_length).u0(grid)
        for vel in np.asarray(v)
    ])
    final = jax.vmap(lambda u0: spectral.solve(nlse, method, u0, t1, dt=dt).us[-1])(u0s)
    return jnp.abs(final), grid.x
