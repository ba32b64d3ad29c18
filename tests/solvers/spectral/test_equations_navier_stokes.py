"""2D Navier–Stokes (vorticity): Taylor–Green-type states decay as their exact solution, the
FNO forcing drives its exact single-shell state, the advection term equals an independent
numpy evaluation, enstrophy and energy decay without forcing and are conserved inviscidly,
and a batch of initial vorticities solved under vmap equals a loop."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pdekit.solvers import spectral as sp

GRID = sp.FourierGrid((16, 16), 2 * np.pi)


def _shell_state(grid):
    # every mode on the shell |k|^2 = 2: a steady state of the Euler equations (u.grad w = 0)
    X, Y = grid.x
    return -2 * jnp.cos(X) * jnp.cos(Y) + 0.7 * jnp.sin(X + Y) + 0.3 * jnp.cos(X - Y)


@pytest.mark.parametrize("method,dt", [(sp.ETDRK4(), 0.1), (sp.LawsonRK4(), 0.25)],
                         ids=["ETDRK4", "LawsonRK4"])
def test_taylor_green_decays_as_exact_solution(method, dt):
    nu = 0.05
    w0 = _shell_state(GRID)
    ts = np.array([0.5, 2.0])
    sol = sp.solve(sp.NavierStokes2D(GRID, nu), method, w0, 2.0, dt=dt, saveat=ts)
    for i, t in enumerate(ts):
        np.testing.assert_allclose(sol.us[i], w0 * np.exp(-2 * nu * t), rtol=0, atol=1e-10)


def test_taylor_green_velocity_and_diagnostics():
    X, Y = GRID.x
    problem = sp.NavierStokes2D(GRID, 0.0)
    w = -2 * jnp.cos(X) * jnp.cos(Y)
    u, v = problem.velocity(w)
    np.testing.assert_allclose(u, jnp.cos(X) * jnp.sin(Y), atol=1e-13)
    np.testing.assert_allclose(v, -jnp.sin(X) * jnp.cos(Y), atol=1e-13)
    d = problem.diagnostics(w[None])
    area = (2 * np.pi) ** 2
    np.testing.assert_allclose(d["energy"], 0.5 * area * 0.5, rtol=1e-13)  # <u^2+v^2> = 1/2
    np.testing.assert_allclose(d["enstrophy"], 0.5 * area * 1.0, rtol=1e-13)  # <w^2> = 1
    np.testing.assert_allclose(d["palinstrophy"], 0.5 * area * 2.0, rtol=1e-13)


def test_fno_forcing_drives_its_exact_shell_state():
    nu = 1e-3
    problem = sp.NavierStokes2D.fno(16, nu)
    f = sp.fno_forcing(problem.grid)
    lam = 8 * np.pi**2 * nu  # f lives on the shell |k| = 2 pi sqrt 2
    sol = sp.solve(problem, sp.ETDRK4(), jnp.zeros((16, 16)), 2.0, dt=0.25)
    np.testing.assert_allclose(sol.us[-1], f * (1 - np.exp(-lam * 2.0)) / lam, atol=1e-12)


def test_advection_term_matches_numpy():
    X, Y = (np.asarray(a) for a in GRID.x)
    w = np.cos(X) * np.cos(2 * Y) + np.sin(X + Y) + 0.4 * np.sin(X)  # three shells
    # independent evaluation: numpy FFTs on the full spectrum, no mask (no mode above 4,
    # so the product is alias-free on the 16-point grid and the 2/3 mask keeps it whole)
    k = np.fft.fftfreq(16, 1 / 16)
    kx, ky = np.meshgrid(k, k, indexing="ij")
    k2 = kx**2 + ky**2
    w_hat = np.fft.fft2(w)
    psi_hat = np.where(k2 > 0, w_hat / np.where(k2 > 0, k2, 1), 0)
    u, v = np.fft.ifft2(1j * ky * psi_hat).real, np.fft.ifft2(-1j * kx * psi_hat).real
    wx, wy = np.fft.ifft2(1j * kx * w_hat).real, np.fft.ifft2(1j * ky * w_hat).real
    expected = -(u * wx + v * wy)
    problem = sp.NavierStokes2D(GRID, 0.01)
    got = problem.to_physical(problem.nonlinear(problem.to_fourier(jnp.asarray(w))))
    np.testing.assert_allclose(got, expected, atol=1e-12)
    assert float(np.max(np.abs(expected))) > 0.5


def _random_vorticity(key, grid):
    problem = sp.NavierStokes2D(grid, 0.0)
    w_hat = problem.to_fourier(jax.random.normal(key, grid.shape))
    smooth = jnp.exp(-problem.k_squared() / 8.0) * problem.dealias_mask()
    w = problem.to_physical(jax.lax.complex(w_hat.real * smooth, w_hat.imag * smooth))
    return w - jnp.mean(w)


def test_enstrophy_decays_unforced_and_is_conserved_inviscid(getkey):
    w0 = _random_vorticity(getkey(), GRID)
    ts = np.linspace(0.0, 4.0, 9)
    viscous = sp.solve(sp.NavierStokes2D(GRID, 1e-2), sp.ETDRK4(), w0, 4.0, dt=0.05, saveat=ts)
    assert np.all(np.diff(np.asarray(viscous.stats["enstrophy"])) < 0)
    assert np.all(np.diff(np.asarray(viscous.stats["energy"])) < 0)
    inviscid = sp.solve(sp.NavierStokes2D(GRID, 0.0), sp.ETDRK4(), w0, 4.0, dt=0.05,
                        saveat=ts)
    for key in ("enstrophy", "energy"):
        q = np.asarray(inviscid.stats[key])
        assert np.max(np.abs(q / q[0] - 1)) < 1e-7, key
    assert float(jnp.max(jnp.abs(inviscid.stats["circulation"]))) < 1e-12
    assert float(jnp.max(jnp.abs(inviscid.us[-1] - w0))) > 0.1  # it did evolve


def test_batched_vorticities_and_viscosities_equal_a_loop(getkey):
    w0s = jnp.stack([_random_vorticity(getkey(), GRID) for _ in range(3)])
    nus = jnp.array([1e-3, 1e-2, 3e-2])

    def run(w0, nu):
        return sp.solve(sp.NavierStokes2D(GRID, nu), sp.ETDRK4(), w0, 0.5, dt=0.1,
                        saveat=np.array([0.25, 0.5])).us

    batched = jax.jit(jax.vmap(run))(w0s, nus)
    loop = jax.jit(eqx.debug.assert_max_traces(run, max_traces=1))  # new nu: no retrace
    for i in range(3):
        np.testing.assert_allclose(batched[i], loop(w0s[i], nus[i]), atol=1e-12)


def test_navier_stokes_validates_its_arguments():
    with pytest.raises(ValueError, match="grid"):
        sp.NavierStokes2D(sp.FourierGrid(16, 1.0), 1e-3)
    with pytest.raises(ValueError, match="viscosity"):
        sp.NavierStokes2D(GRID, -1e-3)
    with pytest.raises(ValueError, match="forcing"):
        sp.NavierStokes2D(GRID, 1e-3, np.zeros((16, 8)))
    with pytest.raises(ValueError, match="drag"):
        sp.NavierStokes2D(GRID, 1e-3, drag=-0.1)
