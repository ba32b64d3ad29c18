"""The scalar elliptic problem ``-div(a grad u) + c u = f`` (Poisson, Darcy flow)."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec
from jaxtyping import Array, Bool, Float

from ..._misc import check_positive_int
from .. import linalg
from ._assembly import Coefficient, assemble_load, assemble_operator
from ._bc import Dirichlet, FacetQuadrature, Neumann, Robin, _as_tuple, dirichlet_data
from ._elements import FunctionSpace


class Poisson(eqx.Module):
    r"""Finite-element discretisation of ``-div(a(x) grad u) + c(x) u = f(x)`` with boundary
    conditions, solved by a differentiable sparse linear solve.

    The weak form is: find ``u = g`` on the Dirichlet part such that for all test functions
    ``v`` vanishing there,
    ``int a grad u . grad v + c u v dx + int_R alpha u v ds = int f v dx + int_N h v ds
    + int_R g_R v ds``.

    **Arguments:**
    - `space`: the :class:`FunctionSpace` (P1 or P2).
    - `dirichlet`, `neumann`, `robin`: one condition or a sequence of :class:`Dirichlet`,
      :class:`Neumann`, :class:`Robin`. With none of the three given, ``u = 0`` on the whole
      boundary. The rest of the boundary is natural (homogeneous Neumann).
    - `method`: a linear method from :mod:`pdekit.solvers.linalg` (default `Direct()`); use
      `CG(preconditioner=Jacobi())` or `CG(preconditioner=AMG.build(A))` for large problems
      (`A` from :meth:`system`).

    The coefficients `a`, `c`, `f` are passed to :meth:`solve` (scalars, per-cell or nodal
    arrays, or callables of ``x``; see :mod:`pdekit.solvers.fem._assembly`), so one problem
    object serves a whole batch: ``jax.vmap(lambda a: problem.solve(a=a))(a_batch)``, and
    ``jax.grad`` flows to `a`, `c` and `f` through the adjoint solve.

    **Raises:** `ValueError` if a boundary predicate selects nothing or, at solve time, if the
    problem is singular (no Dirichlet or Robin part and no `c`).
    """

    space: FunctionSpace
    method: linalg.AbstractLinearMethod
    dirichlet_values: Float[Array, " dofs"]
    free_mask: Bool[Array, " dofs"]
    keep: Bool[Array, " nnz"]
    fixed_diagonal: Bool[Array, " nnz"]
    boundary_load: Float[Array, " dofs"]
    boundary_matrix: Float[Array, " nnz"]
    coercive: bool = eqx.field(static=True)
    lifting: bool = eqx.field(static=True)

    def __init__(
        self,
        space: FunctionSpace,
        *,
        dirichlet=None,
        neumann=None,
        robin=None,
        method: linalg.AbstractLinearMethod | None = None,
    ):
        if not isinstance(space, FunctionSpace):
            raise ValueError(f"`space` must be a FunctionSpace, got {type(space).__name__}.")
        if dirichlet is None and neumann is None and robin is None:
            dirichlet = Dirichlet(0.0)
        dirichlet = _as_tuple(dirichlet, Dirichlet)
        neumann = _as_tuple(neumann, Neumann)
        robin = _as_tuple(robin, Robin)
        method = linalg.Direct() if method is None else method
        if not isinstance(method, linalg.AbstractLinearMethod):
            raise ValueError(f"`method` must be a linalg method (CG, Direct), got {method!r}.")
        dtype = space.dtype
        fixed, g = dirichlet_data(space, dirichlet)
        load = np.zeros(space.num_dofs)
        mat = np.zeros(space.pattern.nnz)
        for bc in neumann:
            load = load + FacetQuadrature(space, bc.where).load(space, bc.flux, "Neumann flux")
        for bc in robin:
            fq = FacetQuadrature(space, bc.where)
            load = load + fq.load(space, bc.g, "Robin g")
            mat = mat + fq.matrix_data(space, bc.alpha, "Robin alpha")
        is_fixed = np.zeros(space.num_dofs, dtype=bool)
        is_fixed[fixed] = True
        rows, cols = np.asarray(space.pattern.rows), np.asarray(space.pattern.cols)
        self.space = space
        self.method = method
        self.dirichlet_values = jnp.asarray(g, dtype)
        self.free_mask = jnp.asarray(~is_fixed)
        self.keep = jnp.asarray(~(is_fixed[rows] | is_fixed[cols]))
        self.fixed_diagonal = jnp.asarray(is_fixed[rows] & (rows == cols))
        self.boundary_load = jnp.asarray(load, dtype)
        self.boundary_matrix = jnp.asarray(mat, dtype)
        self.coercive = bool(fixed.size or robin)
        self.lifting = bool(np.any(g != 0))  # nonzero Dirichlet data: move A g to the rhs

    @eqx.filter_jit
    def system(
        self, a: Coefficient = 1.0, f: Coefficient = 0.0, c: Coefficient | None = None
    ) -> tuple[linalg.CSRMatrix, Float[Array, " dofs"]]:
        """The SPD system ``(A, b)`` after Dirichlet elimination, on `space.pattern`."""
        if not self.coercive and c is None:
            raise ValueError(
                "the problem has no Dirichlet or Robin part, so it is singular without a "
                "reaction term: pass `c` > 0 or add a Dirichlet/Robin condition."
            )
        A = assemble_operator(self.space, a, c)
        data = A.data + self.boundary_matrix
        b = assemble_load(self.space, f) + self.boundary_load
        g = self.dirichlet_values
        # symmetric elimination (lifting): move A g to the right-hand side, then decouple
        if self.lifting:
            b = b - linalg.CSRMatrix(A.pattern, data).matvec(g)
        b = jnp.where(self.free_mask, b, g)
        # constrained rows/columns zeroed, unit diagonal (elementwise: no scatter)
        decoupled = self.fixed_diagonal.astype(data.dtype)
        data = jnp.where(self.keep, data, decoupled)
        return linalg.CSRMatrix(A.pattern, data), b

    @eqx.filter_jit
    def solve_with_stats(
        self, a: Coefficient = 1.0, f: Coefficient = 0.0, c: Coefficient | None = None
    ):
        """Like :meth:`solve`, returning `(u, stats)` (see `linalg.solve_with_stats`)."""
        A, b = self.system(a, f, c)
        return linalg.solve_with_stats(A, b, self.method)

    @eqx.filter_jit
    def solve(
        self, a: Coefficient = 1.0, f: Coefficient = 0.0, c: Coefficient | None = None
    ) -> Float[Array, " dofs"]:
        """Solve for the DOF values `u`, shape `(space.num_dofs,)` (vertex values first).

        **Arguments:** `a` diffusion coefficient (> 0), `f` source, `c` reaction (>= 0, or
        None for none); each a scalar, a `(cells,)`/`(num_dofs,)`/`(nodes,)` array or a
        callable of `x` of shape `(d, ...)`.
        """
        A, b = self.system(a, f, c)
        return linalg.solve(A, b, self.method)

    def solve_batch(
        self,
        a: Coefficient = 1.0,
        f: Coefficient = 0.0,
        c: Coefficient | None = None,
        *,
        batch_size: int = 1,
        devices=None,
    ) -> Float[Array, "batch dofs"]:
        """Solve for a batch of coefficient fields, fast: ``solve`` applied sample by sample
        in chunks of `batch_size` (``jax.lax.map``, cache friendly) and the batch split
        over `devices` (``jax.shard_map``), so several host devices use several CPU cores.

        **Arguments:**
        - `a`, `f`, `c`: as in :meth:`solve`, except that every *array* argument carries a
          leading batch axis of the same length `B` (e.g. `a` of shape `(B, cells)`);
          scalars, callables and `None` are shared by all samples. To share an array, pass
          it broadcast (``jnp.broadcast_to(f, (B,) + f.shape)``) or as a callable.
        - `batch_size`: samples solved together (``jax.vmap``) inside each chunk, ``>= 1``
          (default 1: one sample at a time is fastest on CPU for CG with `GMG` — 64x64
          Darcy, one core: 850 solves/s at 1, 670 at 4, 540 at 8, 160 for ``jax.vmap`` of
          all 256 — and as fast as any for `AMG` and `Direct`; on a GPU larger chunks should
          pay off, not measured).
        - `devices`: sequence of JAX devices to split the batch over (``jax.shard_map``);
          default: the first device only. On CPU, start Python with
          ``XLA_FLAGS=--xla_force_host_platform_device_count=<cores>`` to get one device
          per core. The batch is padded (by repeating its last sample) to a multiple of
          the number of devices. *Known issue:* on XLA-CPU (jax 0.10.2) with 2 host devices,
          AMG-CG (`max_coarse=100`) on a 64x64 Darcy batch hangs at run time with
          `batch_size=4` (not with 1 or 2, nor with `max_coarse=10`; GMG-CG works at 1 and
          4; a vmapped Cholesky alone does not hang); hence the single-device default.

        **Returns:** `u`, shape `(B, num_dofs)`, equal to stacking ``solve`` per sample.

        **Raises:** `ValueError` for `batch_size < 1`, no batched array argument, or
        batched arguments of different lengths.
        """
        batch_size = check_positive_int("batch_size", batch_size)
        args = {"a": a, "f": f, "c": c}
        batched = {
            k: jnp.asarray(v) for k, v in args.items()
            if v is not None and not callable(v) and jnp.ndim(v) >= 1
        }
        if not batched:
            raise ValueError(
                "solve_batch needs at least one array argument with a leading batch axis "
                "(e.g. `a` of shape (B, cells)); for a single solve use `solve`."
            )
        lengths = {k: v.shape[0] for k, v in batched.items()}
        if len(set(lengths.values())) != 1:
            raise ValueError(f"batched arguments have different leading lengths: {lengths}.")
        n = next(iter(lengths.values()))
        shared = {k: v for k, v in args.items() if k not in batched}
        devices = tuple(jax.devices()[:1] if devices is None else devices)
        if len(devices) == 0:
            raise ValueError("`devices` is empty.")
        nd = len(devices)
        pad = (-n) % nd
        if pad:
            batched = {
                k: jnp.concatenate([v, jnp.repeat(v[-1:], pad, axis=0)])
                for k, v in batched.items()
            }
        u = _batched_solve(self, batched, shared, batch_size, devices)
        return u[:n]


def _chunked(problem, shared, batch_size):
    def one(sample):
        return problem.solve(**sample, **shared)

    return lambda batched: jax.lax.map(one, batched, batch_size=batch_size)


@eqx.filter_jit
def _batched_solve(problem, batched, shared, batch_size, devices):
    fn = _chunked(problem, shared, batch_size)
    if len(devices) == 1:
        return fn(batched)
    mesh = Mesh(np.asarray(devices), ("batch",))
    spec = PartitionSpec("batch")
    batched = jax.lax.with_sharding_constraint(batched, NamedSharding(mesh, spec))
    return jax.shard_map(fn, mesh=mesh, in_specs=spec, out_specs=spec, check_vma=False)(batched)
