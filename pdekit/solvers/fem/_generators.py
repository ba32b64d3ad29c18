"""Mesh generators: structured rectangles and boxes, L-shape, disk and annulus."""

from __future__ import annotations

import numpy as np

from ..._misc import check_finite_scalar, check_positive_int
from ._mesh import Mesh, orient

_DIAGONALS = ("right", "left", "crossed")


def rectangle_mesh(
    nx: int,
    ny: int,
    x0: float = 0.0,
    x1: float = 1.0,
    y0: float = 0.0,
    y1: float = 1.0,
    diagonal: str = "right",
) -> Mesh:
    """Structured triangle mesh of ``[x0, x1] x [y0, y1]`` with ``nx x ny`` squares.

    **Arguments:**
    - `nx`, `ny`: number of rectangles per direction (>= 1).
    - `x0, x1, y0, y1`: the rectangle (x1 > x0, y1 > y0).
    - `diagonal`: `'right'` (each square split along its lower-left/upper-right diagonal),
      `'left'` (the other diagonal), or `'crossed'` (4 triangles around an added centre node).

    **Returns:** a :class:`Mesh`; node `i + j (nx + 1)` sits at `(x_i, y_j)` (grid nodes first,
    then centre nodes for `'crossed'`), which :class:`GridInterpolator` does not rely on.
    """
    nx, ny = check_positive_int("nx", nx), check_positive_int("ny", ny)
    for name, lo, hi in (("x", x0, x1), ("y", y0, y1)):
        if not check_finite_scalar(f"{name}1", hi) > check_finite_scalar(f"{name}0", lo):
            raise ValueError(f"`{name}1` must be > `{name}0`, got {name}0={lo}, {name}1={hi}.")
    if diagonal not in _DIAGONALS:
        raise ValueError(f"`diagonal` must be one of {_DIAGONALS}, got {diagonal!r}.")
    xs, ys = np.linspace(x0, x1, nx + 1), np.linspace(y0, y1, ny + 1)
    X, Y = np.meshgrid(xs, ys, indexing="xy")
    pts = np.stack([X.ravel(), Y.ravel()], axis=1)
    I, J = np.meshgrid(np.arange(nx), np.arange(ny), indexing="xy")
    a = I.ravel() + J.ravel() * (nx + 1)  # lower-left
    b, c, d = a + 1, a + nx + 2, a + nx + 1  # lower-right, upper-right, upper-left
    if diagonal == "right":
        cells = np.concatenate([np.stack([a, b, c], 1), np.stack([a, c, d], 1)])
    elif diagonal == "left":
        cells = np.concatenate([np.stack([a, b, d], 1), np.stack([b, c, d], 1)])
    else:
        centres = 0.5 * (pts[a] + pts[c])
        m = pts.shape[0] + np.arange(a.size)
        pts = np.concatenate([pts, centres])
        cells = np.concatenate(
            [
                np.stack([a, b, m], 1),
                np.stack([b, c, m], 1),
                np.stack([c, d, m], 1),
                np.stack([d, a, m], 1),
            ]
        )
    return Mesh(pts, cells)


def unit_square_mesh(n: int, diagonal: str = "right") -> Mesh:
    """Structured triangle mesh of the unit square with ``n x n`` squares (``2 n^2`` triangles,
    ``(n + 1)^2`` nodes for the default diagonal); ``h = sqrt(2) / n``."""
    return rectangle_mesh(n, n, diagonal=diagonal)


def lshape_mesh(n: int, diagonal: str = "right") -> Mesh:
    """L-shaped domain ``(-1, 1)^2 \\ [0, 1) x (-1, 0]`` (re-entrant corner at the origin),
    structured with ``n x n`` squares per unit quadrant (``3 n^2`` squares)."""
    n = check_positive_int("n", n)
    sq = rectangle_mesh(2 * n, 2 * n, -1.0, 1.0, -1.0, 1.0, diagonal=diagonal)
    cent = sq.points[sq.cells].mean(axis=1)
    keep = ~((cent[:, 0] > 0) & (cent[:, 1] < 0))
    return Mesh.remove_unused(sq.points, sq.cells[keep])


def _ring_points(radii: np.ndarray, h: float, n_min: int) -> np.ndarray:
    out: list[np.ndarray] = []
    for r in radii:
        k = max(n_min, int(round(2 * np.pi * r / h)))
        t = 2 * np.pi * (np.arange(k) + 0.5 * (len(out) % 2)) / k
        out.append(np.stack([r * np.cos(t), r * np.sin(t)], axis=1))
    return np.concatenate(out)


def _delaunay(points: np.ndarray) -> np.ndarray:
    from scipy.spatial import Delaunay

    return orient(points, Delaunay(points).simplices)


def disk_mesh(n: int, radius: float = 1.0, center: tuple[float, float] = (0.0, 0.0)) -> Mesh:
    """Unstructured triangle mesh of a disk: ``n`` rings of nodes (about ``2 pi r / h`` nodes on
    the ring of radius ``r``, ``h = radius / n``) plus the centre, Delaunay-triangulated.
    The domain is the inscribed polygon (geometric error ``O(h^2)``)."""
    n = check_positive_int("n", n)
    radius = check_finite_scalar("radius", radius, positive=True)
    radii = radius * np.arange(1, n + 1) / n
    pts = np.concatenate([np.zeros((1, 2)), _ring_points(radii, radius / n, 6)])
    pts = pts + np.asarray(center, dtype=np.float64)
    return Mesh(pts, _delaunay(pts))


def annulus_mesh(n: int, inner_radius: float = 0.5, outer_radius: float = 1.0) -> Mesh:
    """Unstructured triangle mesh of the annulus ``inner_radius < |x| < outer_radius`` centred
    at the origin, with ``n`` layers of cells between the two circles."""
    n = check_positive_int("n", n)
    r0 = check_finite_scalar("inner_radius", inner_radius, positive=True)
    r1 = check_finite_scalar("outer_radius", outer_radius, positive=True)
    if not r1 > r0:
        raise ValueError(f"`outer_radius` must be > `inner_radius`, got {r1} <= {r0}.")
    radii = np.linspace(r0, r1, n + 1)
    pts = _ring_points(radii, (r1 - r0) / n, 8)
    cells = _delaunay(pts)
    cent = pts[cells].mean(axis=1)
    # drop the triangles that fill the hole (all their vertices lie on the inner circle)
    on_inner = np.isclose(np.linalg.norm(pts, axis=1), r0)
    keep = ~on_inner[cells].all(axis=1) & (np.linalg.norm(cent, axis=1) > r0 * 0.999)
    return Mesh.remove_unused(pts, cells[keep])


def box_mesh(nx: int, ny: int, nz: int, bounds=((0.0, 1.0), (0.0, 1.0), (0.0, 1.0))) -> Mesh:
    """Structured tetrahedral mesh of a box: each of the ``nx * ny * nz`` hexahedra is split
    into 6 tetrahedra around its main diagonal (Kuhn/Freudenthal split, conforming)."""
    nx, ny, nz = (check_positive_int(k, v) for k, v in (("nx", nx), ("ny", ny), ("nz", nz)))
    (xa, xb), (ya, yb), (za, zb) = bounds
    xs, ys, zs = (
        np.linspace(xa, xb, nx + 1),
        np.linspace(ya, yb, ny + 1),
        np.linspace(za, zb, nz + 1),
    )
    X, Y, Z = np.meshgrid(xs, ys, zs, indexing="ij")
    pts = np.stack([X.ravel(), Y.ravel(), Z.ravel()], axis=1)
    i, j, k = (
        a.ravel() for a in np.meshgrid(np.arange(nx), np.arange(ny), np.arange(nz), indexing="ij")
    )

    def node(di, dj, dk):
        return ((i + di) * (ny + 1) + (j + dj)) * (nz + 1) + (k + dk)

    v000 = node(0, 0, 0)
    v111 = node(1, 1, 1)
    tets = []
    for perm in ((0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)):
        step = [0, 0, 0]
        path = [v000]
        for axis in perm[:2]:
            step[axis] = 1
            path.append(node(*step))
        path.append(v111)
        tets.append(np.stack(path, axis=1))
    cells = np.concatenate(tets)
    return Mesh(pts, orient(pts, cells))


def unit_cube_mesh(n: int) -> Mesh:
    """Tetrahedral mesh of the unit cube with ``n^3`` hexahedra (``6 n^3`` tetrahedra)."""
    return box_mesh(n, n, n)


def grid_shape(space) -> tuple[int, int]:
    """Node-grid shape `(ny, nx)` of a P1 space (or a 2D mesh) whose DOFs (nodes) form a
    tensor-product grid numbered ``i + j nx`` (``x`` fastest), as made by
    :func:`rectangle_mesh` / :func:`unit_square_mesh` with the `'right'` or `'left'`
    diagonal; for ``linalg.GMG(grid_shape(space))``.

    **Arguments:** `space`: a :class:`FunctionSpace` with P1 elements, or a :class:`Mesh`.

    **Returns:** `(ny, nx)` with ``ny * nx`` = number of DOFs (nodes).

    **Raises:** `ValueError` if the space is not P1 on a 2D mesh or its DOFs are not a
    lexicographically numbered grid (unstructured, `'crossed'` or renumbered meshes).
    """
    from ._elements import FunctionSpace

    if isinstance(space, FunctionSpace):
        if space.element.order != 1:
            raise ValueError(
                f"`space` must use P1 elements (one DOF per grid node), got order "
                f"{space.element.order}."
            )
        coords = np.asarray(space.dof_coords)
    elif isinstance(space, Mesh):
        coords = space.points
    else:
        raise ValueError(f"`space` must be a FunctionSpace or a Mesh, got {type(space).__name__}.")
    if coords.shape[1] != 2:
        raise ValueError(f"grid_shape needs a 2D mesh, got dimension {coords.shape[1]}.")
    n = coords.shape[0]
    same_row = np.nonzero(coords[1:, 1] != coords[0, 1])[0]
    nx = int(same_row[0]) + 1 if same_row.size else n
    ny = n // nx
    ok = nx >= 2 and ny >= 2 and nx * ny == n
    if ok:
        grid = coords.reshape(ny, nx, 2)
        ok = (
            np.all(grid[:, :, 0] == grid[:1, :, 0])
            and np.all(grid[:, :, 1] == grid[:, :1, 1])
            and np.all(np.diff(grid[0, :, 0]) > 0)
            and np.all(np.diff(grid[:, 0, 1]) > 0)
        )
    if not ok:
        raise ValueError(
            "the nodes do not form a tensor-product grid numbered i + j * nx (x fastest): "
            "use a structured `rectangle_mesh`/`unit_square_mesh` ('right' or 'left' "
            "diagonal), or an algebraic preconditioner (linalg.AMG) for other meshes."
        )
    return ny, nx
