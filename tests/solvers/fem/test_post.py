import jax.numpy as jnp
import numpy as np
import pytest

from pdekit.solvers import fem


def lin(x):
    return 1.0 + 2.0 * x[0] - 0.5 * x[1]


@pytest.mark.parametrize("element", [fem.P1(), fem.P2()])
def test_grid_interpolation_exact_and_outside(element):
    mesh = fem.lshape_mesh(3, diagonal="left")
    space = fem.FunctionSpace(mesh, element)
    quad = lambda x: x[0] ** 2 - x[0] * x[1] if element.order == 2 else lin(x)  # noqa: E731
    xs, ys = np.linspace(-1, 1, 17), np.linspace(-1, 1, 13)
    interp = fem.GridInterpolator(space, xs, ys)
    vals = np.asarray(interp(space.interpolate(quad)))
    X, Y = np.meshgrid(xs, ys)
    outside = (X > 1e-9) & (Y < -1e-9)
    assert vals.shape == (13, 17) and np.all(np.isnan(vals[outside]))
    assert np.allclose(vals[~outside], np.asarray(quad(np.stack([X, Y])))[~outside], atol=1e-12)


def test_gradients_of_linear_function():
    space = fem.FunctionSpace(fem.disk_mesh(4), fem.P1())
    u = space.interpolate(lin)
    assert np.allclose(fem.cell_gradients(space, u), [2.0, -0.5])
    assert np.allclose(fem.nodal_gradients(space, u), [2.0, -0.5])


def test_nodal_gradient_recovery_converges():
    errs = []
    for n in (8, 16):
        space = fem.FunctionSpace(fem.unit_square_mesh(n), fem.P1())
        u = space.interpolate(lambda x: jnp.sin(x[0]) * jnp.cos(x[1]))
        g = np.asarray(fem.nodal_gradients(space, u))
        p = space.mesh.points
        ex = np.stack([np.cos(p[:, 0]) * np.cos(p[:, 1]), -np.sin(p[:, 0]) * np.sin(p[:, 1])], 1)
        errs.append(np.abs(g - ex).max())
    assert errs[1] < errs[0] / 1.8


@pytest.mark.parametrize("suffix", [".npz", ".vtu", ".xdmf"])
def test_save_solution(tmp_path, suffix):
    space = fem.FunctionSpace(fem.unit_square_mesh(3), fem.P2())
    u = space.interpolate(lin)
    path = tmp_path / f"u{suffix}"
    fem.save_solution(path, space, u)
    if suffix == ".npz":
        data = np.load(path)
        assert np.allclose(data["u"], u) and data["cells"].shape == (18, 3)
    else:
        import meshio

        m = meshio.read(path)
        assert np.allclose(m.point_data["u"], np.asarray(u)[: space.mesh.num_nodes])


def test_quadrature_exactness():
    for dim, degree in [(1, 5), (2, 2), (2, 4), (2, 7), (3, 2), (3, 5)]:
        pts, w = fem.quadrature(dim, degree)
        # integral of x^degree over the reference simplex is degree! / (degree + dim)!
        exact = np.prod(np.arange(1, degree + 1)) / np.prod(np.arange(1, degree + dim + 1))
        assert np.isclose(w @ pts[:, 0] ** degree, exact, rtol=1e-12), (dim, degree)
        assert np.isclose(w.sum(), 1 / np.prod(np.arange(1, dim + 1)))
