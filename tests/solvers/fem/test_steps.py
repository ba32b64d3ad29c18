"""The public FEM steps: assemble (no Dirichlet), eliminate, condense; system == their
composition; the affine (thermal block) decomposition; per-cell vs callable coefficients."""

import jax.numpy as jnp
import numpy as np
import pytest
import scipy.sparse.linalg as spla

from pdekit.solvers import fem


def u_exact(x):
    return jnp.sin(np.pi * x[0]) * jnp.exp(x[1])


@pytest.fixture(scope="module")
def setup():
    mesh = fem.unit_square_mesh(8)
    space = fem.FunctionSpace(mesh, fem.P2())
    right = lambda x: np.isclose(x[0], 1.0)  # noqa: E731
    problem = fem.Poisson(
        space,
        dirichlet=fem.Dirichlet(u_exact, lambda x: ~np.isclose(x[0], 1.0)),
        robin=fem.Robin(2.0, 1.5, right),
    )
    return mesh, space, problem


def test_system_is_eliminate_of_assemble(setup):
    _, space, problem = setup
    a, f = (lambda x: 1.0 + x[0] * x[1]), (lambda x: jnp.cos(x[0]))
    A, b = problem.assemble(a, f)
    Ae, be = problem.eliminate(A, b)
    As, bs = problem.system(a, f)
    np.testing.assert_array_equal(Ae.data, As.data)
    np.testing.assert_array_equal(be, bs)
    # eliminate = M A M + I_D and b' = where(free, b - A g, g), checked densely
    free = np.asarray(problem.free_mask)
    g = np.asarray(problem.dirichlet_values)
    Ad = np.asarray(A.todense())
    ref = Ad * np.outer(free, free) + np.diag(~free * 1.0)
    np.testing.assert_allclose(np.asarray(Ae.todense()), ref, rtol=0, atol=1e-14)
    np.testing.assert_allclose(be, np.where(free, np.asarray(b) - Ad @ g, g), atol=1e-12)


def test_condense_and_expand_solve_the_problem(setup):
    _, space, problem = setup
    A, b = problem.assemble(2.0, 1.0)
    Aff, bf = problem.condense(A, b)
    nfree = problem.free_dofs.size
    assert Aff.shape == (nfree, nfree) and bf.shape == (nfree,)
    u = problem.expand(jnp.asarray(spla.spsolve(Aff.to_scipy().tocsc(), np.asarray(bf))))
    np.testing.assert_allclose(u, problem.solve(2.0, 1.0), rtol=1e-10, atol=1e-12)
    # the reduced matrix is the free-free block of the assembled one
    Ad = np.asarray(A.todense())
    fr = problem.free_dofs
    np.testing.assert_allclose(np.asarray(Aff.todense()), Ad[np.ix_(fr, fr)], atol=1e-14)


def test_thermal_block_affine_decomposition(setup):
    # a = sum_q theta_q 1_{block q} on a 2x2 block grid: assembling each indicator and
    # summing with the weights, then eliminating, is exactly `system` with the full a
    mesh, space, problem = setup
    blocks = fem.BlockCoefficient(mesh, (2, 2))
    theta = jnp.asarray([1.0, 10.0, 0.1, 3.0])
    indicators = [blocks(jnp.zeros(4).at[q].set(1.0).reshape(2, 2)) for q in range(4)]
    A_q = [problem.assemble(ind, 0.0, boundary=False)[0] for ind in indicators]
    A_bnd, b_bnd = problem.assemble(0.0, 1.0, boundary=True)
    data = sum(t * Aq.data for t, Aq in zip(theta, A_q)) + A_bnd.data
    Ae, be = problem.eliminate(type(A_bnd)(A_bnd.pattern, data), b_bnd)
    As, bs = problem.system(blocks(theta.reshape(2, 2)), 1.0)
    np.testing.assert_allclose(Ae.data, As.data, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(be, bs, rtol=1e-13, atol=1e-13)


def test_per_cell_coefficient_equals_equivalent_callable():
    # a per-cell field that is piecewise constant on mesh-aligned halves equals the callable
    # with the same jump (evaluated at interior quadrature points), for P1 and P2
    mesh = fem.unit_square_mesh(6)
    centroid_x = mesh.points[mesh.cells].mean(axis=1)[:, 0]
    per_cell = jnp.asarray(np.where(centroid_x > 0.5, 10.0, 1.0))

    def as_callable(x):
        return jnp.where(x[0] > 0.5, 10.0, 1.0)

    for element in (fem.P1(), fem.P2()):
        problem = fem.Poisson(fem.FunctionSpace(mesh, element))
        A1, b1 = problem.system(per_cell, per_cell)
        A2, b2 = problem.system(as_callable, as_callable)
        np.testing.assert_allclose(A1.data, A2.data, rtol=1e-14, atol=1e-14)
        np.testing.assert_allclose(b1, b2, rtol=1e-14, atol=1e-15)
        # and the jump matters: a constant coefficient gives a different matrix
        A0, _ = problem.system(1.0, 1.0)
        assert float(jnp.max(jnp.abs(A1.data - A0.data))) > 1.0


def test_step_validation(setup):
    _, space, problem = setup
    A, b = problem.assemble(1.0, 1.0)
    with pytest.raises(ValueError, match="`b` must have shape"):
        problem.eliminate(A, b[:-1])
    with pytest.raises(ValueError, match="`A` must be a CSRMatrix"):
        problem.eliminate(np.eye(3), b)
    with pytest.raises(ValueError, match="u_free"):
        problem.expand(jnp.zeros(3))


def test_steps_and_batch_float32_smoke(float32):
    space = fem.FunctionSpace(fem.unit_square_mesh(4), fem.P1())
    problem = fem.Poisson(space, dirichlet=fem.Dirichlet(lambda x: x[0]))
    A, b = problem.eliminate(*problem.assemble(1.0, 1.0))
    assert A.data.dtype == jnp.float32 and b.dtype == jnp.float32
    u = problem.solve_batch(a=jnp.ones((2, space.num_cells), jnp.float32), f=1.0)
    assert u.dtype == jnp.float32
    np.testing.assert_allclose(u[0], problem.solve(1.0, 1.0), rtol=1e-5, atol=1e-6)
