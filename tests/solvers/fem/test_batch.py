"""Poisson.solve_batch: chunked (lax.map) and sharded batches equal single solves."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pdekit.solvers import fem, linalg


@pytest.fixture(scope="module")
def setup():
    mesh = fem.unit_square_mesh(8)
    space = fem.FunctionSpace(mesh, fem.P1())
    rng = np.random.default_rng(0)
    a = jnp.asarray(np.where(rng.random((6, space.num_cells)) < 0.5, 1.0, 100.0))
    return space, a


def test_solve_batch_equals_loop_amg(setup):
    space, a = setup
    A, _ = fem.Poisson(space).system(a=a[0], f=1.0)
    method = linalg.CG(rtol=1e-10, preconditioner=linalg.AMG.build(A, max_coarse=10))
    problem = fem.Poisson(space, method=method)
    u = problem.solve_batch(a=a, f=1.0, batch_size=4)
    ref = jnp.stack([problem.solve(a=ai, f=1.0) for ai in a])
    assert u.shape == (6, space.num_dofs)
    np.testing.assert_allclose(u, ref, rtol=1e-12, atol=1e-14)
    # and against the direct solver
    direct = fem.Poisson(space).solve(a=a[3], f=1.0)
    np.testing.assert_allclose(u[3], direct, rtol=1e-8, atol=1e-10)


def test_solve_batch_sharded_equals_unsharded(setup):
    space, a = setup
    assert len(jax.devices()) == 4  # conftest
    problem = fem.Poisson(space, method=linalg.CG(rtol=1e-10, preconditioner=linalg.Jacobi()))
    f = jnp.asarray(np.random.default_rng(1).random((6, space.num_dofs)))
    u1 = problem.solve_batch(a=a, f=f, batch_size=2)
    u4 = problem.solve_batch(a=a, f=f, batch_size=2, devices=jax.devices())  # 6 -> pad to 8
    np.testing.assert_allclose(u4, u1, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(u1[5], problem.solve(a=a[5], f=f[5]), rtol=1e-12, atol=1e-15)


def test_solve_batch_validation(setup):
    space, a = setup
    problem = fem.Poisson(space)
    with pytest.raises(ValueError, match="batch_size"):
        problem.solve_batch(a=a, batch_size=0)
    with pytest.raises(ValueError, match="leading batch axis"):
        problem.solve_batch(a=1.0, f=1.0)
    with pytest.raises(ValueError, match="different leading lengths"):
        problem.solve_batch(a=a, f=jnp.ones((5, space.num_dofs)))


# ---------------------------------------------------------------- pdekit.solvers.map_batched
from pdekit.solvers import map_batched  # noqa: E402


def _affine(sample, shared):
    # a pytree in, a pytree out: checks structure handling and the shared argument
    return {"y": shared["M"] @ sample["x"] + sample["s"], "n": jnp.sum(sample["x"] ** 2)}


@pytest.mark.parametrize("batch_size", [1, 3, 8])
def test_map_batched_equals_loop(batch_size):
    rng = np.random.default_rng(2)
    batched = {"x": jnp.asarray(rng.standard_normal((7, 5))),
               "s": jnp.asarray(rng.standard_normal(7))}
    shared = {"M": jnp.asarray(rng.standard_normal((4, 5)))}
    out = map_batched(_affine, batched, shared, batch_size=batch_size)
    for i in range(7):
        ref = _affine({k: v[i] for k, v in batched.items()}, shared)
        np.testing.assert_allclose(out["y"][i], ref["y"], rtol=1e-14)
        np.testing.assert_allclose(out["n"][i], ref["n"], rtol=1e-14)
    # without `shared`, fn takes the sample alone
    np.testing.assert_allclose(map_batched(jnp.sum, batched["x"]), batched["x"].sum(axis=1))


def test_map_batched_four_devices_equal_one():
    assert len(jax.devices()) == 4  # conftest
    x = jnp.asarray(np.random.default_rng(3).standard_normal((6, 9)))  # 6 -> padded to 8
    one = map_batched(jnp.cumsum, x, batch_size=2)
    four = map_batched(jnp.cumsum, x, batch_size=2, devices=jax.devices())
    assert four.shape == (6, 9)
    np.testing.assert_array_equal(four, one)
    np.testing.assert_allclose(one, jnp.cumsum(x, axis=1), rtol=1e-14)


def test_map_batched_validation():
    x = jnp.ones((3, 2))
    with pytest.raises(ValueError, match="batch_size"):
        map_batched(jnp.sum, x, batch_size=0)
    with pytest.raises(ValueError, match="different leading lengths"):
        map_batched(lambda s: s[0], (x, jnp.ones(4)))
    with pytest.raises(ValueError, match="leading batch axis"):
        map_batched(jnp.sum, {"x": x, "scalar": 1.0})
    with pytest.raises(ValueError, match="`devices` is empty"):
        map_batched(jnp.sum, x, devices=[])
    with pytest.raises(ValueError, match="`fn` must be callable"):
        map_batched(None, x)
