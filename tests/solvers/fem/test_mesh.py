import numpy as np
import pytest

from pdekit.solvers import fem


def test_generators_valid_and_sized():
    assert fem.unit_square_mesh(4).num_cells == 32
    assert fem.unit_square_mesh(4, "left").num_nodes == 25
    crossed = fem.unit_square_mesh(4, "crossed")
    assert crossed.num_cells == 64 and crossed.num_nodes == 25 + 16
    lsh = fem.lshape_mesh(3)
    assert lsh.num_cells == 2 * 3 * 9
    assert np.isclose(lsh.cell_measures().sum(), 3.0)
    cube = fem.unit_cube_mesh(3)
    assert np.isclose(cube.cell_measures().sum(), 1.0) and cube.num_cells == 6 * 27
    disk = fem.disk_mesh(8)
    area = disk.cell_measures().sum()
    assert abs(area - np.pi) < 0.05 and area < np.pi
    ann = fem.annulus_mesh(4, 0.5, 1.0)
    assert abs(ann.cell_measures().sum() - np.pi * 0.75) < 0.05
    r = np.linalg.norm(ann.points, axis=1)
    assert r.min() > 0.5 - 1e-12


@pytest.mark.parametrize(
    "mesh", [fem.unit_square_mesh(3), fem.lshape_mesh(2), fem.unit_cube_mesh(2)]
)
def test_refinement_preserves_measure_and_conformity(mesh):
    fine = mesh.refine()
    assert fine.num_cells == mesh.num_cells * (4 if mesh.dim == 2 else 8)
    assert np.isclose(fine.cell_measures().sum(), mesh.cell_measures().sum())
    # conforming: the boundary is only refined, never cut open inside
    nb = len(mesh.boundary_facets())
    assert len(fine.boundary_facets()) == nb * (2 if mesh.dim == 2 else 4)


def test_boundary_facets_and_predicate():
    mesh = fem.unit_square_mesh(5)
    assert mesh.boundary_facets().shape == (20, 2)
    left = mesh.boundary_facets(where=lambda x: np.isclose(x[0], 0.0))
    assert left.shape == (5, 2) and np.allclose(mesh.points[left][..., 0], 0.0)
    assert fem.unit_cube_mesh(2).boundary_facets().shape == (6 * 8, 3)
    assert fem.annulus_mesh(3).boundary_facets(where=lambda x: np.hypot(x[0], x[1]) < 0.75).size


def test_p2_dofs():
    mesh = fem.unit_square_mesh(3)
    space = fem.FunctionSpace(mesh, fem.P2())
    assert space.num_dofs == 7 * 7
    assert space.boundary_dofs().size == 4 * 6
    assert np.allclose(space.dof_coords[: mesh.num_nodes], mesh.points)


def _square():
    pts = np.array([[0.0, 0], [1, 0], [1, 1], [0, 1]])
    return pts, np.array([[0, 1, 2], [0, 2, 3]])


@pytest.mark.parametrize(
    "mutate, match",
    [
        (lambda p, c: (p, c[:, ::-1]), "cell 0 .* inverted"),
        (lambda p, c: (p, np.array([[0, 1, 2], [0, 2, 4]])), "out of range at cell 1"),
        (lambda p, c: (np.vstack([p, [[2.0, 2.0]]]), c), "not used by any cell, first node 4"),
        (
            lambda p, c: (np.vstack([p, [[1.0, 1.0]]]), np.array([[0, 1, 4], [0, 2, 3]])),
            "node 4 duplicates node 2",
        ),
        (
            lambda p, c: (
                np.vstack([p, [[0.5, 0.5]]]),
                np.array([[0, 1, 2], [0, 2, 3], [0, 4, 2]]),
            ),
            "cell 2 .* degenerate",
        ),
        (lambda p, c: (p, np.array([[0, 1, 1], [0, 2, 3]])), "cell 0 repeats a vertex"),
        (lambda p, c: (p, c[:, :2]), "must have shape \\(cells, 3\\)"),
    ],
)
def test_bad_meshes_raise(mutate, match):
    p, c = mutate(*_square())
    with pytest.raises(ValueError, match=match):
        fem.Mesh(p, c)


def test_bad_generator_args():
    with pytest.raises(ValueError, match="diagonal"):
        fem.unit_square_mesh(3, diagonal="up")
    with pytest.raises(ValueError, match="`nx` must be >= 1"):
        fem.rectangle_mesh(0, 2)


@pytest.mark.parametrize("suffix", [".vtu", ".msh", ".xdmf"])
def test_meshio_roundtrip(tmp_path, suffix):
    for mesh in (fem.lshape_mesh(2), fem.unit_cube_mesh(2)):
        path = tmp_path / f"m{mesh.dim}{suffix}"
        kwargs = {} if suffix == ".msh" else {"point_data": {"u": mesh.points[:, 0]}}
        mesh.write(path, **kwargs)
        back = fem.Mesh.read(path)
        assert np.allclose(back.points, mesh.points) and np.array_equal(back.cells, mesh.cells)
