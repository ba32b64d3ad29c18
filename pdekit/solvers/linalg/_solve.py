"""The entry points ``solve`` and ``solve_with_stats``: differentiable sparse linear solves."""

from __future__ import annotations

import equinox as eqx
import jax.lax as lax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ..._misc import check_finite_array
from .._solution import RESULTS
from ._base import AbstractLinearMethod, Stats
from ._sparse import CSRMatrix


def _validate(A, b, method) -> None:
    if not isinstance(A, CSRMatrix):
        raise ValueError(f"`A` must be a CSRMatrix, got {type(A).__name__}.")
    if not isinstance(method, AbstractLinearMethod):
        raise ValueError(
            "`method` must be a pdekit.solvers.linalg method (CG(...), Direct()), "
            f"got {type(method).__name__}."
        )
    n_rows, n_cols = A.shape
    if n_rows != n_cols:
        raise ValueError(f"`A` must be square, got shape {A.shape}.")
    if jnp.ndim(A.data) != 1:
        raise ValueError(
            f"`A.data` must have shape ({A.pattern.nnz},), got {jnp.shape(A.data)}. "
            "For a batch of matrices use `jax.vmap` over `data`."
        )
    if jnp.shape(b) != (n_rows,):
        raise ValueError(
            f"`b` must have shape ({n_rows},) to match `A` of shape {A.shape}, got "
            f"{jnp.shape(b)}. For batched right-hand sides use `jax.vmap`."
        )
    for name, arr in (("A.data", A.data), ("b", b)):
        if not jnp.issubdtype(jnp.result_type(arr), jnp.floating):
            raise ValueError(f"`{name}` must be a real floating array, got {jnp.result_type(arr)}.")
    check_finite_array("b", b)
    check_finite_array("A.data", A.data)
    method.check(A, jnp.result_type(A.data, b))


def solve_with_stats(
    A: CSRMatrix, b: Float[Array, " n"], method: AbstractLinearMethod, *, throw: bool = True
) -> tuple[Float[Array, " n"], Stats]:
    """Solve ``A x = b`` and return ``(x, stats)``.

    Same as :func:`solve`; `stats` is a dict: `num_steps` (int32, iterations; 0 for
    :class:`Direct`), `residual_norm` (the true ``||b - A x||_2``), `converged` (bool) and
    `result` (a :class:`~pdekit.solvers.RESULTS` member: ``RESULTS.successful`` or
    ``RESULTS.linear_solve_failed``, as the spectral solvers report; with ``throw=False``
    test ``stats["result"] == RESULTS.successful``).
    """
    _validate(A, b, method)
    return _solve(A, b, method, throw)


def solve(
    A: CSRMatrix, b: Float[Array, " n"], method: AbstractLinearMethod, *, throw: bool = True
) -> Float[Array, " n"]:
    """Solve the sparse linear system ``A x = b``; pure, jit/vmap/grad compatible.

    **Arguments:**
    - `A`: square :class:`CSRMatrix` of shape `(n, n)`; SPD for :class:`CG`.
    - `b`: right-hand side, shape `(n,)`. Batch with `jax.vmap` (over `A.data` and/or `b`).
    - `method`: :class:`CG` (with :class:`Jacobi` or :class:`AMG` preconditioner) or
      :class:`Direct`.
    - `throw`: if True (default), raise at run time (``eqx.error_if``) when the method did not
      converge; if False, return the last iterate (see :func:`solve_with_stats`).

    **Returns:** `x`, shape `(n,)`, dtype of ``result_type(A.data, b)``.

    **Differentiation:** implicit (adjoint), via ``jax.lax.custom_linear_solve``: the
    derivative of ``x`` with respect to ``b`` and ``A.data`` costs one extra solve with
    ``A^T`` (the same solve for symmetric methods); iterations are never unrolled.

    **Raises:** `ValueError` (eagerly, before tracing) for a shape mismatch between `A` and
    `b`, non-finite concrete `b` or `A.data`, a tolerance below the dtype's epsilon, or a
    preconditioner built for another sparsity pattern.
    """
    x, _ = solve_with_stats(A, b, method, throw=throw)
    return x


@eqx.filter_jit
def _solve(A: CSRMatrix, b, method: AbstractLinearMethod, throw: bool):
    dtype = jnp.result_type(A.data, b)
    A = CSRMatrix(A.pattern, A.data.astype(dtype))
    b = b.astype(dtype)
    # The solver's internals (preconditioner set-up, iterations) are not differentiated:
    # custom_linear_solve defines the derivative implicitly from `A.matvec` alone.
    A_nd = CSRMatrix(A.pattern, lax.stop_gradient(A.data))
    prepared = method.prepare(A_nd)

    def _fwd(_matvec, rhs):
        return method.solve_raw(A_nd, prepared, rhs, False)

    def _bwd(_vecmat, rhs):
        return method.solve_raw(A_nd, prepared, rhs, True)

    x, stats = lax.custom_linear_solve(
        A.matvec,
        b,
        solve=_fwd,
        transpose_solve=_fwd if method.symmetric else _bwd,
        symmetric=method.symmetric,
        has_aux=True,
    )
    # (equinox's Enumeration members type-check as str)
    ok, failed = RESULTS.successful, RESULTS.linear_solve_failed
    result = RESULTS.where(stats["converged"], ok, failed)  # type: ignore[arg-type]
    stats = dict(stats, result=result)
    if throw:
        # the method's own message says more than RESULTS.linear_solve_failed's
        x = eqx.error_if(x, result != RESULTS.successful, method.failure_message())
    return x, stats

