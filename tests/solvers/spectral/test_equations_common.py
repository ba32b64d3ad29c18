"""What every new equation shares: heat batched under vmap equals a loop (and its exact
propagator), float32 smoke runs of every equation agree with float64, one trace per
configuration while the coefficients change."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import pdekit
from pdekit.solvers import spectral as sp


def test_heat_vmap_over_diffusivity_and_u0_equals_loop():
    grid = sp.FourierGrid((8, 8), 2 * np.pi)
    X, Y = grid.x
    u0s = jnp.stack([jnp.sin(X) * jnp.cos(2 * Y), jnp.cos(X + Y) + 1.0])
    kappas = jnp.array([0.1, 0.3])

    def run(u0, kappa):
        return sp.solve(sp.Heat(grid, kappa), sp.ETDRK4(), u0, 1.0, dt=0.25).us[-1]

    batched = jax.jit(jax.vmap(run))(u0s, kappas)
    loop = jax.jit(eqx.debug.assert_max_traces(run, max_traces=1))
    for i in range(2):
        np.testing.assert_allclose(batched[i], loop(u0s[i], kappas[i]), atol=1e-14)
        exact = sp.Heat(grid, kappas[i]).propagate(u0s[i], 1.0)
        np.testing.assert_allclose(batched[i], exact, atol=1e-13)


def test_float32_smoke(float32):
    assert not pdekit._misc.x64_enabled()
    grid = sp.FourierGrid(64, 2 * np.pi)
    x = grid.x
    burgers = sp.solve(sp.Burgers(grid, 0.1), sp.ETDRK4(), jnp.sin(x), 0.5, dt=0.01)
    kdv_problem = sp.KdV(sp.FourierGrid(64, 30.0))
    kdv = sp.solve(kdv_problem, sp.LawsonRK4(), kdv_problem.soliton(1.0), 0.5, dt=0.01)
    ks_problem = sp.KuramotoSivashinsky(sp.FourierGrid(64, 32 * np.pi))
    ks = sp.solve(ks_problem, sp.ETDRK4(), jnp.cos(ks_problem.grid.x / 16), 5.0, dt=0.25)
    ns_problem = sp.NavierStokes2D.fno(16, 1e-3)
    X, Y = ns_problem.grid.x
    ns = sp.solve(ns_problem, sp.ETDRK4(), jnp.sin(2 * np.pi * X) * jnp.cos(4 * np.pi * Y),
                  0.5, dt=0.05)
    heat = sp.solve(sp.Heat(grid, 0.1), sp.ETDRK4(), jnp.sin(x), 1.0, dt=0.5)
    nlse = sp.solve(sp.nlse_2d(sp.FourierGrid((16, 16), 10.0)), sp.StrangSplitting(),
                    jnp.ones((16, 16), jnp.complex64), 0.5, dt=0.05)
    for sol in (burgers, kdv, ks, ns, heat, nlse):
        assert sol.us.dtype in (jnp.float32, jnp.complex64)
        assert bool(jnp.all(jnp.isfinite(jnp.abs(sol.us))))
    np.testing.assert_allclose(heat.us[-1], np.exp(-0.1) * np.sin(np.asarray(x)), atol=1e-6)
    np.testing.assert_allclose(kdv.us[-1], kdv_problem.soliton(1.0, 0.5), atol=1e-4)
    np.testing.assert_allclose(ns.stats["circulation"], 0.0, atol=1e-5)
    np.testing.assert_allclose(nlse.stats["mass_drift"], 0.0, atol=1e-5)
