"""Bad input is caught where it enters, naming the argument or the file: non-finite
coefficients (arrays and callables, eager and under jit) and broken mesh files."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pdekit.solvers import fem


@pytest.fixture(scope="module")
def problem():
    return fem.Poisson(fem.FunctionSpace(fem.unit_square_mesh(4), fem.P1()))


def _with_nan(n, i=3):
    return jnp.ones(n).at[i].set(jnp.nan)


@pytest.mark.parametrize("name", ["a", "f", "c"])
@pytest.mark.parametrize("method", ["solve", "system", "solve_with_stats", "assemble"])
def test_nonfinite_coefficient_named(problem, name, method):
    space = problem.space
    kwargs = {"a": 1.0, "f": 1.0, "c": 1.0}
    for bad in (_with_nan(space.num_cells), lambda x: jnp.log(x[0] - 0.5), float("inf")):
        kwargs[name] = bad
        with pytest.raises(ValueError, match=f"`{name}`"):
            getattr(problem, method)(**kwargs)


def test_nonfinite_in_solve_batch_names_argument_and_sample(problem):
    a = jnp.ones((3, problem.space.num_cells)).at[2, 5].set(jnp.inf)
    with pytest.raises(ValueError, match=r"`a` contains non-finite.*first sample 2"):
        problem.solve_batch(a=a, f=1.0)
    with pytest.raises(ValueError, match="`f`"):
        problem.solve_batch(a=jnp.ones((3, problem.space.num_cells)), f=lambda x: x[0] / 0.0)


def test_nonfinite_traced_coefficient_raises_at_run_time(problem):
    solve = jax.jit(lambda a: problem.solve(a=a, f=1.0))
    good = jnp.ones(problem.space.num_cells)
    assert bool(jnp.all(jnp.isfinite(solve(good))))
    with pytest.raises(Exception, match="`a` contains non-finite"):
        jax.block_until_ready(solve(_with_nan(problem.space.num_cells)))
    assert eqx.is_array(solve(good))


def _write_tri_vtu(path, points, cells):
    import meshio

    meshio.write(str(path), meshio.Mesh(points, [("triangle", cells)]))


@pytest.mark.parametrize(
    "name, points, cells, match",
    [
        ("bad", [[0.0, 0, 0], [1, 0, 0], [0, 1, 0]], [[0, 1, 7]], "out of range"),
        ("nan", [[0.0, 0, 0], [1, 0, 0], [0, np.nan, 0]], [[0, 1, 2]], "non-finite"),
        ("flat", [[0.0, 0, 0], [1, 0, 0], [2, 0, 0]], [[0, 1, 2]], "degenerate"),
    ],
)
def test_mesh_read_invalid_triangles_name_file(tmp_path, name, points, cells, match):
    path = tmp_path / f"{name}.vtu"
    _write_tri_vtu(path, np.array(points), np.array(cells))
    with pytest.raises(ValueError, match=rf"{name}\.vtu.*{match}"):
        fem.Mesh.read(path)


def test_mesh_read_wrong_cell_types(tmp_path):
    import meshio

    path = tmp_path / "lines.vtu"
    meshio.write(str(path), meshio.Mesh(np.zeros((2, 3)) + [[0, 0, 0], [1, 0, 0]],
                                        [("line", np.array([[0, 1]]))]))
    with pytest.raises(ValueError, match=r"lines\.vtu.*no triangle or tetra"):
        fem.Mesh.read(path)


@pytest.mark.parametrize("content", [b"$MeshFormat\n2.2 0 8\n$EndMeshFormat\n$Nodes\nxx\n",
                                     b"\x00\x01garbage", b""])
def test_mesh_read_corrupt_file_is_value_error(tmp_path, content):
    path = tmp_path / "corrupt.msh"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=r"corrupt\.msh"):
        fem.Mesh.read(path)


def test_callable_source_is_evaluated_once_per_solve(problem):
    """The finiteness check uses the values the assembly computes: no extra evaluation."""
    calls = []

    def f(x):
        calls.append(1)
        return jnp.sin(x[0]) + x[1]

    problem.solve(f=f)
    problem.solve(f=f)  # compiled: the callable is not evaluated again
    assert len(calls) == 1
