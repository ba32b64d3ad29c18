"""Poisson/Darcy with the geometric multigrid preconditioner: batches, gradients, grid_shape."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pdekit.solvers import fem, linalg


@pytest.fixture(scope="module")
def darcy():
    mesh = fem.unit_square_mesh(8)
    space = fem.FunctionSpace(mesh, fem.P1())
    gmg = linalg.GMG(fem.grid_shape(space))
    problem = fem.Poisson(space, method=linalg.CG(rtol=1e-12, preconditioner=gmg))
    blocks = fem.BlockCoefficient(mesh, (4, 4))
    values = jnp.asarray(10.0 ** np.random.default_rng(0).uniform(-1, 1, (8, 4, 4)))
    return space, problem, blocks, values


def test_vmap_and_solve_batch_equal_single_solves(darcy):
    space, problem, blocks, values = darcy
    us = jax.jit(jax.vmap(lambda v: problem.solve(a=blocks(v), f=1.0)))(values)
    single = jnp.stack([problem.solve(a=blocks(v), f=1.0) for v in values])
    np.testing.assert_allclose(us, single, rtol=1e-10, atol=1e-14)
    batch = problem.solve_batch(a=jax.vmap(blocks)(values), f=1.0)
    np.testing.assert_allclose(batch, single, rtol=1e-10, atol=1e-14)
    direct = fem.Poisson(space).solve(a=blocks(values[5]), f=1.0)
    np.testing.assert_allclose(us[5], direct, rtol=1e-9, atol=1e-12)


def test_grad_wrt_coefficient_matches_finite_differences(darcy):
    space, problem, blocks, values = darcy
    weight = space.interpolate(lambda x: jnp.sin(3 * x[0]) + x[1])

    @jax.jit
    def functional(log_v):
        return jnp.sum(weight * problem.solve(a=blocks(jnp.exp(log_v)), f=1.0) ** 2)

    log_v = jnp.log(values[0])
    grad = jax.grad(functional)(log_v)
    direction = jnp.asarray(np.random.default_rng(1).standard_normal(log_v.shape))
    eps = 1e-5
    fd = (functional(log_v + eps * direction) - functional(log_v - eps * direction)) / (2 * eps)
    assert abs(float(jnp.sum(grad * direction)) - float(fd)) < 1e-6 * abs(float(fd))


def test_grid_shape():
    assert fem.grid_shape(fem.FunctionSpace(fem.rectangle_mesh(8, 4), fem.P1())) == (5, 9)
    assert fem.grid_shape(fem.unit_square_mesh(4, diagonal="left")) == (5, 5)
    with pytest.raises(ValueError, match="P1"):
        fem.grid_shape(fem.FunctionSpace(fem.unit_square_mesh(4), fem.P2()))
    for mesh in (fem.unit_square_mesh(4, diagonal="crossed"), fem.disk_mesh(4)):
        with pytest.raises(ValueError, match="tensor-product grid"):
            fem.grid_shape(mesh)
    with pytest.raises(ValueError, match="2D"):
        fem.grid_shape(fem.unit_cube_mesh(2))
