"""The scalar elliptic problem ``-div(a grad u) + c u = f`` (Poisson, Darcy flow)."""

from __future__ import annotations

import math

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float

from ..._misc import check_finite_array, check_positive_int, is_tracer
from .. import linalg
from .._batch import map_batched
from ._assembly import (
    Coefficient,
    coefficient_at_quadrature,
    load_from_values,
    operator_from_values,
)
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

    **Steps** (public, for reduced-order models that need the affine terms separately):
    :meth:`assemble` (volume and natural-boundary terms, no Dirichlet condition),
    :meth:`eliminate` (symmetric Dirichlet elimination on the same pattern) and
    :meth:`condense` (the reduced system on the free DOFs plus the lifting);
    ``system(a, f, c) == eliminate(*assemble(a, f, c))``.

    **Raises:** `ValueError` if a boundary predicate selects nothing or, before any solve,
    if the problem is singular (no Dirichlet or Robin part and no `c`) or a coefficient
    (`a`, `f`, `c`: arrays, or callables evaluated at the quadrature points) is not finite.
    Under `jit` with traced coefficients the finiteness check runs at run time
    (``eqx.error_if``, naming the argument).
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
    has_lifting: bool = eqx.field(static=True)

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
        self.has_lifting = bool(np.any(g != 0))  # nonzero Dirichlet data: move A g to the rhs

    # ------------------------------------------------------------------ validation
    def check_coefficients(
        self, a: Coefficient = 1.0, f: Coefficient = 0.0, c: Coefficient | None = None
    ) -> None:
        """Eager checks of the coefficients, before any work (no-op for traced values).

        **Raises:** `ValueError` naming `a`, `f` or `c` if it holds NaN/inf (callables are
        evaluated at the quadrature points), or if the problem is singular (`c` is None and
        there is no Dirichlet or Robin part)."""
        if not self.coercive and c is None:
            raise ValueError(_SINGULAR)
        _check_finite_coefficients(self.space, a, f, c)

    def _precheck(self, a, f, c) -> None:
        """The cheap eager checks (numbers, arrays); callables are checked on the values
        the assembly computes anyway (:func:`_checked`), so they are evaluated once."""
        if not self.coercive and c is None:
            raise ValueError(_SINGULAR)
        _check_finite_coefficients(self.space, a, f, c, callables=False)

    def _checked_system(self, a, f, c) -> tuple[linalg.CSRMatrix, Array]:
        """:meth:`system` with every coefficient checked, callables evaluated once."""
        self._precheck(a, f, c)
        return _checked(*_system_counted(self, a, f, c, _unchecked(a, f, c)))

    # ------------------------------------------------------------------ steps
    def assemble(
        self,
        a: Coefficient = 1.0,
        f: Coefficient = 0.0,
        c: Coefficient | None = None,
        *,
        boundary: bool = True,
    ) -> tuple[linalg.CSRMatrix, Float[Array, " dofs"]]:
        """The matrix and load ``(A, b)`` before any Dirichlet condition, on `space.pattern`.

        ``A = int a grad u . grad v + c u v dx (+ int_R alpha u v ds)`` and
        ``b = int f v dx (+ int_N h v ds + int_R g_R v ds)``. Linear in `a`, `c`, `f`, so
        for ``a = sum_q theta_q a_q`` (e.g. per-cell indicators of the blocks of a thermal
        block) ``A = sum_q theta_q A_q`` with ``A_q = assemble(a_q, 0.0, boundary=False)[0]``
        plus the boundary part ``assemble(0.0, 0.0, boundary=True)``.

        **Arguments:** `a`, `f`, `c` as in :meth:`solve`; `boundary`: include the Neumann
        and Robin terms (default True; False gives the volume terms alone).

        **Returns:** `A` (:class:`~pdekit.solvers.linalg.CSRMatrix`, `(num_dofs, num_dofs)`)
        and `b` (shape `(num_dofs,)`), in `space.dtype`.
        """
        _check_finite_coefficients(self.space, a, f, c, callables=False)
        A, b, bad = _assemble_counted(self, a, f, c, bool(boundary), _unchecked(a, f, c))
        return _checked(A, b, bad)

    def eliminate(
        self, A: linalg.CSRMatrix, b: Float[Array, " dofs"]
    ) -> tuple[linalg.CSRMatrix, Float[Array, " dofs"]]:
        """Symmetric Dirichlet elimination on the same sparsity pattern.

        ``b' = where(free, b - A g, g)`` (the lifting of the Dirichlet data `g`), and `A'`
        equals `A` on free rows and columns, with zero couplings and a unit diagonal on the
        Dirichlet DOFs: ``A' = M A M + I_D`` with ``M = diag(free)``. So ``A'`` stays SPD
        and ``solve(A', b')`` is the discrete solution, equal to `g` on Dirichlet DOFs.

        **Arguments:** `A` on `space.pattern`, `b` of shape `(num_dofs,)` (from
        :meth:`assemble`). **Returns:** `(A', b')`.
        """
        if not isinstance(A, linalg.CSRMatrix) or A.shape != self.space.pattern.shape:
            raise ValueError(
                f"`A` must be a CSRMatrix on the space's pattern {self.space.pattern.shape}, "
                f"got {type(A).__name__} {getattr(A, 'shape', None)}."
            )
        if jnp.shape(b) != (self.space.num_dofs,):
            raise ValueError(
                f"`b` must have shape ({self.space.num_dofs},), got {jnp.shape(b)}. "
                "For a batch use `jax.vmap`."
            )
        return _eliminate(self, A, b)

    @property
    def free_dofs(self) -> np.ndarray:
        """Sorted indices of the DOFs without a Dirichlet condition (numpy)."""
        return np.nonzero(np.asarray(self.free_mask))[0]

    def condense(
        self, A: linalg.CSRMatrix, b: Float[Array, " dofs"]
    ) -> tuple[linalg.CSRMatrix, Float[Array, " free"]]:
        """The reduced system on the free DOFs (like scikit-fem's ``condense``), eagerly.

        ``A_ff = A[free][:, free]`` and ``b_f = b[free] - A[free, D] g``; the full
        solution is ``expand(solve(A_ff, b_f))``. For reduced bases: project each affine
        term ``A_q`` with ``condense(A_q, 0 * b)`` and its lifting ``-A_q[free, D] g`` is
        ``condense(A_q, 0 * b)[1]``.

        **Arguments:** `A`, `b` from :meth:`assemble` (concrete, not traced).

        **Returns:** `A_ff` (a :class:`~pdekit.solvers.linalg.CSRMatrix` of shape
        `(free, free)`) and `b_f` (shape `(free,)`).
        """
        if is_tracer(A.data) or is_tracer(b) or is_tracer(self.free_mask):
            raise ValueError("`condense` builds a new sparsity pattern on the host: call it "
                             "outside jit (use `eliminate` under jit).")
        A, b = self.eliminate(A, b)  # same validation; lifting already moved to b
        free = self.free_dofs
        pattern = self.space.pattern
        rows, cols = np.asarray(pattern.rows), np.asarray(pattern.cols)
        fm = np.asarray(self.free_mask)
        keep = np.nonzero(fm[rows] & fm[cols])[0]
        new = np.full(self.space.num_dofs, -1, dtype=np.int64)
        new[free] = np.arange(free.size)
        # entries kept in CSR order stay sorted by (row, col) after renumbering
        sub = linalg.SparsityPattern._from_unique(new[rows[keep]], new[cols[keep]],
                                                  (free.size, free.size))
        data = jnp.asarray(A.data)[jnp.asarray(keep)]
        return linalg.CSRMatrix(sub, data), jnp.asarray(b)[jnp.asarray(free)]

    def expand(self, u_free: Float[Array, " free"]) -> Float[Array, " dofs"]:
        """Full DOF vector from free-DOF values: `u_free` there, the Dirichlet data `g`
        elsewhere (inverse of the restriction in :meth:`condense`)."""
        free = jnp.asarray(self.free_dofs)
        if jnp.shape(u_free)[-1:] != (free.size,):
            raise ValueError(f"`u_free` must have shape ({free.size},), got {jnp.shape(u_free)}.")
        return self.dirichlet_values.astype(jnp.result_type(u_free)).at[free].set(u_free)

    def system(
        self, a: Coefficient = 1.0, f: Coefficient = 0.0, c: Coefficient | None = None
    ) -> tuple[linalg.CSRMatrix, Float[Array, " dofs"]]:
        """The SPD system ``(A, b)`` after Dirichlet elimination, on `space.pattern`:
        ``eliminate(*assemble(a, f, c))``."""
        return self._checked_system(a, f, c)

    def solve_with_stats(
        self, a: Coefficient = 1.0, f: Coefficient = 0.0, c: Coefficient | None = None
    ):
        """Like :meth:`solve`, returning `(u, stats)` (see `linalg.solve_with_stats`;
        ``stats["result"]`` is a :class:`~pdekit.solvers.RESULTS` member)."""
        return _solve_system(self, *self._checked_system(a, f, c), True)

    def solve(
        self, a: Coefficient = 1.0, f: Coefficient = 0.0, c: Coefficient | None = None
    ) -> Float[Array, " dofs"]:
        """Solve for the DOF values `u`, shape `(space.num_dofs,)` (vertex values first).

        **Arguments:** `a` diffusion coefficient (> 0), `f` source, `c` reaction (>= 0, or
        None for none); each a scalar, a `(cells,)`/`(num_dofs,)`/`(nodes,)` array or a
        callable of `x` of shape `(d, ...)`.

        **Raises:** `ValueError` before the linear solve for non-finite coefficients
        (numbers and arrays before any work; a callable on the values the assembly took at
        the quadrature points, so it is evaluated once); at run time (``eqx.error_if``) if
        the linear solve fails or a traced coefficient is not finite.
        """
        return _solve_system(self, *self._checked_system(a, f, c), False)

    def solve_batch(
        self,
        a: Coefficient = 1.0,
        f: Coefficient = 0.0,
        c: Coefficient | None = None,
        *,
        batch_size: int = 1,
        devices=None,
    ) -> Float[Array, "batch dofs"]:
        """Solve for a batch of coefficient fields, fast: :meth:`solve` applied sample by
        sample through :func:`pdekit.solvers.map_batched` (chunks of `batch_size` with
        ``jax.lax.map``, the batch split over `devices` with ``jax.shard_map``).

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
        - `devices`: sequence of JAX devices to split the batch over; default: the first
          device only (see :func:`~pdekit.solvers.map_batched`). *Known issue:* on XLA-CPU
          (jax 0.10.2) with 2 host devices, AMG-CG (`max_coarse=100`) on a 64x64 Darcy batch
          hangs at run time with `batch_size=4` (not with 1 or 2, nor with `max_coarse=10`;
          GMG-CG works at 1 and 4; a vmapped Cholesky alone does not hang); hence the
          single-device default.

        **Returns:** `u`, shape `(B, num_dofs)`, equal to stacking ``solve`` per sample.

        **Raises:** `ValueError` for `batch_size < 1`, no batched array argument, batched
        arguments of different lengths, or a non-finite coefficient (naming it and the
        first bad sample).
        """
        args = {"a": a, "f": f, "c": c}
        batched = {
            k: v for k, v in args.items()
            if v is not None and not callable(v) and jnp.ndim(v) >= 1
        }
        if not batched:
            raise ValueError(
                "solve_batch needs at least one array argument with a leading batch axis "
                "(e.g. `a` of shape (B, cells)); for a single solve use `solve`."
            )
        lengths = {k: jnp.shape(v)[0] for k, v in batched.items()}
        if len(set(lengths.values())) != 1:
            raise ValueError(f"batched arguments have different leading lengths: {lengths}.")
        shared = {k: v for k, v in args.items() if k not in batched}
        if not self.coercive and c is None:
            raise ValueError(_SINGULAR)
        for name, value in batched.items():
            _check_finite_batch(name, value)
        for name, value in shared.items():
            _check_finite_coefficient(self.space, name, value)
        batch_size = check_positive_int("batch_size", batch_size)
        return map_batched(_solve_sample, batched, (self, shared), batch_size=batch_size,
                           devices=devices)


# ---------------------------------------------------------------------- validation helpers
_SINGULAR = (
    "the problem has no Dirichlet or Robin part, so it is singular without a reaction term: "
    "pass `c` > 0 or add a Dirichlet/Robin condition."
)


def _check_finite_coefficient(space, name: str, value, callables: bool = True) -> None:
    """ValueError naming `name` if a concrete coefficient (or, with `callables`, a
    callable's values at the quadrature points) holds NaN/inf; traced values are checked
    at run time instead."""
    if value is None:
        return
    if isinstance(value, (bool, int, float)):
        if not math.isfinite(value):
            raise ValueError(f"`{name}` must be finite, got {value}.")
        return
    if callable(value):
        if callables and not is_tracer(space.origin):
            _raise_nonfinite(name, _nonfinite_count(space, value, name), callable_=True)
        return
    check_finite_array(name, value)


def _check_finite_coefficients(space, a, f, c, callables: bool = True) -> None:
    for name, value in (("a", a), ("f", f), ("c", c)):
        _check_finite_coefficient(space, name, value, callables)


@eqx.filter_jit
def _nonfinite_count(space, coef, name: str):
    vals = coefficient_at_quadrature(space, coef, name)
    return jnp.sum(~jnp.isfinite(vals))


def _raise_nonfinite(name: str, count, callable_: bool) -> None:
    """ValueError for a concrete nonzero `count` of non-finite quadrature values."""
    if is_tracer(count) or int(count) == 0:
        return
    what = f"callable `{name}` returned" if callable_ else f"`{name}` has"
    raise ValueError(
        f"{what} non-finite values (NaN or inf) at {int(count)} quadrature point(s)."
    )


def _checked(A: linalg.CSRMatrix, b, bad: dict):
    """``(A, b)`` after the finiteness verdicts `bad` (name -> count of non-finite values
    at the quadrature points, computed by the assembly itself): concrete counts raise a
    ValueError naming the argument now, before the solve; traced ones (under `jit`) guard
    the result with ``eqx.error_if`` (raised at run time)."""
    data = A.data
    for name, count in bad.items():
        if is_tracer(count):
            msg = f"`{name}` contains non-finite values (NaN or inf) at the quadrature points."
            if name == "f":
                b = eqx.error_if(b, count > 0, msg)
            else:
                data = eqx.error_if(data, count > 0, msg)
        else:
            _raise_nonfinite(name, count, callable_=True)
    return linalg.CSRMatrix(A.pattern, data), b


def _check_finite_batch(name: str, value) -> None:
    if is_tracer(value):
        return
    arr = np.asarray(value)
    ok = np.isfinite(arr).reshape(arr.shape[0], -1).all(axis=1)
    if not ok.all():
        raise ValueError(
            f"`{name}` contains non-finite values (NaN or inf) in {int((~ok).sum())} "
            f"sample(s), first sample {int(np.nonzero(~ok)[0][0])}."
        )


def _finite_or_error(x, values, name: str):
    """``x``, raising at run time (traced `values`) if `values` has a NaN/inf."""
    return eqx.error_if(
        x, jnp.logical_not(jnp.all(jnp.isfinite(values))),
        f"`{name}` contains non-finite values (NaN or inf) at the quadrature points.",
    )


# ---------------------------------------------------------------------- jitted kernels
def _assemble_values(problem: Poisson, a, f, c, boundary: bool):
    """``(A, b, q)``: the assembled system and the coefficient values at the quadrature
    points it was assembled from (``q[name]``, None for an absent `c`)."""
    space = problem.space
    a_q = coefficient_at_quadrature(space, a, "a")
    c_q = None if c is None else coefficient_at_quadrature(space, c, "c")
    f_q = coefficient_at_quadrature(space, f, "f")
    A = operator_from_values(space, a_q, c_q)
    data, b = A.data, load_from_values(space, f_q)
    if boundary:
        data = data + problem.boundary_matrix
        b = b + problem.boundary_load
    return linalg.CSRMatrix(A.pattern, data), b, {"a": a_q, "c": c_q, "f": f_q}


def _unchecked(a, f, c) -> tuple[str, ...]:
    """Names of the coefficients the eager pre-check could not verify: callables (checked
    on the values the assembly computes) and traced values."""
    return tuple(name for name, v in (("a", a), ("c", c), ("f", f))
                 if v is not None and (callable(v) or is_tracer(v)))


@eqx.filter_jit
def _assemble_counted(problem: Poisson, a, f, c, boundary: bool, names: tuple[str, ...]):
    """``(A, b, bad)`` with ``bad[name]`` the number of non-finite quadrature values of each
    coefficient in `names` (static)."""
    A, b, q = _assemble_values(problem, a, f, c, boundary)
    return A, b, {name: jnp.sum(~jnp.isfinite(q[name])) for name in names}


@eqx.filter_jit
def _assemble(problem: Poisson, a, f, c, boundary: bool):
    """The assembly with run-time finiteness checks of every coefficient (batched solves)."""
    A, b, q = _assemble_values(problem, a, f, c, boundary)
    data = _finite_or_error(A.data, q["a"], "a")
    if q["c"] is not None:
        data = _finite_or_error(data, q["c"], "c")
    b = _finite_or_error(b, q["f"], "f")
    return linalg.CSRMatrix(A.pattern, data), b


@eqx.filter_jit
def _eliminate(problem: Poisson, A: linalg.CSRMatrix, b):
    g = problem.dirichlet_values.astype(b.dtype)
    data = A.data
    # symmetric elimination (lifting): move A g to the right-hand side, then decouple
    if problem.has_lifting:
        b = b - linalg.CSRMatrix(A.pattern, data).matvec(g)
    b = jnp.where(problem.free_mask, b, g)
    # constrained rows/columns zeroed, unit diagonal (elementwise: no scatter)
    decoupled = problem.fixed_diagonal.astype(data.dtype)
    data = jnp.where(problem.keep, data, decoupled)
    return linalg.CSRMatrix(A.pattern, data), b


@eqx.filter_jit
def _system(problem: Poisson, a, f, c):
    A, b = _assemble(problem, a, f, c, True)
    return _eliminate(problem, A, b)


@eqx.filter_jit
def _system_counted(problem: Poisson, a, f, c, names: tuple[str, ...]):
    A, b, bad = _assemble_counted(problem, a, f, c, True, names)
    return (*_eliminate(problem, A, b), bad)


@eqx.filter_jit
def _solve_system(problem: Poisson, A: linalg.CSRMatrix, b, with_stats: bool):
    x, stats = linalg.solve_with_stats(A, b, problem.method)
    return (x, stats) if with_stats else x


@eqx.filter_jit
def _solve(problem: Poisson, a, f, c, with_stats: bool):
    A, b = _system(problem, a, f, c)
    return _solve_system(problem, A, b, with_stats)


def _solve_sample(sample: dict, shared: tuple) -> Array:
    """One sample of :meth:`Poisson.solve_batch` (module level: one compiled map)."""
    problem, coefficients = shared
    args = {"a": 1.0, "f": 0.0, "c": None, **coefficients, **sample}
    return _solve(problem, args["a"], args["f"], args["c"], False)
