"""grad against finite differences, vmap against a loop, one trace, float32, shape errors."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pdekit.solvers import fem, linalg


@pytest.fixture(scope="module")
def space():
    return fem.FunctionSpace(fem.unit_square_mesh(6), fem.P1())


def test_grad_wrt_cell_coefficient_matches_fd(space, getkey):
    problem = fem.Poisson(space, method=linalg.CG(rtol=1e-13, preconditioner=linalg.Jacobi()))
    weight = space.interpolate(lambda x: jnp.sin(3 * x[0]) + x[1])

    @jax.jit
    def functional(log_a):
        u = problem.solve(a=jnp.exp(log_a), f=lambda x: 1.0 + x[0])
        return jnp.sum(weight * u**2)

    log_a = 0.3 * jax.random.normal(getkey(), (space.num_cells,))
    grad = jax.grad(functional)(log_a)
    direction = jax.random.normal(getkey(), log_a.shape)
    eps = 1e-5
    fd = (functional(log_a + eps * direction) - functional(log_a - eps * direction)) / (2 * eps)
    assert abs(float(grad @ direction) - float(fd)) < 1e-6 * abs(float(fd))


def test_grad_wrt_nodal_source_and_reaction(space):
    problem = fem.Poisson(space)

    def functional(f, c):
        return jnp.sum(problem.solve(a=1.0, f=f, c=c))

    f0 = space.interpolate(lambda x: x[0] * x[1])
    c0 = jnp.full(space.num_dofs, 2.0)
    gf, gc = jax.grad(functional, argnums=(0, 1))(f0, c0)
    for g, (df, dc) in ((gf, (1.0, 0.0)), (gc, (0.0, 1.0))):
        v = jnp.cos(jnp.arange(space.num_dofs, dtype=f0.dtype))
        eps = 1e-6
        fd = (
            functional(f0 + eps * df * v, c0 + eps * dc * v)
            - functional(f0 - eps * df * v, c0 - eps * dc * v)
        ) / (2 * eps)
        assert abs(float(g @ v) - float(fd)) < 1e-6 * abs(float(fd))


def test_vmap_matches_loop_and_traces_once(space, getkey):
    problem = fem.Poisson(space, method=linalg.CG(rtol=1e-12, preconditioner=linalg.Jacobi()))
    blocks = fem.BlockCoefficient(space.mesh, (4, 4))

    @eqx.filter_jit
    @eqx.debug.assert_max_traces(max_traces=1)
    def solve(problem, values):
        return problem.solve(a=blocks(values), f=1.0)

    batch = jnp.where(jax.random.uniform(getkey(), (8, 4, 4)) > 0.5, 100.0, 1.0)
    looped = jnp.stack([solve(problem, batch[i]) for i in range(8)])
    batched = jax.vmap(lambda v: problem.solve(a=blocks(v), f=1.0))(batch)
    assert np.allclose(batched, looped, rtol=1e-9, atol=1e-12)
    direct = jax.vmap(lambda v: fem.Poisson(space).solve(a=blocks(v), f=1.0))(batch)
    assert np.allclose(direct, looped, rtol=1e-8, atol=1e-12)


def test_float32_smoke(float32):
    space = fem.FunctionSpace(fem.unit_square_mesh(8), fem.P1())
    assert space.dtype == jnp.float32
    exact = lambda x: jnp.sin(np.pi * x[0]) * jnp.sin(np.pi * x[1])  # noqa: E731
    u = fem.Poisson(space, method=linalg.CG(rtol=1e-5, preconditioner=linalg.Jacobi())).solve(
        a=1.0, f=lambda x: 2 * np.pi**2 * exact(x)
    )
    assert u.dtype == jnp.float32
    assert float(fem.l2_error(space, u, exact)) < 3e-2


def test_coefficient_shape_errors(space):
    problem = fem.Poisson(space)
    with pytest.raises(
        ValueError, match=r"`a` has shape \(5,\); expected a scalar, \(72,\) per cell"
    ):
        problem.solve(a=jnp.ones(5))
    with pytest.raises(ValueError, match="callable `f` returned shape"):
        problem.solve(f=lambda x: jnp.ones(3))
    with pytest.raises(ValueError, match=r"`u` must have shape \(49,\)"):
        fem.l2_error(space, jnp.ones(48), lambda x: x[0])
    with pytest.raises(ValueError, match="selects no boundary facet"):
        fem.Poisson(space, dirichlet=fem.Dirichlet(0.0, where=lambda x: x[0] > 5))
    with pytest.raises(ValueError, match="`values` must have shape"):
        fem.BlockCoefficient(space.mesh, (2, 2))(jnp.ones((3, 3)))


def test_coefficient_forms_agree(space):
    # per-node, per-DOF (P2), per-cell and callable forms of the same data
    a_fn = lambda x: 1.0 + x[0] + 2 * x[1]  # noqa: E731
    k_fn = fem.assemble_stiffness(space, a_fn).data
    k_nodal = fem.assemble_stiffness(space, space.interpolate(a_fn)).data
    assert np.allclose(k_fn, k_nodal, rtol=1e-12)
    p2 = fem.FunctionSpace(space.mesh, fem.P2())
    m_nodes = fem.assemble_mass(p2, space.interpolate(a_fn)).data
    m_dofs = fem.assemble_mass(p2, p2.interpolate(a_fn)).data
    assert np.allclose(m_nodes, m_dofs, rtol=1e-12)
    cell = jnp.arange(space.num_cells, dtype=jnp.float64)
    k_cell = fem.assemble_stiffness(space, cell).to_scipy()
    assert np.isclose(k_cell.sum(), 0.0, atol=1e-9)  # rows of a stiffness matrix sum to zero
