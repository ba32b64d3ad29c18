"""Heat and advection–diffusion against their exact solutions, evaluated independently in numpy
(a sum of Fourier modes, each damped by exp(-kappa |k|^2 t) and translated by c t)."""

import jax.numpy as jnp
import numpy as np
import pytest

from pdekit.solvers import spectral as sp

# (amplitude, integer wavevector (periods per box side), phase) of the initial modes
MODES = [(1.0, (1, 0, 0), 0.3), (0.5, (2, -1, 1), -1.1), (0.25, (0, 3, 2), 0.7),
         (0.1, (0, 0, 0), 0.0)]


def _exact(grid, kappa, velocity, t):
    """u(x, t) = sum_m a_m exp(-kappa |k_m|^2 t) cos(k_m . (x - c t) + phi_m)."""
    x = np.asarray(grid.x).reshape((grid.ndim,) + grid.shape)
    c = np.broadcast_to(np.asarray(velocity, dtype=float), (grid.ndim,))
    out = np.zeros(grid.shape)
    for a, m, phi in MODES:
        k = 2 * np.pi * np.asarray(m[:grid.ndim]) / np.asarray(grid.lengths)
        arg = sum(k[i] * (x[i] - c[i] * t) for i in range(grid.ndim)) + phi
        out += a * np.exp(-kappa * np.dot(k, k) * t) * np.cos(arg)
    return out


@pytest.mark.parametrize("method,dt", [(sp.ETDRK4(), 0.1), (sp.StrangSplitting(), 0.25)],
                         ids=["ETDRK4", "Strang"])
def test_heat_2d_equals_exact_fourier_solution(method, dt):
    grid = sp.FourierGrid((16, 12), (2 * np.pi, 3.0))
    kappa = 0.07
    ts = np.array([0.0, 0.3, 1.0, 2.5])
    sol = sp.solve(sp.Heat(grid, kappa), method, _exact(grid, kappa, 0.0, 0.0), 2.5, dt=dt,
                   saveat=ts)
    for i, t in enumerate(ts):
        np.testing.assert_allclose(sol.us[i], _exact(grid, kappa, 0.0, t), rtol=0, atol=1e-12)
    np.testing.assert_allclose(sol.stats["mass_drift"], 0.0, atol=1e-12)
    assert np.all(np.diff(np.asarray(sol.stats["energy"])) < 0)


def test_advection_diffusion_1d_and_3d_equal_exact_solution():
    grid = sp.FourierGrid(32, 5.0)
    problem = sp.AdvectionDiffusion(grid, 0.02, 1.3)
    sol = sp.solve(problem, sp.LawsonRK4(), _exact(grid, 0.02, 1.3, 0.0), 3.0, dt=0.5,
                   saveat=np.array([1.0, 3.0]))
    np.testing.assert_allclose(sol.us[-1], _exact(grid, 0.02, 1.3, 3.0), rtol=0, atol=1e-12)

    grid3 = sp.FourierGrid((8, 8, 8), (2 * np.pi, 4.0, 6.0))
    c = np.array([0.4, -0.9, 0.25])
    problem3 = sp.AdvectionDiffusion(grid3, 0.05, c)
    u0 = _exact(grid3, 0.05, c, 0.0)
    sol3 = sp.solve(problem3, sp.ETDRK4(), u0, 1.7, dt=0.5)
    np.testing.assert_allclose(sol3.us[-1], _exact(grid3, 0.05, c, 1.7), rtol=0, atol=1e-12)
    np.testing.assert_allclose(problem3.propagate(u0, 1.7), sol3.us[-1], rtol=0, atol=1e-12)


def test_linear_problems_validate_their_arguments():
    grid = sp.FourierGrid((8, 8), 1.0)
    with pytest.raises(ValueError, match="diffusivity"):
        sp.Heat(grid, -1.0)
    with pytest.raises(ValueError, match="diffusivity"):
        sp.Heat(grid, jnp.ones(3))
    with pytest.raises(ValueError, match="velocity"):
        sp.AdvectionDiffusion(grid, 0.1, 1.0)  # needs one component per axis in 2D
    with pytest.raises(ValueError, match="velocity"):
        sp.AdvectionDiffusion(grid, 0.1, [1.0, np.nan])
    with pytest.raises(ValueError, match="grid"):
        sp.Heat(np.zeros(8), 0.1)
