"""`AbstractSpectralProblem`: a problem written on the interface (here in the test, as a new
equation would be) is accepted by `solve` and every integrator; real-valued problems use the
rfft layout and return real states; split-step methods refuse problems without a nonlinear
flow; the NLSE in 2D conserves mass."""

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pdekit.solvers import spectral as sp


class _ReactionAdvectionDiffusion(sp.AbstractSpectralProblem):
    """u_t = nu Lap u - c . grad u - a u on a 2D torus, real; the reaction -a u is the
    "nonlinear" part (with its exact flow), so the exact solution is known mode by mode."""

    grid: sp.FourierGrid
    nu: jax.Array
    a: jax.Array
    c: tuple[float, float] = eqx.field(static=True)
    real_valued: ClassVar[bool] = True

    @property
    def linear_symbol(self):
        kx, ky = self.wavenumbers(derivative=True)
        re = -self.nu * self.k_squared()
        return jax.lax.complex(re, -(self.c[0] * kx + self.c[1] * ky) + jnp.zeros_like(re))

    def nonlinear(self, u_hat):
        return -self.a.astype(u_hat.dtype) * u_hat

    def nonlinear_flow(self, u, dt):
        return u * jnp.exp(-self.a * dt)

    def diagnostics(self, us):
        return dict(mean=self.grid.integrate(us))


class _NoFlow(_ReactionAdvectionDiffusion):
    nonlinear_flow = sp.AbstractSpectralProblem.nonlinear_flow


GRID = sp.FourierGrid((16, 8), (2 * np.pi, 4.0))


def _case():
    problem = _ReactionAdvectionDiffusion(GRID, jnp.asarray(0.05), jnp.asarray(0.3), (0.7, -0.4))
    X, Y = GRID.x
    u0 = jnp.sin(X) * jnp.cos(np.pi * Y) + 0.5 * jnp.cos(2 * X) + 0.2
    t1 = 0.5
    exact = problem.to_physical(jnp.exp((problem.linear_symbol - 0.3) * t1)
                                * problem.to_fourier(u0))
    return problem, u0, t1, exact


METHODS = [(sp.StrangSplitting(), 0.05), (sp.Yoshida4(), 0.05), (sp.ETDRK4(), 0.01),
           (sp.LawsonRK4(), 0.05), (sp.LawsonRK8(), 0.1), (sp.LawsonDOP853(rtol=1e-10), None),
           (sp.LawsonDopri8(rtol=1e-10), None), (sp.Dopri8(rtol=1e-10), None)]


@pytest.mark.parametrize("method,dt", METHODS, ids=lambda m: type(m).__name__)
def test_every_method_solves_a_new_real_problem(method, dt):
    problem, u0, t1, exact = _case()
    sol = sp.solve(problem, method, u0, t1, dt=dt, saveat=np.array([0.0, t1]))
    assert sol.us.shape == (2,) + GRID.shape and sol.us.dtype == jnp.float64
    # split-step: exact (the reaction commutes with L); the others: high order in a*dt
    err = float(jnp.max(jnp.abs(sol.us[-1] - exact)))
    assert err < 1e-9, err
    mean0 = 0.2 * 2 * np.pi * 4.0
    np.testing.assert_allclose(sol.stats["mean"], mean0 * np.exp(-0.3 * sol.ts), rtol=1e-9)


def test_split_step_refuses_a_problem_without_flow():
    problem, u0, t1, _ = _case()
    bad = _NoFlow(problem.grid, problem.nu, problem.a, problem.c)
    assert not bad.has_nonlinear_flow and problem.has_nonlinear_flow
    with pytest.raises(ValueError, match="nonlinear_flow"):
        sp.solve(bad, sp.StrangSplitting(), u0, t1, dt=0.1)
    sp.solve(bad, sp.ETDRK4(), u0, t1, dt=0.1)  # the others do not need it


def test_real_problem_refuses_complex_u0_and_checks_its_symbol():
    problem, u0, t1, _ = _case()
    with pytest.raises(ValueError, match="u0"):
        sp.solve(problem, sp.ETDRK4(), u0.astype(jnp.complex128), t1, dt=0.1)

    class _WrongShape(_ReactionAdvectionDiffusion):
        @property
        def linear_symbol(self):
            return jnp.zeros(self.grid.shape, self.grid.complex_dtype)  # not the rfft layout

    with pytest.raises(ValueError, match="linear_symbol"):
        sp.solve(_WrongShape(GRID, problem.nu, problem.a, problem.c), sp.ETDRK4(), u0, t1,
                 dt=0.1)


def test_nlse_2d_conserves_mass_and_matches_1d_along_an_axis():
    grid2 = sp.FourierGrid((32, 8), (20.0, 5.0))
    grid1 = sp.FourierGrid(32, 20.0)
    case = sp.cases.soliton(1.0, 0.5, position=0.0)
    u1 = case.exact(grid1, 0.0)
    u2 = jnp.broadcast_to(u1[:, None], grid2.shape)  # constant along y: a 1D soliton
    ts = np.linspace(0.0, 1.0, 3)
    s2 = sp.solve(sp.NLSE(grid2), sp.StrangSplitting(), u2, 1.0, dt=0.05, saveat=ts)
    s1 = sp.solve(sp.NLSE(grid1), sp.StrangSplitting(), u1, 1.0, dt=0.05, saveat=ts)
    np.testing.assert_allclose(s2.us[:, :, 3], s1.us, atol=1e-12)
    assert float(jnp.max(jnp.abs(s2.stats["mass_drift"]))) < 1e-13
    assert set(s2.stats) >= {"momentum_x", "momentum_y", "hamiltonian_drift"}
    np.testing.assert_allclose(s2.stats["mass"], 5.0 * s1.stats["mass"], rtol=1e-12)


def test_float32_smoke_real_2d(float32):
    grid = sp.FourierGrid((16, 8), (2 * np.pi, 4.0))
    assert grid.dtype == jnp.float32
    problem = _ReactionAdvectionDiffusion(grid, jnp.asarray(0.05), jnp.asarray(0.3), (0.7, -0.4))
    X, Y = grid.x
    u0 = jnp.sin(X) * jnp.cos(np.pi * Y) + 0.2
    exact = problem.to_physical(jnp.exp((problem.linear_symbol - 0.3) * 0.5)
                                * problem.to_fourier(u0))
    for method, dt in ((sp.ETDRK4(), 0.05), (sp.LawsonDOP853(), None)):
        sol = sp.solve(problem, method, u0, 0.5, dt=dt)
        assert sol.us.dtype == jnp.float32
        assert float(jnp.max(jnp.abs(sol.us[-1] - exact))) < 1e-5
