"""Viscous Burgers against the Cole–Hopf solution, computed independently: for u0 = sin x on
[0, 2 pi), phi0 = exp(cos x / (2 nu)) = I_0(z) + 2 sum_m I_m(z) cos(m x) (z = 1/(2 nu), the
modified Bessel series), the heat flow damps mode m by exp(-nu m^2 t), and u = -2 nu phi_x/phi."""

import jax
import jax.numpy as jnp
import numpy as np
from scipy.special import ive

from pdekit.solvers import spectral as sp


def cole_hopf(x, t, nu, num_terms=120):
    z = 1.0 / (2.0 * nu)
    m = np.arange(1, num_terms)[:, None]
    weight = ive(m, z) * np.exp(-nu * m**2 * t)  # exponentially scaled: e^z cancels in u
    phi = ive(0, z) + 2.0 * np.sum(weight * np.cos(m * x[None]), axis=0)
    phi_x = -2.0 * np.sum(m * weight * np.sin(m * x[None]), axis=0)
    return -2.0 * nu * phi_x / phi


def test_burgers_matches_cole_hopf():
    grid = sp.FourierGrid(128, 2 * np.pi)
    x = np.asarray(grid.x)
    nu = 0.1
    ts = np.array([0.25, 0.5, 1.0])
    np.testing.assert_allclose(cole_hopf(x, 0.0, nu), np.sin(x), atol=1e-11)  # the reference
    sol = sp.solve(sp.Burgers(grid, nu), sp.ETDRK4(), np.sin(x), 1.0, dt=0.005, saveat=ts)
    errors = [float(np.max(np.abs(sol.us[i] - cole_hopf(x, t, nu)))) for i, t in enumerate(ts)]
    assert max(errors) < 1e-8, errors
    assert float(jnp.max(jnp.abs(sol.stats["mass_drift"]))) < 1e-13
    assert np.all(np.diff(np.asarray(sol.stats["energy"])) < 0)


def test_burgers_batched_solve_and_vmap_over_viscosity_equal_loops():
    grid = sp.FourierGrid(32, 2 * np.pi)
    x = grid.x
    u0s = jnp.stack([jnp.sin(x), 0.5 * jnp.cos(2 * x) + 0.2, jnp.sin(x + 1.0) ** 2])
    nus = jnp.array([0.1, 0.2, 0.05])

    def run(u0, nu):
        return sp.solve(sp.Burgers(grid, nu), sp.ETDRK4(), u0, 0.5, dt=0.05).us[-1]

    batched = jax.vmap(run)(u0s, nus)
    by_u0 = jax.vmap(run, in_axes=(0, None))(u0s, nus[0])
    for i in range(3):
        np.testing.assert_allclose(batched[i], run(u0s[i], nus[i]), rtol=0, atol=1e-13)
        np.testing.assert_allclose(by_u0[i], run(u0s[i], nus[0]), rtol=0, atol=1e-13)


def test_burgers_gradient_wrt_viscosity_matches_finite_differences():
    grid = sp.FourierGrid(32, 2 * np.pi)
    u0 = jnp.sin(grid.x)

    def energy(nu):
        sol = sp.solve(sp.Burgers(grid, nu), sp.ETDRK4(), u0, 0.5, dt=0.05)
        return sol.stats["energy"][-1]

    g = float(jax.grad(energy)(0.1))
    h = 1e-5
    fd = (float(energy(0.1 + h)) - float(energy(0.1 - h))) / (2 * h)
    assert g < 0 and abs(g - fd) < 1e-7 * abs(fd), (g, fd)
