"""Accuracy, conservation and convergence order of the NLSE time integrators."""

import functools

import jax.numpy as jnp
import numpy as np
import pytest

from pdekit.solvers import spectral as sp

from ...helpers import convergence_rate


def test_soliton_dopri8_accuracy_and_mass():
    case = sp.cases.soliton()  # travels 16 widths on N = 512, L = 80
    grid = case.grid()
    sol = sp.solve(case.problem(grid), sp.Dopri8(rtol=1e-10, atol=1e-12), case.u0(grid),
                   case.t1, saveat=np.linspace(0.0, case.t1, 5))
    err = float(jnp.max(jnp.abs(sol.us[-1] - case.exact(grid, case.t1))))
    assert err < 1e-8, err
    assert float(jnp.max(jnp.abs(sol.stats["mass_drift"]))) < 1e-12
    assert float(jnp.max(jnp.abs(sol.stats["hamiltonian_drift"]))) < 1e-10
    assert sol.stats["mass"].shape == (5,)


@pytest.mark.parametrize("method", [sp.StrangSplitting(), sp.Yoshida4(), sp.SplitStep6(),
                                    sp.SplitStep8()])
def test_split_step_conserves_mass_to_roundoff(method):
    case = sp.cases.two_soliton(num_points=256)
    grid = case.grid()
    sol = sp.solve(case.problem(grid), method, case.u0(grid), 5.0, dt=0.05,
                   saveat=np.linspace(0.0, 5.0, 3))
    assert float(jnp.max(jnp.abs(sol.stats["mass_drift"]))) < 1e-13


@functools.cache
def _order_problem():
    case = sp.cases.soliton(amplitude=1.5, velocity=1.0, position=-1.0, domain_length=40.0)
    grid = sp.FourierGrid(128, 40.0)
    problem = case.problem(grid)
    u0 = case.u0(grid)
    t1 = 1.0
    # Reference on the same grid (spatial error cancels) with an independent method.
    ref = sp.solve(problem, sp.Dopri8(rtol=1e-13, atol=1e-14), u0, t1).us[-1]
    return problem, u0, t1, ref


def _reference_and_errors(method, dts):
    problem, u0, t1, ref = _order_problem()
    errors = [float(jnp.max(jnp.abs(sp.solve(problem, method, u0, t1, dt=dt).us[-1] - ref)))
              for dt in dts]
    return errors


@pytest.mark.parametrize("method,dts", [
    (sp.StrangSplitting(), [0.1, 0.05, 0.025, 0.0125]),
    (sp.Yoshida4(), [0.1, 0.05, 0.025, 0.0125]),
    (sp.ETDRK4(), [0.1, 0.05, 0.025, 0.0125]),
    (sp.LawsonRK4(), [0.1, 0.05, 0.025, 0.0125]),
    (sp.SplitStep6(), [0.1, 0.05, 0.025]),
    (sp.SplitStep8(), [0.0625, 0.05, 0.04]),
    (sp.LawsonRK8(), [0.1, 0.0625, 0.05, 0.04]),
])
def test_convergence_order(method, dts):
    errors = _reference_and_errors(method, dts)
    rate = convergence_rate(dts, errors)
    # High orders: a short pre-asymptotic range, so a wider band (brief: +-0.3).
    band = 0.2 if method.order <= 4 else 0.3
    assert abs(rate - method.order) < band, (type(method).__name__, rate, errors)
    assert errors[-1] > 1e-12, errors  # round-off does not pollute the fit


@pytest.mark.parametrize("method", [sp.SplitStep6(), sp.SplitStep8(), sp.LawsonRK4(),
                                    sp.LawsonRK8()])
def test_new_methods_jit_eager_vmap_consistent(method):
    import jax

    grid = sp.FourierGrid(64, 20.0)
    problem = sp.NLSE(grid, 1.0, 1.3)
    u0s = jnp.stack([sp.cases.soliton(1.0, 0.5, position=s).exact(grid, 0.0)
                     for s in (-2.0, 0.0, 2.0)])

    def run(u0):
        return sp.solve(problem, method, u0, 0.2, dt=0.05).us

    batched = jax.vmap(run)(u0s)
    with jax.disable_jit():
        eager = run(u0s[1])
    np.testing.assert_allclose(batched[1], eager, rtol=0, atol=1e-13)
    np.testing.assert_allclose(batched[0], run(u0s[0]), rtol=0, atol=1e-13)


def test_new_methods_float32_smoke(float32):
    case = sp.cases.soliton(position=0.0, velocity=0.5)
    grid = sp.FourierGrid(128, 40.0)
    assert grid.dtype == jnp.float32
    for method in (sp.SplitStep8(), sp.LawsonRK8()):
        sol = sp.solve(case.problem(grid), method, case.u0(grid), 1.0, dt=0.05)
        assert sol.us.dtype == jnp.complex64
        err = float(jnp.max(jnp.abs(sol.us[-1] - case.exact(grid, 1.0))))
        assert err < 1e-4, (method, err)
