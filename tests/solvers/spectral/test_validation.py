"""Bad input, runtime failures and float32."""

import jax.numpy as jnp
import numpy as np
import pytest

from pdekit.solvers import RESULTS
from pdekit.solvers import spectral as sp

GRID = sp.FourierGrid(32, 10.0)
U0 = jnp.exp(-GRID.x**2).astype(jnp.complex128)


@pytest.mark.parametrize("kwargs,match", [
    (dict(u0=jnp.ones(31)), "u0"),
    (dict(u0=U0.at[3].set(jnp.nan)), "u0"),
    (dict(t1=-1.0), "t1"),
    (dict(t1=float("inf")), "t1"),
    (dict(dt=None), "dt"),
    (dict(dt=-0.1), "dt"),
    (dict(saveat=np.array([0.5, 0.2])), "saveat"),
    (dict(saveat=np.array([0.0, 2.0])), "saveat"),
    (dict(max_steps=3), "max_steps"),
    # the rest of the bad-input audit: every argument is named
    (dict(u0=U0.at[0].set(jnp.inf)), "u0"),
    (dict(u0=np.array(["a"] * 32)), "u0"),
    (dict(u0=jnp.ones((2, 32))), "u0"),
    (dict(t0=float("nan")), "t0"),
    (dict(t0=2.0), "t1"),
    (dict(t1="one"), "t1"),
    (dict(saveat=np.ones((2, 2))), "saveat"),
    (dict(saveat=np.array([0.0, np.nan])), "saveat"),
    (dict(dt=0.0), "dt"),
    (dict(dt=float("nan")), "dt"),
    (dict(dt=np.array([0.1, 0.2])), "dt"),
    (dict(max_steps=0), "max_steps"),
    (dict(max_steps=10.5), "max_steps"),
])
def test_solve_rejects_bad_input(kwargs, match):
    args = dict(u0=U0, t1=1.0, dt=0.1)
    args.update(kwargs)
    u0, t1 = args.pop("u0"), args.pop("t1")
    with pytest.raises(ValueError, match=match):
        sp.solve(sp.NLSE(GRID), sp.StrangSplitting(), u0, t1, **args)


def test_solve_rejects_bad_method_and_problem():
    with pytest.raises(ValueError, match="method"):
        sp.solve(sp.NLSE(GRID), "rk4", U0, 1.0)
    with pytest.raises(ValueError, match="problem"):
        sp.solve(GRID, sp.StrangSplitting(), U0, 1.0)


def test_nonfinite_becomes_result_code():
    # A huge amplitude with a huge step blows up the explicit ETDRK4 nonlinearity.
    problem = sp.NLSE(GRID, 1.0, 1.0)
    sol = sp.solve(problem, sp.ETDRK4(), 1e3 * U0, 5.0, dt=0.5, throw=False)
    assert sol.result == RESULTS.nonfinite
    with pytest.raises(Exception, match="non-finite"):
        sp.solve(problem, sp.ETDRK4(), 1e3 * U0, 5.0, dt=0.5, throw=True).us.block_until_ready()


def test_max_steps_becomes_result_code():
    problem = sp.NLSE(GRID, 1.0, 1.0)
    sol = sp.solve(problem, sp.Dopri8(), U0, 10.0, max_steps=4, throw=False)
    assert sol.result == RESULTS.max_steps_reached
    with pytest.raises(Exception, match="maximum number of steps"):
        sp.solve(problem, sp.Dopri8(), U0, 10.0, max_steps=4).us.block_until_ready()


def test_float32_smoke(float32):
    case = sp.cases.soliton(position=0.0, velocity=0.5)
    grid = sp.FourierGrid(128, 40.0)
    assert grid.dtype == jnp.float32
    u0 = case.u0(grid)
    for method, dt in [(sp.StrangSplitting(), 0.01), (sp.Dopri8(), None)]:
        sol = sp.solve(case.problem(grid), method, u0, 1.0, dt=dt)
        assert sol.us.dtype == jnp.complex64
        err = float(jnp.max(jnp.abs(sol.us[-1] - case.exact(grid, 1.0))))
        assert err < 1e-4, (method, err)
    with pytest.raises(ValueError, match="enable_x64"):
        sp.solve(case.problem(grid), sp.Dopri8(rtol=1e-10), u0, 1.0)


def test_u0_more_precise_than_the_grid_is_refused():
    grid32 = sp.FourierGrid(32, 10.0, dtype=jnp.float32)
    with pytest.raises(ValueError, match="u0"):
        sp.solve(sp.NLSE(grid32), sp.StrangSplitting(), U0, 1.0, dt=0.1)
    # a less precise one is cast up
    sol = sp.solve(sp.NLSE(GRID), sp.StrangSplitting(), U0.astype(jnp.complex64), 0.1, dt=0.1)
    assert sol.us.dtype == jnp.complex128


@pytest.mark.parametrize("kwargs,match", [
    (dict(beta=float("inf")), "beta"), (dict(gamma=1j), "gamma"),
    (dict(beta=True), "beta"), (dict(gamma=np.ones(2)), "gamma"),
])
def test_nlse_coefficients_audit(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sp.NLSE(GRID, **kwargs)


@pytest.mark.parametrize("make", [sp.LawsonDOP853, sp.LawsonDopri8, sp.Dopri8],
                         ids=lambda m: m.__name__)
@pytest.mark.parametrize("kwargs,match", [
    (dict(rtol=float("nan")), "rtol"), (dict(atol=-1e-9), "atol"),
    (dict(rtol=np.ones(2)), "rtol"), (dict(rtol="tight"), "rtol"),
])
def test_tolerance_audit(make, kwargs, match):
    with pytest.raises(ValueError, match=match):
        make(**kwargs)


@pytest.mark.parametrize("build,match", [
    (lambda: sp.cases.soliton(amplitude=float("nan")), "amplitude"),
    (lambda: sp.cases.soliton(amplitude=-1.0), "amplitude"),
    (lambda: sp.cases.soliton(velocity=np.ones(2)), "velocity"),
    (lambda: sp.cases.soliton(gamma=-1.0), "gamma"),
    (lambda: sp.cases.soliton(beta=0.0), "beta"),
    (lambda: sp.cases.soliton(num_points=63), "num_points"),
    (lambda: sp.cases.soliton(domain_length=float("inf")), "domain_length"),
    (lambda: sp.cases.two_soliton(separation=-1.0), "separation"),
    (lambda: sp.cases.two_soliton(phase2=1j), "phase2"),
    (lambda: sp.cases.akhmediev_breather(num_periods=0), "num_periods"),
    (lambda: sp.cases.modulation_instability(epsilon=-1e-3), "epsilon"),
    (lambda: sp.cases.modulation_instability(seed=-1), "seed"),
    (lambda: sp.cases.modulation_instability(num_frames=1), "num_frames"),
    (lambda: sp.cases.get("mi", seed=1.5), "seed"),
])
def test_case_parameter_audit(build, match):
    with pytest.raises(ValueError, match=match):
        build()
