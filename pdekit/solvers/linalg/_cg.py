"""Preconditioned conjugate gradients and the Jacobi preconditioner."""

from __future__ import annotations

import equinox as eqx
import jax.lax as lax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ..._misc import check_finite_scalar, check_positive_int, default_float_dtype
from ._base import AbstractLinearMethod, AbstractPreconditioner, Stats
from ._sparse import CSRMatrix, matvec_operator


class Jacobi(AbstractPreconditioner):
    """Diagonal (Jacobi) preconditioner ``M = diag(A)^{-1}``.

    Cheap and fully parallel; iteration counts of Jacobi-CG grow like the condition number's
    square root, i.e. like ``1/h`` for second-order elliptic problems. Rows with a zero
    diagonal are left unscaled.
    """

    def operator(self, A: CSRMatrix):
        d = A.diagonal()
        inv = jnp.where(d != 0, 1 / jnp.where(d != 0, d, 1), jnp.ones((), d.dtype))
        return lambda r: inv * r


def _identity(r):
    return r


def check_tolerances(rtol: float, atol: float, dtype=None) -> None:
    """Reject ``rtol`` below the dtype's epsilon (with a hint to enable float64)."""
    dtype = default_float_dtype() if dtype is None else jnp.dtype(dtype)
    eps = float(jnp.finfo(dtype).eps)
    if 0 < rtol < eps:
        hint = (
            " Call `pdekit.enable_x64()` (or set JAX_ENABLE_X64=1) before creating arrays "
            "to solve in float64."
            if dtype != jnp.float64
            else ""
        )
        raise ValueError(
            f"`rtol={rtol:g}` is below the {dtype} machine epsilon {eps:.3g} and cannot be "
            f"reached.{hint}"
        )


class CG(AbstractLinearMethod):
    """Preconditioned conjugate gradients for symmetric positive definite ``A``.

    Iterates until ``||b - A x||_2 <= max(rtol ||b||_2, atol)`` or ``max_steps`` iterations,
    starting from ``x0 = 0``. The stopping test runs on the recursively updated residual and
    the verdict on the *true* residual, recomputed at the end (CG restarts from the current
    iterate when the two disagree; see :func:`pcg`). The loop is a ``lax.while_loop``;
    gradients never unroll it (see :func:`solve`).

    **Arguments:**
    - `rtol`: relative tolerance on the residual 2-norm, ``>= eps`` of the dtype (default 1e-6).
    - `atol`: absolute tolerance, ``>= 0`` (default 0).
    - `max_steps`: maximum number of iterations, ``>= 1`` (default 10_000).
    - `preconditioner`: an :class:`AbstractPreconditioner` (:class:`Jacobi`, :class:`AMG`) or
      `None` for no preconditioning. It must be SPD.

    **Raises:** `ValueError` for a negative tolerance, both tolerances zero, `rtol` below the
    default dtype's epsilon, or `max_steps < 1`.
    """

    rtol: float = eqx.field(static=True)
    atol: float = eqx.field(static=True)
    max_steps: int = eqx.field(static=True)
    preconditioner: AbstractPreconditioner | None
    symmetric = True

    def __init__(self, rtol=1e-6, atol=0.0, max_steps=10_000, preconditioner=None):
        self.rtol = check_finite_scalar("rtol", rtol, nonnegative=True)
        self.atol = check_finite_scalar("atol", atol, nonnegative=True)
        if self.rtol == 0 and self.atol == 0:
            raise ValueError("`rtol` and `atol` are both 0: CG would never stop; set one > 0.")
        check_tolerances(self.rtol, self.atol)
        self.max_steps = check_positive_int("max_steps", max_steps)
        if preconditioner is not None and not isinstance(preconditioner, AbstractPreconditioner):
            raise ValueError(
                "`preconditioner` must be None or a pdekit.solvers.linalg preconditioner "
                f"(Jacobi(), AMG.build(A)), got {type(preconditioner).__name__}."
            )
        self.preconditioner = preconditioner

    def check(self, A, dtype):
        check_tolerances(self.rtol, self.atol, dtype)
        if self.preconditioner is not None:
            self.preconditioner.check(A)

    def prepare(self, A):
        return None if self.preconditioner is None else self.preconditioner.operator(A)

    def solve_raw(self, A, prepared, b, transpose):
        del transpose  # A is symmetric
        precond = _identity if prepared is None else prepared
        return pcg(A, precond, b, rtol=self.rtol, atol=self.atol, max_steps=self.max_steps)

    def failure_message(self):
        return (
            f"CG did not reach rtol={self.rtol:g}, atol={self.atol:g} within "
            f"max_steps={self.max_steps} (or met a non-finite value / non-SPD matrix). "
            "Increase `max_steps`, use a stronger preconditioner (AMG), or `Direct()`; "
            "pass throw=False to get the last iterate."
        )


_MAX_RESTARTS = 3


def pcg(
    A: CSRMatrix, precond, b: Float[Array, " n"], *, rtol: float, atol: float, max_steps: int
) -> tuple[Float[Array, " n"], Stats]:
    """Preconditioned CG from ``x0 = 0`` (no differentiation rule; see :func:`solve`).

    The verdict uses the *true* residual ``||b - A x||``: the recursively updated residual
    drifts from it in finite precision (ill-conditioned systems, float32), so once the
    recursion says "converged" the true residual is recomputed, and if it is still above
    the tolerance CG restarts from the current iterate with the true residual (at most
    ``_MAX_RESTARTS`` times, while it keeps decreasing and steps remain). `converged` is
    ``||b - A x|| <= max(rtol ||b||, atol)``."""
    dtype = b.dtype
    matvec = matvec_operator(A)
    bnorm = jnp.sqrt(jnp.vdot(b, b).real)
    tol = jnp.maximum(rtol * bnorm, jnp.asarray(atol, dtype))

    def iterate(x, r, k):
        """CG iterations from iterate `x` with residual `r`, from step count `k`."""
        z = precond(r)
        rz = jnp.vdot(r, z).real

        def cond(state):
            _, _, _, rz, rnorm, k = state
            return (rnorm > tol) & (k < max_steps) & jnp.isfinite(rnorm) & (rz > 0)

        def body(state):
            x, r, p, rz, _, k = state
            Ap = matvec(p)
            pAp = jnp.vdot(p, Ap).real
            alpha = rz / pAp
            x = x + alpha * p
            r = r - alpha * Ap
            z = precond(r)
            rz_new = jnp.vdot(r, z).real
            p = z + (rz_new / rz) * p
            return x, r, p, rz_new, jnp.sqrt(jnp.vdot(r, r).real), k + 1

        # state: x, r, p, <r, z>, ||r||, k
        init = (x, r, z, rz, jnp.sqrt(jnp.vdot(r, r).real), k)
        x, _, _, _, _, k = lax.while_loop(cond, body, init)
        r = b - matvec(x)
        return x, r, jnp.sqrt(jnp.vdot(r, r).real), k

    x, r, true_res, k = iterate(jnp.zeros_like(b), b, jnp.zeros((), jnp.int32))

    def restart_cond(state):
        _, _, res, k, prev, restarts = state
        return ((res > tol) & (k < max_steps) & jnp.isfinite(res) & (res < prev)
                & (restarts < _MAX_RESTARTS))

    def restart(state):
        x, r, res, k, _, restarts = state
        x, r, res_new, k = iterate(x, r, k)
        return x, r, res_new, k, res, restarts + 1

    inf = jnp.asarray(jnp.inf, true_res.dtype)
    x, _, true_res, k, _, _ = lax.while_loop(
        restart_cond, restart, (x, r, true_res, k, inf, jnp.zeros((), jnp.int32)))
    converged = (true_res <= tol) & jnp.isfinite(true_res)
    stats = dict(num_steps=k, residual_norm=true_res.astype(dtype), converged=converged)
    return x, stats
