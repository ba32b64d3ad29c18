"""POD-greedy for the heat equation with parametrised conductivity (implicit Euler): the
space-time energy estimate bounds the true error and the error falls to the tolerance."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pdekit import rom


@pytest.fixture(scope="module")
def heat():
    return rom.thermal_block(10, (2, 1), dt=0.02, num_steps=8)


def _space_time_error(problem, U, V, uN, mu):
    """(||e^K||_M^2 + sum_k dt ||e^k||_mu^2)^(1/2) for one trajectory."""
    E = U - uN @ V.T
    A, M = problem.operator(mu), problem.mass()
    energy = jnp.sum(jax.vmap(lambda e: e @ A.matvec(e))(E))
    return jnp.sqrt(E[-1] @ M.matvec(E[-1]) + problem.dt * energy)


def test_heat_fom_matches_dense_implicit_euler(heat):
    mu = jnp.asarray([0.3, 0.8])
    U = heat.solve(mu)
    A = np.asarray(heat.operator(mu).todense())
    M = np.asarray(heat.mass().todense())
    f = np.asarray(heat.load(mu))
    u = np.zeros(heat.size)
    for k in range(heat.num_steps):
        u = np.linalg.solve(M + heat.dt * A, M @ u + heat.dt * f)
        np.testing.assert_allclose(np.asarray(U[k]), u, rtol=1e-10, atol=1e-14)


def test_pod_greedy_certified(heat):
    train = heat.grid(5)
    res = rom.pod_greedy(heat, train, tol=1e-3, max_basis_size=25)
    assert res.max_estimates[-1] <= 1e-3 and res.rom.basis_size < 25
    mu = heat.sample(jax.random.key(3), 6)
    U = jax.vmap(heat.solve)(mu)
    uN, est = jax.vmap(res.rom.solve_and_estimate)(mu)
    err = jnp.stack([_space_time_error(heat, U[i], res.basis, uN[i], mu[i]) for i in range(6)])
    eff = np.asarray(est / err)
    assert np.all(eff >= 1.0) and eff.max() < 50, eff
    # relative space-time error is small
    nrm = jnp.stack([_space_time_error(heat, U[i], res.basis, 0 * uN[i], mu[i])
                     for i in range(6)])
    assert float(jnp.max(err / nrm)) < 1e-3
    with pytest.raises(ValueError, match="weak_greedy"):
        rom.pod_greedy(rom.thermal_block(4, (1, 1)), jnp.ones((2, 1)) * 0.5, tol=1e-3)
    with pytest.raises(ValueError, match="pod_greedy"):
        rom.weak_greedy(heat, train, tol=1e-3)
