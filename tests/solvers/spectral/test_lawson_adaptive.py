"""Adaptive embedded Lawson methods (`LawsonDopri8`, `LawsonDOP853`): local order, accuracy,
tolerance proportionality, agreement with Dopri8, step selection, batching, forward-mode
derivatives, result codes and validation."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pdekit.solvers import RESULTS
from pdekit.solvers import spectral as sp
from pdekit.solvers.spectral._lawson import propagators

from ...helpers import convergence_rate

METHODS = [sp.LawsonDopri8, sp.LawsonDOP853]
ids = pytest.mark.parametrize("make", METHODS, ids=lambda m: m.__name__)


@functools.cache
def _soliton_errors(rtol, make=sp.LawsonDopri8):
    case = sp.cases.soliton()  # N = 512, travels 16 widths
    grid = case.grid()
    sol = sp.solve(case.problem(grid), make(rtol=rtol, atol=1e-2 * rtol),
                   case.u0(grid), case.t1, saveat=np.linspace(0.0, case.t1, 5))
    err = float(jnp.max(jnp.abs(sol.us[-1] - case.exact(grid, case.t1))))
    return err, sol


@ids
def test_local_error_is_order_9(make):
    # One step of the 8th-order solution from the exact soliton: the local error decays like
    # h^8.2-8.4 here (h^9 classically; the stiff dispersion costs a little of it), which a
    # 7th-order or a mistyped tableau would not reach.
    case = sp.cases.soliton(amplitude=1.0, velocity=1.0, position=0.0)
    grid = sp.FourierGrid(512, 64.0)  # resolved, and periodic images below 1e-13
    problem, u_hat = case.problem(grid), grid.fft(case.u0(grid))
    method = make()
    phase = jnp.imag(problem.linear_symbol)
    hs = np.array([0.14, 0.1, 0.07, 0.05])
    errors = []
    for h in hs:
        k1 = problem.nonlinear(u_hat) if method._tableau.fsal else None
        props = propagators(method._tableau, phase, h, True)
        u_new, k_next, _ = method._attempt(problem.nonlinear, props, u_hat, k1, h)
        errors.append(float(jnp.max(jnp.abs(grid.ifft(u_new) - case.exact(grid, h)))))
        if method._tableau.fsal:  # first same as last: the carried evaluation is N(u_new)
            np.testing.assert_allclose(k_next, problem.nonlinear(u_new), rtol=0, atol=1e-12)
    slope = convergence_rate(hs, errors)
    assert 7.8 < slope < 10.0, (slope, errors)


@ids
def test_soliton_accuracy_against_analytic(make):
    err, sol = _soliton_errors(1e-10, make)
    assert err < 1e-9, err
    steps = int(sol.stats["num_steps"])
    assert steps == int(sol.stats["num_accepted_steps"]) + int(sol.stats["num_rejected_steps"])
    assert float(jnp.max(jnp.abs(sol.stats["mass_drift"]))) < 1e-10
    assert sol.result == RESULTS.successful


@ids
def test_tolerance_proportionality(make):
    rtols = [1e-6, 1e-8, 1e-10]
    errors = [_soliton_errors(r, make)[0] for r in rtols]
    slope = convergence_rate(rtols, errors)
    assert slope >= 0.7, (slope, errors)
    steps = [int(_soliton_errors(r, make)[1].stats["num_steps"]) for r in rtols]
    # 8th order: steps grow like rtol^(-1/8), i.e. x1.78 per factor 100.
    assert steps[0] < steps[1] < steps[2] < 4 * steps[0], steps


@functools.cache
def _two_soliton():
    case = sp.cases.two_soliton(num_points=256)
    grid = case.grid()
    return case, grid, case.problem(grid), case.u0(grid)


def test_two_soliton_agrees_with_dopri8():
    case, grid, problem, u0 = _two_soliton()
    ts = np.linspace(0.0, case.t1, 11)
    ours = sp.solve(problem, sp.LawsonDopri8(rtol=1e-11, atol=1e-13), u0, case.t1, saveat=ts)
    ref = sp.solve(problem, sp.Dopri8(rtol=1e-12, atol=1e-14), u0, case.t1, saveat=ts)
    np.testing.assert_allclose(ours.ts, ts, rtol=0, atol=1e-14)
    diff = float(jnp.max(jnp.abs(ours.us - ref.us)))
    assert diff < 1e-9, diff
    # Same tableau, but no per-stage exponential and exact landing on save times: not more
    # steps than diffrax's Dopri8 at the same tolerances.
    ref_same = sp.solve(problem, sp.Dopri8(rtol=1e-11, atol=1e-13), u0, case.t1, saveat=ts)
    assert int(ours.stats["num_steps"]) <= 1.2 * int(ref_same.stats["num_steps"])


def test_smaller_steps_at_the_collision():
    case, grid, problem, u0 = _two_soliton()
    tc = case.reference["t_collision"]
    method = sp.LawsonDopri8(rtol=1e-9, atol=1e-11)
    # Same window length 0.2 tc: solitons far apart vs. the approach to the collision
    # (a 40 % step increase at rtol 1e-9 on this case).
    w = 0.2 * tc
    start = sp.solve(problem, method, u0, 0.8 * tc).us[-1]
    n_before = int(sp.solve(problem, method, u0, w).stats["num_steps"])
    n_during = int(sp.solve(problem, method, start, w).stats["num_steps"])
    assert n_during > 1.25 * n_before, (n_before, n_during)


@ids
def test_vmap_matches_loop_over_u0_and_coefficients(make):
    grid = sp.FourierGrid(64, 20.0)
    method = make(rtol=1e-9, atol=1e-11)
    u0s = jnp.stack([sp.cases.soliton(1.0, 0.5, position=s).exact(grid, 0.0)
                     for s in (-2.0, 0.0, 2.0)])
    gammas = jnp.array([0.8, 1.0, 1.3])
    ts = np.linspace(0.0, 0.5, 3)

    def run(u0, gamma):
        return sp.solve(sp.NLSE(grid, 1.0, gamma), method, u0, 0.5, saveat=ts).us

    batched = jax.vmap(run)(u0s, gammas)
    for i in range(3):
        # equal up to round-off: batched and single FFTs round differently
        np.testing.assert_allclose(batched[i], run(u0s[i], gammas[i]), rtol=0, atol=1e-12)


@ids
def test_forward_mode_derivative_and_no_reverse_mode(make):
    grid = sp.FourierGrid(64, 20.0)
    u0 = sp.cases.soliton(1.0, 0.5, position=0.0).exact(grid, 0.0)
    method = make(rtol=1e-11, atol=1e-13)

    def final_real(gamma):
        return jnp.real(sp.solve(sp.NLSE(grid, 1.0, gamma), method, u0, 0.5).us[-1, 32])

    _, tangent = jax.jvp(final_real, (1.0,), (1.0,))
    d = 1e-5
    fd = (final_real(1.0 + d) - final_real(1.0 - d)) / (2 * d)
    assert abs(float(tangent) - float(fd)) < 1e-6, (tangent, fd)
    with pytest.raises(ValueError, match="Reverse-mode"):
        jax.grad(final_real)(1.0)


def test_max_steps_result_code():
    case, grid, problem, u0 = _two_soliton()
    sol = sp.solve(problem, sp.LawsonDopri8(rtol=1e-8), u0, case.t1, max_steps=5, throw=False)
    assert sol.result == RESULTS.max_steps_reached
    assert int(sol.stats["num_steps"]) == 5
    with pytest.raises(Exception, match="maximum number of steps"):
        sp.solve(problem, sp.LawsonDopri8(rtol=1e-8), u0, case.t1, max_steps=5)


@ids
def test_save_times_hit_exactly_including_duplicates_and_t0(make):
    case = sp.cases.soliton(1.0, 0.5, position=0.0)
    grid = case.grid()  # N = 512 on L = 80: spatially resolved to 1e-12
    ts = np.array([0.0, 0.0, 0.1, 0.1, 0.37, 0.37, 0.37, 1.0, 1.0])
    sol = sp.solve(case.problem(grid), make(rtol=1e-10, atol=1e-12),
                   case.u0(grid), 1.0, saveat=ts)
    np.testing.assert_allclose(sol.us[0], case.u0(grid), rtol=0, atol=1e-15)
    for i, j in ((2, 3), (4, 5), (4, 6), (7, 8)):  # the same state (batched inverse FFT)
        np.testing.assert_allclose(sol.us[i], sol.us[j], rtol=0, atol=1e-15)
    for t, u in zip(ts, sol.us):
        assert float(jnp.max(jnp.abs(u - case.exact(grid, t)))) < 1e-9


@pytest.mark.parametrize("kwargs,match", [
    (dict(rtol=-1.0), "rtol"), (dict(atol=0.0), "atol"), (dict(rtol=float("nan")), "rtol"),
    (dict(safety=1.5), "safety"), (dict(factormin=2.0), "factormin"), (dict(pcoeff=-1.0), "pcoeff"),
])
@ids
def test_bad_arguments_raise(kwargs, match, make):
    with pytest.raises(ValueError, match=match):
        make(**kwargs)


@ids
def test_rtol_below_precision_raises(make):
    grid = sp.FourierGrid(64, 20.0)
    with pytest.raises(ValueError, match="rtol"):
        sp.solve(sp.NLSE(grid), make(rtol=1e-20), jnp.ones(64), 1.0)


@ids
def test_float32_smoke(float32, make):
    case = sp.cases.soliton(position=0.0, velocity=0.5)
    grid = sp.FourierGrid(128, 40.0)
    sol = sp.solve(case.problem(grid), make(), case.u0(grid), 1.0)
    assert sol.us.dtype == jnp.complex64
    err = float(jnp.max(jnp.abs(sol.us[-1] - case.exact(grid, 1.0))))
    assert err < 1e-4, err


def test_dop853_fewer_evaluations_than_dopri8_at_equal_accuracy():
    # FSAL: 12 instead of 13 evaluations a step, and about as many steps for the same error
    case, grid, problem, u0 = _two_soliton()
    ts = np.linspace(0.0, case.t1, 11)
    ref = sp.solve(problem, sp.LawsonDopri8(rtol=1e-12, atol=1e-14), u0, case.t1, saveat=ts)
    runs = {}
    for make, rtol in ((sp.LawsonDopri8, 3e-7), (sp.LawsonDOP853, 2e-7)):
        sol = sp.solve(problem, make(rtol=rtol, atol=1e-2 * rtol), u0, case.t1, saveat=ts)
        err = float(jnp.max(jnp.abs(sol.us[-1] - ref.us[-1])))
        runs[make.__name__] = (err, int(sol.stats["num_steps"]))
    (e8, s8), (e853, s853) = runs["LawsonDopri8"], runs["LawsonDOP853"]
    assert e853 <= 1.2 * e8 and 12 * s853 < 0.95 * 13 * s8, runs


def test_rejected_clipped_step_shrinks():
    # safety=1: a rejected step clipped to a save time must still shrink (it used to be
    # clipped to the same size again and again until max_steps)
    case, grid, problem, u0 = _two_soliton()
    ts = np.linspace(0.0, case.t1, 51)
    sol = sp.solve(problem, sp.LawsonDOP853(rtol=1e-6, atol=1e-8, safety=1.0), u0, case.t1,
                   saveat=ts, max_steps=5000, throw=False)
    assert sol.result == RESULTS.successful
    assert int(sol.stats["num_steps"]) < 1000, int(sol.stats["num_steps"])


# --- order of the 8th-order solutions, with negative controls --------------------------------
# The adaptive methods and the fixed-step Lawson methods share one stage kernel
# (`_lawson.lawson_step`), so stepping a tableau with a fixed step through `_Lawson` measures
# the global order of exactly the solution the adaptive loop advances.
@functools.cache
def _order_reference():
    case = sp.cases.soliton(amplitude=1.5, velocity=1.0, position=-1.0, domain_length=40.0)
    grid = sp.FourierGrid(128, 40.0)
    problem, u0 = case.problem(grid), case.u0(grid)
    ref = sp.solve(problem, sp.Dopri8(rtol=1e-13, atol=1e-14), u0, 1.0).us[-1]
    return problem, u0, ref


def _fixed_step_rate(tableau, dts=(0.1, 0.0625, 0.05, 0.04)):
    from pdekit.solvers.spectral._lawson import _Lawson

    class Fixed(_Lawson):
        order = 8
        _tableau = tableau

    problem, u0, ref = _order_reference()
    errors = [float(jnp.max(jnp.abs(sp.solve(problem, Fixed(), u0, 1.0, dt=dt).us[-1] - ref)))
              for dt in dts]
    assert errors[-1] > 1e-12, errors  # round-off does not pollute the fit
    return convergence_rate(dts, errors), errors


def _is_order_8(rate):
    return abs(rate - 8.0) < 0.3


@ids
def test_solution_is_8th_order_by_a_fixed_step_slope(make):
    rate, errors = _fixed_step_rate(make._tableau)
    assert _is_order_8(rate), (rate, errors)


def test_order_check_catches_a_7th_order_or_mistyped_tableau():
    from pdekit.solvers.spectral._tableaux import DOPRI8

    # the embedded 7th-order solution of RK8(7)13M (b - e): order 7, which the check rejects
    b7 = tuple(b - e for b, e in zip(DOPRI8.b, DOPRI8.errors[0]))
    rate7, errors7 = _fixed_step_rate(DOPRI8._replace(b=b7, errors=()))
    assert not _is_order_8(rate7) and 6.5 < rate7 < 7.5, (rate7, errors7)
    # one coefficient mistyped in the 4th digit breaks the order conditions
    a = [list(row) for row in DOPRI8.a]
    a[5][3] *= 1.0001
    rate_bad, errors_bad = _fixed_step_rate(DOPRI8._replace(a=tuple(map(tuple, a)), errors=()))
    assert not _is_order_8(rate_bad), (rate_bad, errors_bad)


@pytest.mark.parametrize("make", METHODS + [sp.Dopri8], ids=lambda m: m.__name__)
def test_tolerances_are_traced_a_sweep_compiles_once(make, monkeypatch):
    grid = sp.FourierGrid(32, 20.0)
    u0 = sp.cases.soliton(1.0, 0.5, position=0.0).exact(grid, 0.0)
    problem = sp.NLSE(grid)
    traces = []
    original = make.integrate

    def counting(self, *args, **kwargs):  # runs only while tracing
        traces.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(make, "integrate", counting)
    rtols = (1e-6, 3e-8, 1e-9)
    finals = [sp.solve(problem, make(rtol=r, atol=1e-2 * r), u0, 0.3).us[-1] for r in rtols]
    assert len(traces) == 1, len(traces)
    # vmap over tolerances equals the loop
    batched = jax.vmap(lambda r: sp.solve(problem, make(rtol=r, atol=1e-2 * r), u0,
                                          0.3).us[-1])(jnp.asarray(rtols))
    np.testing.assert_allclose(batched, jnp.stack(finals), rtol=0, atol=1e-12)
