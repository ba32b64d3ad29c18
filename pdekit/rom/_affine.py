r"""Parametrised linear problems with affine parameter dependence, built from the FEM assembly.

    A(mu) u = f(mu),   A(mu) = sum_q theta^a_q(mu) A_q,   f(mu) = sum_q theta^f_q(mu) f_q,

and the time-dependent variant ``M du/dt + A(mu) u = f(mu)``, ``u(0) = 0``, discretised by
implicit Euler with a fixed step. The coefficient maps are affine in ``mu``
(``theta(mu) = T[:, 0] + T[:, 1:] @ mu``), so a problem is plain data: it vmaps over ``mu``
and saves without pickling.

**Coercivity (min-theta).** Every ``A_q`` must be symmetric positive semi-definite and the
inner product is ``X = A(mu_ref)``. Then ``a(v, v; mu) >= alpha_LB(mu) ||v||_X^2`` with
``alpha_LB(mu) = min_q theta^a_q(mu) / theta^a_q(mu_ref)`` (Patera & Rozza, "Reduced basis
approximation and a posteriori error estimation", 2007, ch. 4), which the estimators use.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from .._misc import check_positive_int, default_float_dtype
from ..solvers import fem, linalg


class AffineProblem(eqx.Module):
    r"""A full-order parametrised problem ``A(mu) u = f(mu)`` on the free (non-Dirichlet)
    DOFs of a FEM space, with affine parameter dependence (module docstring).

    **Fields:**
    - `pattern`: sparsity of every ``A_q`` (and of ``X``, ``M``) on the `n` free DOFs.
    - `operator_data`: shape `(Qa, nnz)`, the values of ``A_q``.
    - `rhs`: shape `(Qf, n)`, the vectors ``f_q``.
    - `theta_a`, `theta_f`: shapes `(Qa, P + 1)`, `(Qf, P + 1)`: ``theta(mu) = T[:, 0] +
      T[:, 1:] @ mu``.
    - `mass_data`: shape `(nnz,)` or None: ``M`` for the time-dependent problem.
    - `free_dofs`: shape `(n,)`, the free DOFs' indices in the full space (`num_dofs`).
    - `mu_min`, `mu_max`, `mu_ref` (static tuples of `P` floats): parameter box and the
      reference parameter of the inner product ``X = A(mu_ref)``.
    - `dt`, `num_steps` (static): implicit Euler step and step count, or None (stationary).
    - `param_names` (static), `num_dofs` (static: size of the full space).
    """

    pattern: linalg.SparsityPattern
    operator_data: Float[Array, "Qa nnz"]
    rhs: Float[Array, "Qf n"]
    theta_a: Float[Array, "Qa P1"]
    theta_f: Float[Array, "Qf P1"]
    mass_data: Float[Array, " nnz"] | None
    free_dofs: Int[Array, " n"]
    mu_min: tuple[float, ...] = eqx.field(static=True)
    mu_max: tuple[float, ...] = eqx.field(static=True)
    mu_ref: tuple[float, ...] = eqx.field(static=True)
    dt: float | None = eqx.field(static=True)
    num_steps: int | None = eqx.field(static=True)
    param_names: tuple[str, ...] = eqx.field(static=True)
    num_dofs: int = eqx.field(static=True)

    def __check_init__(self):
        qa, qf, p = self.operator_data.shape[0], self.rhs.shape[0], len(self.mu_min)
        if self.theta_a.shape != (qa, p + 1) or self.theta_f.shape != (qf, p + 1):
            raise ValueError(f"`theta_a`/`theta_f` must have shapes ({qa}, {p + 1}) and "
                             f"({qf}, {p + 1}), got {self.theta_a.shape}, {self.theta_f.shape}.")
        if len(self.mu_max) != p or len(self.mu_ref) != p or len(self.param_names) != p:
            raise ValueError("`mu_min`, `mu_max`, `mu_ref`, `param_names` must have equal "
                             "lengths.")
        if any(not lo < hi for lo, hi in zip(self.mu_min, self.mu_max)):
            raise ValueError(f"parameter box must have mu_min < mu_max, got {self.mu_min}, "
                             f"{self.mu_max}.")
        if (self.dt is None) != (self.num_steps is None) or (
                self.dt is not None and self.mass_data is None):
            raise ValueError("a time-dependent problem needs `dt`, `num_steps` and `mass_data`.")

    # ---- sizes and parameters ---------------------------------------------------------
    @property
    def size(self) -> int:
        """Number of unknowns `n` (free DOFs)."""
        return int(self.rhs.shape[1])

    @property
    def num_params(self) -> int:
        return len(self.mu_min)

    @property
    def time_dependent(self) -> bool:
        return self.dt is not None

    def check_params(self, mu, name: str = "mu") -> np.ndarray:
        """Eager check that `mu` (shape `(P,)` or `(B, P)`) is finite and inside the box.

        **Raises:** `ValueError` naming `name`, the offending values and the box."""
        return check_params(mu, self.mu_min, self.mu_max, name)

    def sample(self, key, num: int) -> Float[Array, "num P"]:
        """`num` parameters drawn uniformly from the box, shape `(num, P)`."""
        num = check_positive_int("num", num)
        lo, hi = (jnp.asarray(v, self.rhs.dtype) for v in (self.mu_min, self.mu_max))
        u = jax.random.uniform(key, (num, self.num_params), self.rhs.dtype)
        return lo[None, :] + (hi - lo)[None, :] * u

    def grid(self, per_axis: int) -> Float[Array, "num P"]:
        """Tensor grid with `per_axis` points per parameter (box corners included)."""
        per_axis = check_positive_int("per_axis", per_axis)
        axes = [np.linspace(lo, hi, per_axis) for lo, hi in zip(self.mu_min, self.mu_max)]
        pts = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, self.num_params)
        return jnp.asarray(pts, self.rhs.dtype)

    # ---- affine pieces ---------------------------------------------------------------
    def theta(self, mu) -> tuple[Float[Array, " Qa"], Float[Array, " Qf"]]:
        """Coefficients ``(theta^a(mu), theta^f(mu))`` of one parameter `mu` `(P,)`."""
        return affine_coefficients(self.theta_a, mu), affine_coefficients(self.theta_f, mu)

    def operator(self, mu) -> linalg.CSRMatrix:
        """``A(mu)`` on the free DOFs."""
        ta, _ = self.theta(mu)
        return linalg.CSRMatrix(self.pattern, ta @ self.operator_data)

    def load(self, mu) -> Float[Array, " n"]:
        """``f(mu)``, shape `(n,)`."""
        _, tf = self.theta(mu)
        return tf @ self.rhs

    def product(self) -> linalg.CSRMatrix:
        """The inner product ``X = A(mu_ref)`` (the energy product at `mu_ref`)."""
        return self.operator(jnp.asarray(self.mu_ref, self.rhs.dtype))

    def mass(self) -> linalg.CSRMatrix:
        if self.mass_data is None:
            raise ValueError("this problem is stationary: it has no mass matrix.")
        return linalg.CSRMatrix(self.pattern, self.mass_data)

    def coercivity_lower_bound(self, mu) -> Float[Array, ""]:
        """``alpha_LB(mu) = min_q theta^a_q(mu) / theta^a_q(mu_ref)`` (min-theta)."""
        ta, _ = self.theta(mu)
        ref = affine_coefficients(self.theta_a, jnp.asarray(self.mu_ref, ta.dtype))
        return jnp.min(ta / ref)

    # ---- full-order solves -----------------------------------------------------------
    @eqx.filter_jit
    def solve(self, mu) -> Float[Array, " n"] | Float[Array, "T n"]:
        """Full-order solution for one parameter (sparse direct solve on the host): shape
        `(n,)`, or `(num_steps, n)` (states after each implicit Euler step) if
        time-dependent. Vmap for a batch; check the box first with :meth:`check_params`."""
        A, f = self.operator(mu), self.load(mu)
        if not self.time_dependent:
            return linalg.solve(A, f, linalg.Direct())
        M = self.mass()
        S = linalg.CSRMatrix(self.pattern, M.data + self.dt * A.data)

        def step(u, _):
            u = linalg.solve(S, M.matvec(u) + self.dt * f, linalg.Direct())
            return u, u

        return jax.lax.scan(step, jnp.zeros_like(f), None, length=self.num_steps)[1]

    def energy_norm(self, u, mu) -> Float[Array, ""]:
        """``sqrt(u^T A(mu) u)`` for `u` of shape `(n,)`."""
        return jnp.sqrt(jnp.maximum(u @ self.operator(mu).matvec(u), 0.0))

    def to_full(self, u: Float[Array, "... n"]) -> Float[Array, "... dofs"]:
        """Scatter free-DOF values into the full space (zero on the Dirichlet DOFs)."""
        out = jnp.zeros(u.shape[:-1] + (self.num_dofs,), u.dtype)
        return out.at[..., self.free_dofs].set(u)


def affine_coefficients(T: Float[Array, "Q P1"], mu: Float[Array, " P"]) -> Float[Array, " Q"]:
    """``T[:, 0] + T[:, 1:] @ mu`` (one parameter; vmap for a batch)."""
    mu = jnp.asarray(mu, T.dtype)
    if mu.shape != (T.shape[1] - 1,):
        raise ValueError(f"`mu` must have shape ({T.shape[1] - 1},), got {mu.shape}. "
                         "For a batch of parameters use `jax.vmap`.")
    return T[:, 0] + T[:, 1:] @ mu


def check_params(mu, mu_min, mu_max, name: str = "mu") -> np.ndarray:
    """Host check that `mu` `(P,)`/`(B, P)` is finite and inside ``[mu_min, mu_max]``."""
    arr = np.asarray(mu, dtype=np.float64)
    p = len(mu_min)
    if arr.ndim not in (1, 2) or arr.shape[-1] != p:
        raise ValueError(f"`{name}` must have shape ({p},) or (B, {p}), got {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"`{name}` contains non-finite values.")
    lo, hi = np.asarray(mu_min), np.asarray(mu_max)
    tol = 1e-6 * (hi - lo)  # float32 round-off on the box edges is not "outside"
    bad = np.any((arr < lo - tol) | (arr > hi + tol), axis=-1)
    if np.any(bad):
        first = arr[bad][0] if arr.ndim == 2 else arr
        raise ValueError(f"`{name}` is outside the parameter box [{list(mu_min)}, "
                         f"{list(mu_max)}] ({int(np.sum(bad))} value(s), e.g. {first.tolist()}).")
    return arr


def _restrict(space: fem.FunctionSpace, data: Float[Array, "k nnz"], free: np.ndarray):
    """Restrict matrices on `space.pattern` to the free DOFs (rows and columns): returns the
    sub-pattern and the `(k, nnz_free)` values. (Private stand-in until the FEM package's
    public Dirichlet-elimination step is in main.)"""
    rows, cols = np.asarray(space.pattern.rows), np.asarray(space.pattern.cols)
    index = np.full(space.num_dofs, -1, dtype=np.int64)
    index[free] = np.arange(free.size)
    keep = (index[rows] >= 0) & (index[cols] >= 0)
    # the kept entries stay sorted by (row, col) because `index` is increasing on `free`
    pattern, _ = linalg.SparsityPattern.from_coo(index[rows[keep]], index[cols[keep]],
                                                 (free.size, free.size))
    return pattern, data[:, np.nonzero(keep)[0]]


def _parse_blocks(blocks) -> tuple[int, int]:
    if isinstance(blocks, str):
        parts = blocks.lower().split("x")
        if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
            raise ValueError(f"`blocks` must look like '2x2' (nx x ny), got {blocks!r}.")
        blocks = tuple(int(p) for p in parts)
    if len(blocks) != 2:
        raise ValueError(f"`blocks` must be (nx, ny), got {blocks!r}.")
    return tuple(check_positive_int("blocks", b) for b in blocks)


def thermal_block(n: int = 32, blocks: Sequence[int] | str = (2, 2), *,
                  mu_range: tuple[float, float] = (0.1, 1.0), dt: float | None = None,
                  num_steps: int | None = None, dtype=None) -> AffineProblem:
    r"""The thermal block: ``-div(mu_b grad u) = 1`` on the unit square split into
    ``nx x ny`` blocks, conductivity ``mu_b`` constant on block ``b``, ``u = 0`` on the
    boundary; P1 elements on :func:`pdekit.solvers.fem.unit_square_mesh` (`n` cells per
    side, ``(n - 1)^2`` free DOFs). With `dt` and `num_steps`: the heat equation
    ``du/dt - div(mu grad u) = 1``, ``u(0) = 0``, by implicit Euler.

    Blocks are numbered row by row from the bottom left (``b = j nx + i``), so
    ``mu[b]`` is the conductivity of block column ``i``, row ``j``. ``theta_b(mu) = mu_b``,
    ``X = A(1, ..., 1)`` is the H1-seminorm product and ``alpha_LB(mu) = min_b mu_b``.

    **Arguments:**
    - `n`: cells per side (>= 2 and >= the number of blocks per side).
    - `blocks`: ``(nx, ny)`` or a string ``"2x2"``.
    - `mu_range`: ``(low, high)``, ``0 < low < high``, the box for every ``mu_b``.
    - `dt`, `num_steps`: time step (> 0) and number of steps (time-dependent variant).
    - `dtype`: float dtype (default: float64 under x64, else float32).

    **Raises:** `ValueError` for any argument outside these ranges.
    """
    n = check_positive_int("n", n, minimum=2)
    nx, ny = _parse_blocks(blocks)
    if n < max(nx, ny):
        raise ValueError(f"`n` must be >= the blocks per side ({max(nx, ny)}), got {n}.")
    lo, hi = (float(v) for v in mu_range)
    if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo < hi):
        raise ValueError(f"`mu_range` must satisfy 0 < low < high, got {mu_range}.")
    if (dt is None) != (num_steps is None):
        raise ValueError("give both `dt` and `num_steps` (time-dependent) or neither.")
    if dt is not None:
        dt = float(dt)
        if not (math.isfinite(dt) and dt > 0):
            raise ValueError(f"`dt` must be > 0, got {dt}.")
        num_steps = check_positive_int("num_steps", num_steps)
    dtype = default_float_dtype(dtype)
    mesh = fem.unit_square_mesh(n)
    space = fem.FunctionSpace(mesh, fem.P1(), dtype=dtype)
    block_of = fem.BlockCoefficient(mesh, (ny, nx))
    q = nx * ny
    eye = jnp.eye(q, dtype=dtype)
    data = jnp.stack([
        fem.assemble_stiffness(space, block_of(eye[b].reshape(ny, nx))).data for b in range(q)
    ])
    free = np.setdiff1d(np.arange(space.num_dofs), space.boundary_dofs())
    extra = [fem.assemble_mass(space, 1.0).data] if dt is not None else []
    pattern, restricted = _restrict(space, jnp.concatenate([data] + [e[None] for e in extra]),
                                    free)
    f = fem.assemble_load(space, 1.0)[free]
    theta_a = np.concatenate([np.zeros((q, 1)), np.eye(q)], axis=1)
    theta_f = np.concatenate([np.ones((1, 1)), np.zeros((1, q))], axis=1)
    return AffineProblem(
        pattern=pattern,
        operator_data=restricted[:q],
        rhs=f[None, :],
        theta_a=jnp.asarray(theta_a, dtype),
        theta_f=jnp.asarray(theta_f, dtype),
        mass_data=restricted[q] if dt is not None else None,
        free_dofs=jnp.asarray(free, jnp.int32),
        mu_min=(lo,) * q,
        mu_max=(hi,) * q,
        mu_ref=(1.0,) * q,
        dt=dt,
        num_steps=num_steps,
        param_names=tuple(f"mu{b}" for b in range(q)),
        num_dofs=space.num_dofs,
    )


def thermal_block_space(n: int, dtype=None) -> fem.FunctionSpace:
    """The P1 space that :func:`thermal_block` uses (for plots and snapshot meshes)."""
    return fem.FunctionSpace(fem.unit_square_mesh(n), fem.P1(), dtype=default_float_dtype(dtype))


def solve_snapshots(problem: AffineProblem, params, *, mesh=None, batch_size: int = 32):
    """Full-order snapshots of `problem` at `params` `(S, P)` as a
    :class:`pdekit.data.Snapshots` (fields on the full space, Dirichlet DOFs included:
    `(S, num_dofs)`, or `(S, num_steps, num_dofs)` with `times` if time-dependent), with the
    mesh if `mesh` is given. Solves `batch_size` parameters per host call (``jax.lax.map``
    over vmapped chunks)."""
    from ..data import Snapshots

    mu = problem.check_params(params, "params")
    if mu.ndim != 2:
        raise ValueError(f"`params` must have shape (S, {problem.num_params}).")
    batch_size = check_positive_int("batch_size", batch_size)
    U = _solve_many(problem, jnp.asarray(mu, problem.rhs.dtype), batch_size)
    fields = np.asarray(problem.to_full(U))
    times = None
    if problem.time_dependent:
        times = problem.dt * np.arange(1, problem.num_steps + 1)
    points = None if mesh is None else np.asarray(mesh.points)
    cells = None if mesh is None else np.asarray(mesh.cells)
    return Snapshots(fields, mu, param_names=problem.param_names, points=points, cells=cells,
                     times=times, meta={"problem": "affine", "num_dofs": problem.num_dofs})


@eqx.filter_jit
def _solve_many(problem, mu, batch_size):
    return jax.lax.map(problem.solve, mu, batch_size=batch_size)
