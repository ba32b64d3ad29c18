"""`solve(problem, method, u0, t1, ...)`: the one entry point combining a problem and a method."""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Inexact

from ..._misc import check_finite_array, check_finite_scalar, check_positive_int, is_tracer
from .._solution import RESULTS, Solution
from ._base import AbstractAdaptiveMethod, AbstractFixedStepMethod, AbstractMethod
from ._problem import AbstractSpectralProblem

_DEFAULT_MAX_STEPS = 100_000


def _concrete(name: str, value) -> np.ndarray:
    if is_tracer(value):
        raise ValueError(
            f"`{name}` must be concrete (a Python float or numpy array), not a traced value: for "
            "fixed-step methods it sets the number of steps. Keep times outside jit/vmap.")
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"`{name}` must be a real number or array of times, got "
                         f"{value!r}.") from None


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


def _check_u0(problem: AbstractSpectralProblem, u0) -> Array:
    """`u0` validated (shape, kind, precision, finiteness) and cast to the problem's state
    dtype."""
    grid = problem.grid
    if jnp.shape(u0) != grid.shape:
        raise ValueError(f"`u0` must have shape {grid.shape} (the grid), got {jnp.shape(u0)}. "
                         "For a batch of initial conditions use `jax.vmap` over `solve`.")
    u_dtype = getattr(u0, "dtype", None)
    u_dtype = np.asarray(u0).dtype if u_dtype is None else jnp.dtype(u_dtype)
    if not (jnp.issubdtype(u_dtype, jnp.number) or u_dtype == jnp.bool_):
        raise ValueError(f"`u0` must be a numeric array, got dtype {u_dtype}.")
    if problem.real_valued and jnp.issubdtype(u_dtype, jnp.complexfloating):
        raise ValueError(f"`u0` must be real for the real-valued {type(problem).__name__}, got "
                         f"dtype {u_dtype}; pass `u0.real` if the imaginary part is zero.")
    if jnp.issubdtype(u_dtype, jnp.inexact) and \
            jnp.finfo(u_dtype).bits > jnp.finfo(grid.dtype).bits:
        raise ValueError(f"`u0` has dtype {u_dtype}, more precise than the grid's {grid.dtype}: "
                         "build the grid with a matching dtype (call `pdekit.enable_x64()` "
                         "first for float64) or cast `u0`.")
    check_finite_array("u0", u0)
    return jnp.asarray(u0).astype(problem.state_dtype)


def solve(problem: AbstractSpectralProblem, method: AbstractMethod, u0: ArrayLike, t1: float,
          *, t0: float = 0.0, dt: float | None = None, saveat: ArrayLike | None = None,
          max_steps: int | None = None, throw: bool = True) -> Solution:
    r"""Integrate a pseudo-spectral problem from `t0` to `t1` and save states at `saveat`.

    Any :class:`AbstractSpectralProblem` (the :class:`NLSE`, or an equation written on the
    interface) with any method. Fixed-step methods (:class:`StrangSplitting`,
    :class:`Yoshida4`, :class:`ETDRK4`, :class:`LawsonRK4`, ...) split every interval between
    consecutive save times (starting from `t0`) into the same number
    $n = \lceil \max_i \Delta t_i / dt \rceil$ of equal steps, run as nested `lax.scan`s (so
    reverse-mode `jax.grad` works); the step actually used is $\Delta t_i / n \le dt$.
    Adaptive methods (:class:`LawsonDOP853`, :class:`LawsonDopri8`, :class:`Dopri8`) choose
    their steps (`dt`, if given, is the first trial step).

    The numerics run under `eqx.filter_jit`; this wrapper validates the input eagerly. Times
    (`t0`, `t1`, `saveat`, `dt`) must be concrete for fixed-step methods (they set the number of
    steps) and are passed to the compiled function as arrays, so a run over new times, new
    coefficients or new tolerances with the same shapes does not recompile. Batch with
    `jax.vmap` over `u0` or over a function that builds the problem from its coefficients.

    **Arguments:**

    - `problem`: an :class:`AbstractSpectralProblem` on a :class:`FourierGrid`.
    - `method`: a time integrator (see above).
    - `u0`: initial state on `problem.grid`, shape `grid.shape`: complex (or real) for complex
      problems, real for real-valued ones; it is cast to the grid's precision (a more precise
      `u0` is refused).
    - `t1`: final time (>= `t0`).
    - `t0`: initial time (default 0).
    - `dt`: step for fixed-step methods (required), first trial step for adaptive ones
      (optional).
    - `saveat`: non-decreasing save times in `[t0, t1]`, shape `(T,)` (default `[t0, t1]`).
    - `max_steps`: adaptive: step budget (default 100 000) before `RESULTS.max_steps_reached`;
      fixed-step: upper bound on the total number of steps, checked eagerly.
    - `throw`: raise (through `eqx.error_if`) when the result is not successful; with `False`
      inspect `Solution.result` instead.

    **Returns:** :class:`pdekit.solvers.Solution` with `ts` `(T,)`, `us` `(T, *grid.shape)`
    (complex, or real for real-valued problems), `result` and `stats`: `num_steps` (plus
    `num_accepted_steps`, `num_rejected_steps` for adaptive methods) and the problem's own
    `diagnostics(us)` (for the NLSE: mass, momentum, Hamiltonian, their relative drifts,
    entropies).

    **Raises:** `ValueError` on bad input (shape/dtype/non-finite `u0`, times out of order,
    missing `dt`, tolerance below the dtype's precision, a method the problem does not support,
    e.g. a split-step method for a problem without `nonlinear_flow`); with `throw=True` an error
    at run time when the solution turns non-finite or the adaptive step budget runs out.
    """
    if not isinstance(problem, AbstractSpectralProblem):
        raise ValueError("`problem` must be a spectral problem (an AbstractSpectralProblem such "
                         f"as NLSE), got {type(problem).__name__}.")
    if not isinstance(method, AbstractMethod):
        raise ValueError("`method` must be a time integrator such as StrangSplitting(), "
                         f"ETDRK4() or LawsonDOP853(), got {method!r}.")
    problem.check_interface()
    method.check_problem(problem)
    u0 = _check_u0(problem, u0)
    real_dtype = jnp.dtype(problem.grid.dtype)
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
        tolerances = method.tolerances(real_dtype)  # eager check, traced arrays
        dt0 = None if dt is None else jnp.asarray(
            check_finite_scalar("dt", _concrete("dt", dt), positive=True), dtype=real_dtype)
        return _solve_adaptive(problem, method, tolerances, u0,
                               jnp.asarray(t0, dtype=real_dtype),
                               jnp.asarray(ts, dtype=real_dtype), dt0,
                               max_steps or _DEFAULT_MAX_STEPS, throw)
    raise ValueError(f"Unsupported method {type(method).__name__}.")  # pragma: no cover


def _finish(problem, ts, u_hats, result, stats, throw) -> Solution:
    us = problem.to_physical(u_hats)
    parts = (us.real, us.imag) if jnp.iscomplexobj(us) else (us,)
    finite = jnp.all(jnp.stack([jnp.all(jnp.isfinite(p)) for p in parts]))
    result = RESULTS.where(finite | (result != RESULTS.successful), result, RESULTS.nonfinite)
    stats = dict(stats, **problem.diagnostics(us))
    if throw:
        us = result.error_if(us, result != RESULTS.successful)
    return Solution(ts=ts, us=us, stats=stats, result=result)


@eqx.filter_jit
def _solve_fixed(problem: AbstractSpectralProblem, method: AbstractFixedStepMethod,
                 u0: Inexact[Array, " *shape"], bounds: Array, num_substeps: int, uniform: bool,
                 h_shared: Array, throw: bool) -> Solution:
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

    _, u_hats = jax.lax.scan(interval, problem.to_fourier(u0), (bounds[:-1], bounds[1:]))
    num_steps = num_substeps * jnp.sum(bounds[1:] > bounds[:-1])
    return _finish(problem, bounds[1:], u_hats, RESULTS.successful,
                   dict(num_steps=num_steps), throw)


@eqx.filter_jit
def _solve_adaptive(problem: AbstractSpectralProblem, method: AbstractAdaptiveMethod,
                    tolerances: tuple[Array, Array], u0: Inexact[Array, " *shape"], t0: Array,
                    ts: Array, dt0: Array | None, max_steps: int, throw: bool) -> Solution:
    u_hats, num_steps, accepted, rejected, result = method.integrate(
        problem, problem.to_fourier(u0), t0, ts, dt0, max_steps, tolerances)
    stats = dict(num_steps=num_steps, num_accepted_steps=accepted,
                 num_rejected_steps=rejected)
    return _finish(problem, ts, u_hats, result, stats, throw)
