"""`solve(problem, method, u0, t1, ...)`: the one entry point combining a problem and a method."""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Complex

from ..._misc import check_finite_array, check_finite_scalar, check_positive_int
from .._solution import RESULTS, Solution
from ._base import AbstractAdaptiveMethod, AbstractFixedStepMethod, AbstractMethod
from ._diagnostics import diagnostics
from ._dopri import Dopri8
from ._nlse import NLSE

_DEFAULT_MAX_STEPS = 100_000


def _concrete(name: str, value) -> np.ndarray:
    if isinstance(value, jax.core.Tracer):
        raise ValueError(
            f"`{name}` must be concrete (a Python float or numpy array), not a traced value: for "
            "fixed-step methods it sets the number of steps. Keep times outside jit/vmap.")
    return np.asarray(value, dtype=np.float64)


def _check_times(t0, t1, saveat):
    t0 = check_finite_scalar("t0", _concrete("t0", t0))
    t1 = check_finite_scalar("t1", _concrete("t1", t1))
    if t1 < t0:
        raise ValueError(f"`t1` must be >= t0 = {t0}, got {t1}.")
    ts = np.array([t0, t1]) if saveat is None else _concrete("saveat", saveat)
    if ts.ndim != 1 or ts.size == 0:
        raise ValueError(f"`saveat` must be a non-empty 1D array of times, got shape {ts.shape}.")
    if not np.all(np.isfinite(ts)):
        raise ValueError("`saveat` contains non-finite times.")
    if np.any(np.diff(ts) < 0):
        raise ValueError("`saveat` must be non-decreasing.")
    tol = 1e-12 * max(1.0, abs(t0), abs(t1))
    if ts[0] < t0 - tol or ts[-1] > t1 + tol:
        raise ValueError(f"`saveat` must lie in [t0, t1] = [{t0}, {t1}], got "
                         f"[{ts[0]}, {ts[-1]}].")
    return t0, t1, ts


def solve(problem: NLSE, method: AbstractMethod, u0: ArrayLike, t1: float, *, t0: float = 0.0,
          dt: float | None = None, saveat: ArrayLike | None = None,
          max_steps: int | None = None, throw: bool = True) -> Solution:
    r"""Integrate a pseudo-spectral problem from `t0` to `t1` and save states at `saveat`.

    Fixed-step methods (:class:`StrangSplitting`, :class:`Yoshida4`, :class:`ETDRK4`) split
    every interval between consecutive save times (starting from `t0`) into the same number
    $n = \lceil \max_i \Delta t_i / dt \rceil$ of equal steps, run as nested `lax.scan`s (so
    reverse-mode `jax.grad` works); the step actually used is $\Delta t_i / n \le dt$.
    :class:`Dopri8` chooses its steps (`dt`, if given, is the first trial step).

    The numerics run under `eqx.filter_jit`; this wrapper validates the input eagerly. Times
    (`t0`, `t1`, `saveat`, `dt`) must be concrete for fixed-step methods (they set the number of
    steps) and are passed to the compiled function as arrays, so a run over new times or new
    coefficients with the same shapes does not recompile. Batch with `jax.vmap` over `u0` or
    over a function that builds the problem from its coefficients.

    **Arguments:**

    - `problem`: an :class:`NLSE`.
    - `method`: a time integrator (see above).
    - `u0`: initial state $\psi(x, t_0)$ on `problem.grid`, shape `(N,)` (real or complex; the
      computation runs in the complex dtype of its precision).
    - `t1`: final time (>= `t0`).
    - `t0`: initial time (default 0).
    - `dt`: step for fixed-step methods (required), first trial step for `Dopri8` (optional).
    - `saveat`: non-decreasing save times in `[t0, t1]`, shape `(T,)` (default `[t0, t1]`).
    - `max_steps`: adaptive: step budget (default 100 000) before `RESULTS.max_steps_reached`;
      fixed-step: upper bound on the total number of steps, checked eagerly.
    - `throw`: raise (through `eqx.error_if`) when the result is not successful; with `False`
      inspect `Solution.result` instead.

    **Returns:** :class:`pdekit.solvers.Solution` with `ts` `(T,)`, `us` `(T, N)` complex, `result`
    and `stats`: `num_steps` (plus `num_accepted_steps`, `num_rejected_steps` for Dopri8) and
    the diagnostics of :func:`diagnostics` at every saved time (mass, momentum, hamiltonian,
    their relative drifts w.r.t. the first saved state, shannon/renyi/tsallis entropies).

    **Raises:** `ValueError` on bad input (shape, non-finite data, times out of order, missing
    `dt`, tolerance below the dtype's precision); with `throw=True` an error at run time when the
    solution turns non-finite or the adaptive step budget runs out.
    """
    if not isinstance(problem, NLSE):
        raise ValueError(f"`problem` must be an NLSE, got {type(problem).__name__}.")
    if not isinstance(method, AbstractMethod):
        raise ValueError("`method` must be one of StrangSplitting(), Yoshida4(), ETDRK4(), "
                         f"Dopri8(...), got {method!r}.")
    grid = problem.grid
    if jnp.shape(u0) != grid.shape:
        raise ValueError(f"`u0` must have shape {grid.shape} (the grid), got {jnp.shape(u0)}. "
                         "For a batch of initial conditions use `jax.vmap` over `solve`.")
    check_finite_array("u0", u0)
    u_dtype = jnp.result_type(u0)
    real_dtype = grid.dtype if not jnp.issubdtype(u_dtype, jnp.inexact) else \
        jnp.finfo(u_dtype).dtype
    complex_dtype = jnp.dtype(jnp.complex128 if real_dtype == jnp.float64 else jnp.complex64)
    u0 = jnp.asarray(u0).astype(complex_dtype)
    t0, t1, ts = _check_times(t0, t1, saveat)
    if max_steps is not None:
        max_steps = check_positive_int("max_steps", max_steps)
    throw = bool(throw)

    if isinstance(method, AbstractFixedStepMethod):
        if dt is None:
            raise ValueError(f"`dt` is required for the fixed-step method "
                             f"{type(method).__name__}.")
        dt = check_finite_scalar("dt", _concrete("dt", dt), positive=True)
        bounds = np.concatenate([[t0], ts])
        longest = float(np.max(np.diff(bounds))) if bounds.size > 1 else 0.0
        num_substeps = max(1, math.ceil(longest / dt * (1 - 1e-12)))
        total = num_substeps * ts.size
        if max_steps is not None and total > max_steps:
            raise ValueError(f"`dt`={dt} needs {total} steps, more than `max_steps`={max_steps}; "
                             "raise `max_steps` or `dt`.")
        # Equal save intervals (zero-length ones, e.g. a save at t0, aside) share one step size,
        # so the step coefficients (propagators, ETDRK4's contour integrals) are built once.
        widths = np.diff(bounds)
        positive = widths[widths > 0]
        uniform = bool(positive.size) and bool(np.allclose(positive, positive[0], rtol=1e-12,
                                                           atol=0.0))
        h_shared = jnp.asarray(positive[0] / num_substeps if uniform else 0.0, dtype=real_dtype)
        return _solve_fixed(problem, method, u0, jnp.asarray(bounds, dtype=real_dtype),
                            num_substeps, uniform, h_shared, throw)
    if isinstance(method, AbstractAdaptiveMethod):
        method.tolerances(real_dtype)  # eager tolerance check
        dt0 = None if dt is None else check_finite_scalar("dt", dt, positive=True)
        return _solve_adaptive(problem, method, u0, jnp.asarray(t0, dtype=real_dtype),
                               jnp.asarray(ts, dtype=real_dtype), dt0,
                               max_steps or _DEFAULT_MAX_STEPS, throw)
    raise ValueError(f"Unsupported method {type(method).__name__}.")  # pragma: no cover


def _finish(problem, ts, u_hats, result, stats, throw) -> Solution:
    us = problem.grid.ifft(u_hats)
    finite = jnp.all(jnp.isfinite(us.real) & jnp.isfinite(us.imag))
    result = RESULTS.where(finite | (result != RESULTS.successful), result, RESULTS.nonfinite)
    stats = dict(stats, **diagnostics(problem, us))
    if throw:
        us = result.error_if(us, result != RESULTS.successful)
    return Solution(ts=ts, us=us, stats=stats, result=result)


@eqx.filter_jit
def _solve_fixed(problem: NLSE, method: AbstractFixedStepMethod, u0: Complex[Array, " N"],
                 bounds: Array, num_substeps: int, uniform: bool, h_shared: Array,
                 throw: bool) -> Solution:
    shared = method.coefficients(problem, h_shared) if uniform else None

    def interval(u_hat, times):
        ta, tb = times
        coeffs = shared if uniform else method.coefficients(problem, (tb - ta) / num_substeps)

        def advance(v_hat):
            def body(w_hat, _):
                return method.step(problem, coeffs, w_hat), None

            return jax.lax.scan(body, v_hat, None, length=num_substeps)[0]

        # a zero-length interval (a save at t0, or a repeated save time) takes no step
        u_hat = jax.lax.cond(tb > ta, advance, lambda v_hat: v_hat, u_hat)
        return u_hat, u_hat

    _, u_hats = jax.lax.scan(interval, problem.grid.fft(u0), (bounds[:-1], bounds[1:]))
    num_steps = num_substeps * jnp.sum(bounds[1:] > bounds[:-1])
    return _finish(problem, bounds[1:], u_hats, RESULTS.successful,
                   dict(num_steps=num_steps), throw)


@eqx.filter_jit
def _solve_adaptive(problem: NLSE, method: Dopri8, u0: Complex[Array, " N"], t0: Array,
                    ts: Array, dt0: float | None, max_steps: int, throw: bool) -> Solution:
    u_hats, num_steps, accepted, rejected, result = method.integrate(
        problem, problem.grid.fft(u0), t0, ts, dt0, max_steps)
    stats = dict(num_steps=num_steps, num_accepted_steps=accepted,
                 num_rejected_steps=rejected)
    return _finish(problem, ts, u_hats, result, stats, throw)
