"""Manufactured solutions (rates and exactness), Neumann/Robin, high-contrast Darcy, and
agreement with scikit-fem."""

import jax.numpy as jnp
import numpy as np
import pytest

from pdekit.solvers import fem
from tests.helpers import convergence_rate

PI = np.pi


# u = sin(pi x) exp(y) with a = 2 + x:  -div(a grad u) = a (pi^2 - 1) sin(pi x) e^y - u_x
def u_exact(x):
    return jnp.sin(PI * x[0]) * jnp.exp(x[1])


def grad_exact(x):
    return PI * jnp.cos(PI * x[0]) * jnp.exp(x[1]), jnp.sin(PI * x[0]) * jnp.exp(x[1])


def a_coef(x):
    return 2.0 + x[0]


def f_source(x):
    return a_coef(x) * (PI**2 - 1) * u_exact(x) - grad_exact(x)[0]


def _errors(space, **kw):
    problem = fem.Poisson(space, dirichlet=fem.Dirichlet(u_exact), **kw)
    u = problem.solve(a=a_coef, f=f_source)
    return float(fem.l2_error(space, u, u_exact)), float(fem.h1_error(space, u, grad_exact))


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize(
    "make_mesh", [fem.unit_square_mesh, fem.lshape_mesh], ids=["square", "lshape"]
)
def test_manufactured_rates_2d(order, make_mesh):
    ns = [8, 16, 32] if order == 1 else [4, 8, 16]
    if make_mesh is fem.lshape_mesh:
        ns = [n // 2 for n in ns]
    hs, e0, e1 = [], [], []
    for n in ns:
        mesh = make_mesh(n)
        l2, h1 = _errors(fem.FunctionSpace(mesh, fem.P1() if order == 1 else fem.P2()))
        hs.append(mesh.h), e0.append(l2), e1.append(h1)
    r0, r1 = convergence_rate(hs, e0), convergence_rate(hs, e1)
    assert abs(r0 - (order + 1)) < 0.15, (e0, r0)
    assert abs(r1 - order) < 0.15, (e1, r1)
    scale = 1.0 if make_mesh is fem.unit_square_mesh else 5.0  # |u| up to e on the L-shape
    assert e0[-1] < scale * (2e-3 if order == 1 else 2e-4), e0


def test_manufactured_rates_3d_p1():
    def u3(x):
        return jnp.sin(PI * x[0]) * jnp.exp(x[1] + x[2])

    def g3(x):
        e = jnp.exp(x[1] + x[2])
        return PI * jnp.cos(PI * x[0]) * e, jnp.sin(PI * x[0]) * e, jnp.sin(PI * x[0]) * e

    def f3(x):
        return (PI**2 - 2) * u3(x)

    hs, e0, e1 = [], [], []
    for n in [3, 6, 12]:
        mesh = fem.unit_cube_mesh(n)
        space = fem.FunctionSpace(mesh, fem.P1())
        u = fem.Poisson(space, dirichlet=fem.Dirichlet(u3)).solve(a=1.0, f=f3)
        hs.append(mesh.h), e0.append(float(fem.l2_error(space, u, u3)))
        e1.append(float(fem.h1_error(space, u, g3)))
    assert abs(convergence_rate(hs, e0) - 2) < 0.15, e0
    assert abs(convergence_rate(hs, e1) - 1) < 0.15, e1


@pytest.mark.parametrize(
    "element, exact, f",
    [
        (fem.P1(), lambda x: 1.0 + 2.0 * x[0] - 3.0 * x[1], 0.0),
        (fem.P2(), lambda x: x[0] ** 2 + x[0] * x[1] - 0.5 * x[1] ** 2 + x[0], -1.0),
    ],
    ids=["P1-linear", "P2-quadratic"],
)
def test_exactness(element, exact, f):
    for mesh in (fem.lshape_mesh(2), fem.disk_mesh(3)):
        space = fem.FunctionSpace(mesh, element)
        u = fem.Poisson(space, dirichlet=fem.Dirichlet(exact)).solve(a=1.0, f=f)
        assert np.max(np.abs(u - space.interpolate(exact))) < 1e-12


@pytest.mark.parametrize(
    "element, exact, f",
    [
        (fem.P1(), lambda x: 1.0 + x[0] - 2.0 * x[1] + 0.5 * x[2], 0.0),
        (fem.P2(), lambda x: x[0] ** 2 + x[1] * x[2] - x[2], -6.0),
    ],
    ids=["P1", "P2"],
)
def test_exactness_tetra(element, exact, f):
    space = fem.FunctionSpace(fem.unit_cube_mesh(2), element)
    u = fem.Poisson(space, dirichlet=fem.Dirichlet(exact)).solve(a=3.0, f=f)
    assert np.max(np.abs(u - space.interpolate(exact))) < 1e-12


def _on(axis, value):
    return lambda x: np.isclose(x[axis], value)


@pytest.mark.parametrize("kind", ["neumann", "robin"])
def test_neumann_robin_known_solution(kind):
    # u = sin(pi x) e^y, a = 1: Dirichlet on x=0 and y=0; on x=1 flux u_x = -pi e^y;
    # on y=1 flux u_y = e sin(pi x) (Neumann) or u_y + alpha u = (1 + alpha) e sin(pi x) (Robin).
    alpha = 2.5
    dirichlet = [fem.Dirichlet(u_exact, _on(0, 0.0)), fem.Dirichlet(u_exact, _on(1, 0.0))]
    right = fem.Neumann(lambda x: -PI * jnp.exp(x[1]), _on(0, 1.0))
    if kind == "neumann":
        bcs = dict(neumann=[right, fem.Neumann(lambda x: u_exact(x), _on(1, 1.0))])
    else:
        bcs = dict(
            neumann=right, robin=fem.Robin(alpha, lambda x: (1 + alpha) * u_exact(x), _on(1, 1.0))
        )
    hs, errs = [], []
    for n in [8, 16, 32]:
        mesh = fem.unit_square_mesh(n)
        space = fem.FunctionSpace(mesh, fem.P1())
        problem = fem.Poisson(space, dirichlet=dirichlet, **bcs)
        u = problem.solve(a=1.0, f=lambda x: (PI**2 - 1) * u_exact(x))
        hs.append(mesh.h), errs.append(float(fem.l2_error(space, u, u_exact)))
    assert abs(convergence_rate(hs, errs) - 2) < 0.15, errs
    assert errs[-1] < 2e-3


def test_pure_robin_and_reaction_p2():
    # u = cos(pi x) cos(pi y): -Lap u + u = (2 pi^2 + 1) u, zero normal flux on the square
    u = lambda x: jnp.cos(PI * x[0]) * jnp.cos(PI * x[1])  # noqa: E731
    space = fem.FunctionSpace(fem.unit_square_mesh(12), fem.P2())
    uh = fem.Poisson(space, neumann=fem.Neumann(0.0)).solve(
        a=1.0, f=lambda x: (2 * PI**2 + 1) * u(x), c=1.0
    )
    assert float(fem.l2_error(space, uh, u)) < 3e-4
    with pytest.raises(ValueError, match="singular"):
        fem.Poisson(space, neumann=fem.Neumann(0.0)).solve(a=1.0, f=1.0)


def _layered_exact(a1, a2):
    # -(a u')' = 1 on (0,1), u(0) = u(1) = 0, a = a1 on x < 1/2, a2 on x > 1/2
    s0 = -(1 / (8 * a1) + 3 / (8 * a2)) / (1 / (2 * a1) + 1 / (2 * a2))
    half = -(1 / 8 + s0 / 2) / a1

    def u(x):
        left = -(x[0] ** 2 / 2 + s0 * x[0]) / a1
        right = half - ((x[0] ** 2 - 0.25) / 2 + s0 * (x[0] - 0.5)) / a2
        return jnp.where(x[0] <= 0.5, left, right)

    return u


def test_darcy_high_contrast_layered_converges():
    exact = _layered_exact(1.0, 100.0)
    hs, errs = [], []
    for n in [8, 16, 32]:
        mesh = fem.unit_square_mesh(n, diagonal="crossed")
        space = fem.FunctionSpace(mesh, fem.P1())
        a = fem.BlockCoefficient(mesh, (1, 2))(jnp.array([[1.0, 100.0]]))
        lr = lambda x: np.isclose(x[0], 0.0) | np.isclose(x[0], 1.0)  # noqa: E731
        u = fem.Poisson(space, dirichlet=fem.Dirichlet(0.0, lr)).solve(a=a, f=1.0)
        hs.append(mesh.h), errs.append(float(fem.l2_error(space, u, exact)))
    assert abs(convergence_rate(hs, errs) - 2) < 0.15, errs


def test_checkerboard_matches_fine_reference():
    # 1:100 checkerboard: coarse solutions approach a fine-mesh reference (grid-sampled)
    xs = np.linspace(0.0, 1.0, 33)
    ref_mesh = fem.unit_square_mesh(128)
    ref_space = fem.FunctionSpace(ref_mesh, fem.P1())
    ref = fem.GridInterpolator(ref_space, xs, xs)(
        fem.Poisson(ref_space).solve(a=fem.checkerboard(ref_mesh, 4), f=1.0)
    )
    errs = []
    for n in [8, 16, 32]:
        mesh = fem.unit_square_mesh(n)
        space = fem.FunctionSpace(mesh, fem.P1())
        u = fem.Poisson(space).solve(a=fem.checkerboard(mesh, 4), f=1.0)
        errs.append(float(np.max(np.abs(fem.GridInterpolator(space, xs, xs)(u) - ref))))
    # corner singularities of the checkerboard lower the rate below 2
    assert errs[0] > errs[1] > errs[2] and errs[2] < errs[0] / 4, errs


@pytest.mark.parametrize("order", [1, 2])
def test_agrees_with_scikit_fem(order):
    skfem = pytest.importorskip("skfem")
    from scipy.spatial import cKDTree
    from skfem.helpers import dot, grad

    # polynomial data, integrated exactly by both codes' rules of degree 6
    mesh = fem.lshape_mesh(3)
    space = fem.FunctionSpace(mesh, fem.P1() if order == 1 else fem.P2(), quadrature_degree=6)
    u = fem.Poisson(space).solve(
        a=lambda x: 1.0 + x[0] ** 2,
        c=lambda x: 2.0 + x[1],
        f=lambda x: 1.0 + x[0] * x[1] - x[0] ** 2,
    )

    skm = skfem.MeshTri(mesh.points.T.copy(), mesh.cells.T.copy())
    basis = skfem.Basis(
        skm, skfem.ElementTriP1() if order == 1 else skfem.ElementTriP2(), intorder=6
    )

    @skfem.BilinearForm
    def bilinear(u, v, w):
        return (1.0 + w.x[0] ** 2) * dot(grad(u), grad(v)) + (2.0 + w.x[1]) * u * v

    @skfem.LinearForm
    def linear(v, w):
        return (1.0 + w.x[0] * w.x[1] - w.x[0] ** 2) * v

    us = skfem.solve(
        *skfem.condense(bilinear.assemble(basis), linear.assemble(basis), D=basis.get_dofs())
    )
    perm = cKDTree(basis.doflocs.T).query(space.dof_coords)[1]
    assert np.max(np.abs(np.asarray(u) - us[perm])) < 1e-10
