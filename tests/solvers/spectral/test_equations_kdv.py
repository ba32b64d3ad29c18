"""KdV: the sech^2 soliton travels at its exact speed, the invariants are kept, and the
integrators agree on the real-valued dispersive problem."""

import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from pdekit.solvers import spectral as sp


def test_kdv_soliton_travels_at_its_exact_speed():
    grid = sp.FourierGrid(256, 40.0)
    problem = sp.KdV(grid)
    speed, x0, t1 = 2.0, -6.0, 2.0
    sol = sp.solve(problem, sp.ETDRK4(), problem.soliton(speed, 0.0, x0), t1, dt=1e-3,
                   saveat=np.array([1.0, t1]))
    exact = problem.soliton(speed, t1, x0)
    assert float(jnp.max(jnp.abs(sol.us[-1] - exact))) < 1e-8
    # the speed itself: the shift s that best fits u(t1) by the initial profile moved by s
    u1 = np.asarray(sol.us[-1])

    def misfit(s):
        return float(np.sum((u1 - np.asarray(problem.soliton(speed, 0.0, x0 + s))) ** 2))

    fit = minimize_scalar(misfit, bounds=(3.5, 4.5), method="bounded",
                          options=dict(xatol=1e-13))
    assert abs(fit.x / t1 - speed) < 1e-8, fit.x / t1 - speed
    for key in ("momentum_drift", "energy_drift"):
        assert float(jnp.max(jnp.abs(sol.stats[key]))) < 1e-9, key
    assert float(jnp.max(jnp.abs(sol.stats["mass_drift"]))) < 1e-12


@pytest.mark.parametrize("method,dt", [(sp.LawsonRK8(), 0.01), (sp.LawsonDOP853(rtol=1e-10), None)],
                         ids=["LawsonRK8", "LawsonDOP853"])
def test_kdv_lawson_methods_keep_the_soliton(method, dt):
    grid = sp.FourierGrid(128, 30.0)
    problem = sp.KdV(grid)
    sol = sp.solve(problem, method, problem.soliton(1.0, 0.0, -3.0), 1.0, dt=dt)
    assert float(jnp.max(jnp.abs(sol.us[-1] - problem.soliton(1.0, 1.0, -3.0)))) < 1e-7


def test_kdv_validates_its_grid():
    with pytest.raises(ValueError, match="grid"):
        sp.KdV(sp.FourierGrid((8, 8), 1.0))
    with pytest.raises(ValueError, match="dispersion"):
        sp.KdV(sp.FourierGrid(8, 1.0), dispersion=np.inf)
