"""Canonical cases against their analytic references."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pdekit.solvers import spectral as sp


def _residual(case, grid, t, h=1e-4):
    """max |i psi_t + beta/2 psi_xx + gamma |psi|^2 psi| of the exact solution (central FD in t)."""
    psi = case.exact(grid, t)
    psi_t = (case.exact(grid, t + h) - case.exact(grid, t - h)) / (2 * h)
    psi_xx = grid.ifft(-(grid.k**2).astype(psi.dtype) * grid.fft(psi))
    intensity = (jnp.abs(psi) ** 2).astype(psi.dtype)
    res = 1j * psi_t + 0.5 * float(case.beta) * psi_xx + float(case.gamma) * intensity * psi
    return float(jnp.max(jnp.abs(res)))


@pytest.mark.parametrize("make", [
    lambda b, g: sp.cases.soliton(1.2, 0.7, position=-3.0, beta=b, gamma=g),
    lambda b, g: sp.cases.akhmediev_breather(0.3, beta=b, gamma=g),
])
@pytest.mark.parametrize("beta,gamma", [(1.0, 1.0), (0.5, 2.0), (2.0, 0.3)])
def test_exact_solutions_satisfy_the_equation(make, beta, gamma):
    case = make(beta, gamma)
    # Fine enough for the narrowest soliton, long enough for the widest (whose tails would
    # otherwise be cut by the periodic boundary); the breather needs its own period.
    length = case.domain_length * (2 if case.name == "soliton" else 1)
    grid = sp.FourierGrid(2048, length)
    assert _residual(case, grid, 0.3) < 1e-6


def test_two_soliton_position_and_phase_shifts():
    case = sp.cases.two_soliton()  # A = 1, v = 1 and A = 1.5, v = -1; collide at t = 10
    grid = case.grid()
    sol = sp.solve(case.problem(grid), sp.Yoshida4(), case.u0(grid), case.t1, dt=0.01)
    x, u = np.asarray(grid.x), np.asarray(sol.us[-1])
    p = {k: float(v) for k, v in case.parameters.items()}
    ref = {k: float(v) for k, v in case.reference.items()}
    starts = (-0.5 * p["separation"], 0.5 * p["separation"])
    for j, side in ((1, x > 0), (2, x <= 0)):
        amp, vel = p[f"amplitude{j}"], p[f"velocity{j}"]
        intensity = np.abs(u[side]) ** 2
        position = np.sum(x[side] * intensity) / np.sum(intensity)
        shift = position - (starts[j - 1] + vel * case.t1)
        assert shift == pytest.approx(ref[f"shift{j}"], rel=0.01), (j, shift, ref)
        moved = sp.cases.soliton(amp, vel, starts[j - 1] + shift).exact(grid, case.t1)
        phase = np.angle(np.sum(np.conj(np.asarray(moved)[side]) * u[side]))
        assert math.remainder(phase - ref[f"phase_shift{j}"], 2 * math.pi) == pytest.approx(
            0.0, abs=0.01), (j, phase, ref)


def test_breather_matches_akhmediev_at_peak():
    case = sp.cases.akhmediev_breather(num_points=128)
    grid = case.grid()
    ts = np.array([case.t0, 0.0, case.t1])
    sol = sp.solve(case.problem(grid), sp.Yoshida4(), case.u0(grid), case.t1, t0=case.t0,
                   dt=0.0025, saveat=ts)
    err = float(jnp.max(jnp.abs(sol.us[1] - case.exact(grid, 0.0))))
    assert err < 1e-6, err
    assert float(jnp.max(jnp.abs(sol.us[1]))) == pytest.approx(
        float(case.reference["peak_amplitude"]), rel=1e-6)


def test_modulation_instability_growth_rate(getkey):
    case = sp.cases.modulation_instability(epsilon=1e-8, num_periods=4, num_points=128)
    grid = case.grid()
    ts = np.linspace(0.0, 12.0, 49)
    sol = sp.solve(case.problem(grid), sp.StrangSplitting(), case.u0(grid, key=getkey()),
                   12.0, dt=0.01, saveat=ts)
    ref = {k: float(v) for k, v in case.reference.items()}
    j = grid.wavenumber_index(ref["k_max"])
    assert float(grid.k[j]) == pytest.approx(ref["k_max"])
    u_hat = np.fft.fft(np.asarray(sol.us), axis=1)
    amplitude = np.hypot(np.abs(u_hat[:, j]), np.abs(u_hat[:, -j]))
    window = (ts >= 4.0) & (ts <= 12.0)  # after the transient, before saturation
    assert amplitude[window][-1] / (np.abs(u_hat[0, 0])) < 1e-2  # still linear
    rate = np.polyfit(ts[window], np.log(amplitude[window]), 1)[0]
    assert rate == pytest.approx(ref["growth_rate"], rel=0.05)
    assert ref["growth_rate"] == pytest.approx(1.0)
    # the library's automatic linear-stage fit (used by the CLI) agrees with theory too
    auto = sp.cases.measure_growth_rate(grid, ts, sol.us, ref["k_max"])
    assert auto == pytest.approx(ref["growth_rate"], rel=0.05)
    assert float(sp.cases.mi_growth_rate(3.0)) == 0.0


def test_case_registry_validates_names():
    assert float(sp.cases.get("soliton", amplitude=2.0).parameters["amplitude"]) == 2.0
    with pytest.raises(ValueError, match="Unknown case"):
        sp.cases.get("kdv")
    with pytest.raises(ValueError, match="Unknown parameter"):
        sp.cases.get("mi", amplitud=1.0)
    with pytest.raises(ValueError, match="`a`"):
        sp.cases.akhmediev_breather(a=0.6)
    with pytest.raises(ValueError, match="velocity1"):
        sp.cases.two_soliton(velocity1=-1.0, velocity2=1.0)
    with pytest.raises(ValueError, match="t_final"):
        sp.cases.soliton(t_final=-1.0)
    with pytest.raises(ValueError, match="no exact"):
        sp.cases.modulation_instability().exact(sp.FourierGrid(8, 1.0), 0.0)


def test_vmap_over_case_parameters_matches_a_loop():
    # parameters are array leaves: building the case inside the vmapped function works
    grid = sp.FourierGrid(64, 20.0)
    ts = np.linspace(0.0, 0.5, 3)

    def run(amplitude, velocity, gamma):
        case = sp.cases.soliton(amplitude, velocity, position=0.0, gamma=gamma)
        sol = sp.solve(case.problem(grid), sp.StrangSplitting(), case.u0(grid), 0.5,
                       dt=0.05, saveat=ts)
        return sol.us[-1], case.exact(grid, 0.5), case.reference["mass"]

    params = (jnp.array([0.8, 1.0, 1.3]), jnp.array([-0.5, 0.0, 0.7]), jnp.array([1.0, 0.5, 2.0]))
    batched = jax.vmap(run)(*params)
    for i in range(3):
        single = run(*(p[i] for p in params))
        for b, s in zip(batched, single):
            np.testing.assert_allclose(b[i], s, rtol=0, atol=1e-13)
    # the analytic two-soliton shifts vmap too, and agree with the scalar formula
    shifts = jax.vmap(lambda a: sp.cases.two_soliton_shifts(a, 1.0, 1.5, -1.0)["shift1"])(
        jnp.array([1.0, 1.2]))
    assert float(shifts[0]) == pytest.approx(float(
        sp.cases.two_soliton().reference["shift1"]), rel=1e-14)
