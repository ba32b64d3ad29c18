"""Thermal block: full-order model against pdekit's Poisson (independent elimination path),
the certified weak greedy (error < 1e-6 with N <= 30, a bound on every test parameter,
effectivity < 50), the online/offline split, transformations and bad input."""

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pdekit import rom
from pdekit.solvers import fem

CELLS = 16


@pytest.fixture(scope="module")
def problem():
    return rom.thermal_block(CELLS, (2, 2))


@pytest.fixture(scope="module")
def greedy(problem):
    train = problem.sample(jax.random.key(0), 100)
    return rom.weak_greedy(problem, train, tol=1e-8, max_basis_size=30)


@pytest.fixture(scope="module")
def test_set(problem):
    mu = problem.sample(jax.random.key(1), 100)
    return mu, jax.vmap(problem.solve)(mu)


def test_full_order_matches_poisson(problem):
    mesh = fem.unit_square_mesh(CELLS)
    space = fem.FunctionSpace(mesh, fem.P1())
    mu = jnp.asarray([0.1, 0.5, 1.0, 0.3])
    a = fem.BlockCoefficient(mesh, (2, 2))(mu.reshape(2, 2))
    ref = fem.Poisson(space).solve(a=a, f=1.0)
    u = problem.to_full(problem.solve(mu))
    np.testing.assert_allclose(np.asarray(u), np.asarray(ref), rtol=1e-10, atol=1e-14)
    # affine decomposition: A(mu) = sum_q mu_q A_q equals the assembled operator
    A = problem.operator(mu).todense()
    K = fem.assemble_stiffness(space, a).todense()[problem.free_dofs][:, problem.free_dofs]
    np.testing.assert_allclose(np.asarray(A), np.asarray(K), atol=1e-12)
    assert float(problem.coercivity_lower_bound(mu)) == pytest.approx(0.1)


def test_greedy_certified_accuracy(problem, greedy, test_set):
    mu, U = test_set
    model, V = greedy.rom, greedy.basis
    assert model.basis_size <= 30
    uN, est = jax.vmap(model.solve_and_estimate)(mu)
    err = jax.vmap(lambda u, c, m: problem.energy_norm(u - V @ c, m))(U, uN, mu)
    rel = err / jax.vmap(problem.energy_norm)(U, mu)
    assert float(jnp.max(rel)) < 1e-6, float(jnp.max(rel))
    eff = np.asarray(est / err)
    assert np.all(eff >= 1.0), eff.min()  # a bound on every test parameter
    assert eff.max() < 50, eff.max()
    # greedy criterion decays to the tolerance
    assert greedy.max_estimates[-1] <= 1e-8
    assert len(greedy.max_estimates) == model.basis_size + 1


def test_estimator_in_product_norm(problem, greedy, test_set):
    mu, U = test_set
    model, V = greedy.rom, greedy.basis
    X = problem.product()
    uN, est = jax.vmap(lambda m: model.solve_and_estimate(m, "product"))(mu[:20])
    e = U[:20] - uN @ V.T
    err = jnp.sqrt(jnp.einsum("bi,bi->b", e, jax.vmap(X.matvec)(e)))
    assert bool(jnp.all(est >= err))


def test_galerkin_rom_against_dense_reference(problem, greedy, test_set):
    """galerkin_rom on the first 3 greedy vectors: reduced solution and estimate equal a
    dense numpy computation (projection, residual, its X^{-1} dual norm); the error is far
    above the full greedy model's (error falls as the basis grows)."""
    mu, U = test_set
    V = greedy.basis[:, :3]
    model = rom.galerkin_rom(problem, V)
    Vn = np.asarray(V)
    X = np.asarray(problem.product().todense())
    errs = []
    for m, u in zip(mu[:3], U[:3]):
        A = np.asarray(problem.operator(m).todense())
        f = np.asarray(problem.load(m))
        c = np.linalg.solve(Vn.T @ A @ Vn, Vn.T @ f)
        r = f - A @ (Vn @ c)
        est = np.sqrt(r @ np.linalg.solve(X, r)) / np.sqrt(np.min(np.asarray(m)))
        uN, d = model.solve_and_estimate(m)
        np.testing.assert_allclose(np.asarray(uN), c, rtol=1e-10)
        np.testing.assert_allclose(float(d), est, rtol=1e-8)
        errs.append(float(problem.energy_norm(u - V @ uN, m)))
    uN_full = jax.vmap(greedy.rom.solve)(mu[:3])
    full = jax.vmap(lambda u, c, m: problem.energy_norm(u - greedy.basis @ c, m))(
        U[:3], uN_full, mu[:3])
    assert min(errs) > 1e3 * float(jnp.max(full))


def test_online_inputs_are_reduced(problem, greedy):
    n = problem.size
    shapes = [x.shape for x in jax.tree.leaves(greedy.rom)]
    assert all(n not in s for s in shapes), shapes
    jaxpr = jax.make_jaxpr(greedy.rom.solve_and_estimate)(jnp.ones(4))
    assert all(n not in v.aval.shape for v in jaxpr.jaxpr.invars)
    with pytest.raises(ValueError, match="reduced shape"):
        dataclasses.replace(greedy.rom, rhs=jnp.ones((1, n)))


def test_vmap_matches_loop_single_trace(greedy):
    model = greedy.rom
    mus = jnp.asarray([[0.2, 0.3, 0.4, 0.5], [0.9, 0.1, 0.5, 0.7], [1.0, 1.0, 0.1, 0.1]])

    @eqx.filter_jit
    @eqx.debug.assert_max_traces(max_traces=1)
    def one(mu):
        return model.solve_and_estimate(mu)

    loop = [one(m) for m in mus]
    batched = jax.vmap(model.solve_and_estimate)(mus)
    np.testing.assert_allclose(np.stack([x[0] for x in loop]), np.asarray(batched[0]),
                               rtol=1e-12, atol=1e-14)


def test_bad_input(problem, greedy):
    with pytest.raises(ValueError, match="outside the parameter box"):
        problem.check_params(jnp.asarray([0.05, 0.5, 0.5, 0.5]))
    with pytest.raises(ValueError, match="outside the parameter box"):
        greedy.rom.check_params(np.asarray([[0.5, 0.5, 0.5, 2.0]]))
    with pytest.raises(ValueError, match="training_set"):
        rom.weak_greedy(problem, jnp.full((3, 4), 5.0), tol=1e-3)
    V = greedy.basis[:, :3]
    with pytest.raises(ValueError, match="not orthonormal"):
        rom.galerkin_rom(problem, V * 2.0)
    with pytest.raises(ValueError, match="basis"):
        rom.galerkin_rom(problem, V[:-1])
    with pytest.raises(ValueError, match="blocks"):
        rom.thermal_block(8, "2y2")
    with pytest.raises(ValueError, match="mu_range"):
        rom.thermal_block(8, (2, 2), mu_range=(0.0, 1.0))


def test_float32_smoke(float32):
    p = rom.thermal_block(8, (2, 1))
    res = rom.weak_greedy(p, p.grid(3), max_basis_size=2)
    u, est = res.rom.solve_and_estimate(jnp.asarray([0.3, 0.7], jnp.float32))
    assert u.dtype == jnp.float32 and bool(jnp.isfinite(est))
