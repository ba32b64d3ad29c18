"""jit, vmap, grad and tracing behaviour of `solve`."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from pdekit.solvers import spectral as sp

GRID = sp.FourierGrid(64, 20.0)
TS = np.linspace(0.0, 1.0, 3)


def _u0(shift):
    return sp.cases.soliton(1.0, 0.5, position=shift).exact(GRID, 0.0)


def test_vmap_over_initial_conditions_matches_loop():
    u0s = jnp.stack([_u0(s) for s in np.linspace(-3.0, 3.0, 16)])
    problem = sp.NLSE(GRID)

    def run(u0):
        return sp.solve(problem, sp.StrangSplitting(), u0, 1.0, dt=0.05, saveat=TS).us

    batched = jax.vmap(run)(u0s)
    loop = jnp.stack([run(u) for u in u0s])
    np.testing.assert_allclose(batched, loop, rtol=0, atol=1e-13)


def test_vmap_over_coefficients_matches_loop():
    gammas = jnp.array([0.5, 1.0, 2.0])

    def final_state(gamma):
        return sp.solve(sp.NLSE(GRID, 1.0, gamma), sp.ETDRK4(), _u0(0.0), 1.0, dt=0.05).us[-1]

    batched = jax.vmap(final_state)(gammas)
    loop = jnp.stack([final_state(g) for g in gammas])
    np.testing.assert_allclose(batched, loop, rtol=0, atol=1e-13)


def test_jit_equals_eager():
    problem = sp.NLSE(GRID, 1.0, 1.3)
    jitted = sp.solve(problem, sp.Yoshida4(), _u0(0.0), 0.2, dt=0.05).us
    with jax.disable_jit():
        eager = sp.solve(problem, sp.Yoshida4(), _u0(0.0), 0.2, dt=0.05).us
    np.testing.assert_allclose(jitted, eager, rtol=0, atol=1e-13)


def test_one_trace_when_coefficients_change():
    @eqx.filter_jit
    @eqx.debug.assert_max_traces(max_traces=1)
    def run(beta, gamma, u0):
        return sp.solve(sp.NLSE(GRID, beta, gamma), sp.StrangSplitting(), u0, 1.0,
                        dt=0.1).us[-1]

    for beta, gamma in [(1.0, 1.0), (0.5, 2.0), (2.0, -1.0)]:
        run(jnp.asarray(beta), jnp.asarray(gamma), _u0(0.3))


def test_grad_matches_finite_differences():
    u0 = _u0(0.0)
    weight = jnp.exp(-GRID.x**2)

    def loss(gamma):
        us = sp.solve(sp.NLSE(GRID, 1.0, gamma), sp.StrangSplitting(), u0, 1.0, dt=0.05).us
        return jnp.sum(weight * jnp.abs(us[-1]) ** 2)  # weighted final mass distribution

    g0 = 1.2
    grad = float(jax.grad(loss)(g0))
    h = 1e-5
    fd = float((loss(g0 + h) - loss(g0 - h)) / (2 * h))
    assert abs(grad) > 1e-3
    np.testing.assert_allclose(grad, fd, rtol=1e-7)
