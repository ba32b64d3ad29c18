"""Lagrange elements (P1, P2) on simplices and the :class:`FunctionSpace` (DOF map, geometry,
sparsity pattern and scatter map), all built once on the host.

Reference basis functions are written in barycentric coordinates
``lambda_0 = 1 - sum(xi), lambda_i = xi_i``. DOFs: P1 has one per vertex; P2 adds one per edge
(at the midpoint). Global numbering: vertex DOFs first (DOF ``i`` = node ``i``), then edge DOFs,
so ``u[:mesh.num_nodes]`` are the vertex values for either order.
"""

from __future__ import annotations

from collections.abc import Callable

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from ..._misc import check_positive_int, default_float_dtype
from ..linalg import SparsityPattern
from ._mesh import Mesh
from ._quadrature import quadrature


def _local_edges(dim: int) -> list[tuple[int, int]]:
    # Same order as Mesh.cell_edges
    return [[(0, 1)], [(0, 1), (1, 2), (0, 2)], [(0, 1), (1, 2), (0, 2), (0, 3), (1, 3), (2, 3)]][
        dim - 1
    ]


def _barycentric(xi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`lambda` of shape (q, dim+1) and its constant gradient (dim+1, dim)."""
    dim = xi.shape[1]
    lam = np.concatenate([1.0 - xi.sum(axis=1, keepdims=True), xi], axis=1)
    dlam = np.concatenate([-np.ones((1, dim)), np.eye(dim)], axis=0)
    return lam, dlam


class AbstractElement(eqx.Module):
    """A Lagrange element family on simplices of any dimension 1-3."""

    order: eqx.AbstractVar[int]

    def num_local_dofs(self, dim: int) -> int:
        return dim + 1 if self.order == 1 else (dim + 1) + len(_local_edges(dim))

    def basis(self, xi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Values `(q, k)` and reference gradients `(q, k, dim)` at points `xi` `(q, dim)`."""
        lam, dlam = _barycentric(np.atleast_2d(np.asarray(xi, dtype=np.float64)))
        q, dim = lam.shape[0], xi.shape[1]
        if self.order == 1:
            return lam, np.broadcast_to(dlam, (q,) + dlam.shape).copy()
        vals = [lam * (2 * lam - 1)]
        grads = [(4 * lam - 1)[:, :, None] * dlam[None]]
        for i, j in _local_edges(dim):
            vals.append((4 * lam[:, i] * lam[:, j])[:, None])
            grads.append((4 * (lam[:, i, None] * dlam[j] + lam[:, j, None] * dlam[i]))[:, None, :])
        return np.concatenate(vals, axis=1), np.concatenate(grads, axis=1)


class P1(AbstractElement):
    """Continuous piecewise-linear Lagrange element (triangles and tetrahedra)."""

    order: int = eqx.field(static=True, default=1)


class P2(AbstractElement):
    """Continuous piecewise-quadratic Lagrange element: vertex DOFs plus one DOF per edge."""

    order: int = eqx.field(static=True, default=2)


def _inverse_and_det(jac: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse and determinant of a stack of ``(cells, d, d)`` matrices, d <= 3, by the
    adjugate (explicit formulas: several times faster than batched LAPACK calls at 1e6
    cells, same values to round-off)."""
    d = jac.shape[-1]
    if d == 1:
        det = jac[:, 0, 0]
        return (1.0 / det)[:, None, None], det
    inv = np.empty_like(jac)
    if d == 2:
        a, b, c, e = jac[:, 0, 0], jac[:, 0, 1], jac[:, 1, 0], jac[:, 1, 1]
        det = a * e - b * c
        r = 1.0 / det
        inv[:, 0, 0], inv[:, 0, 1], inv[:, 1, 0], inv[:, 1, 1] = e * r, -b * r, -c * r, a * r
        return inv, det
    cols = [jac[:, :, i] for i in range(3)]
    # rows of the inverse are the cross products of the columns, divided by the det
    for i in range(3):
        inv[:, i, :] = np.cross(cols[(i + 1) % 3], cols[(i + 2) % 3])
    det = np.einsum("cd,cd->c", cols[0], inv[:, 0])
    inv /= det[:, None, None]
    return inv, det


class _HostArrays:
    """Numpy arrays kept on the host, hashed by identity (a static field of jitted Modules)."""

    mesh: Mesh
    cell_dofs: np.ndarray
    dof_coords: np.ndarray
    edges: np.ndarray

    def __init__(self, **arrays):
        self.__dict__.update(arrays)

    def __hash__(self):
        return id(self)

    def __eq__(self, other):
        return self is other


class FunctionSpace(eqx.Module):
    """A Lagrange finite-element space on a mesh, with everything assembly needs precomputed.

    **Arguments:**
    - `mesh`: a :class:`Mesh`.
    - `element`: `P1()` or `P2()`.
    - `quadrature_degree`: degree of the cell quadrature rule (default `2 * order`, exact for
      mass matrices and for stiffness matrices with coefficients of degree `order`).
    - `dtype`: float dtype of the precomputed geometry (default: `default_float_dtype()`).

    **Fields:** `num_dofs` (static), `cell_dofs` `(cells, k)` (numpy), `dof_coords`
    `(num_dofs, d)` (numpy), `pattern` (the CSR pattern of every matrix on this space),
    `scatter` (`(cells * k * k,)` positions of the element entries in the CSR data), and the
    per-cell affine geometry `jac`, `inv_jac` `(cells, d, d)`, `det` `(cells,)`, `origin`
    `(cells, d)`.
    """

    element: AbstractElement
    num_dofs: int = eqx.field(static=True)
    quadrature_degree: int = eqx.field(static=True)
    host: _HostArrays = eqx.field(static=True)  # mesh and numpy maps, never traced
    pattern: SparsityPattern
    scatter: Int[Array, " entries"]
    dofs_j: Int[Array, "cells k"]
    jac: Float[Array, "cells d d"]
    inv_jac: Float[Array, "cells d d"]
    det: Float[Array, " cells"]
    origin: Float[Array, "cells d"]
    qpoints: Float[Array, "q d"]
    qweights: Float[Array, " q"]
    phi: Float[Array, "q k"]
    dphi: Float[Array, "q k d"]

    def __init__(
        self,
        mesh: Mesh,
        element: AbstractElement | None = None,
        *,
        quadrature_degree: int | None = None,
        dtype=None,
    ):
        if not isinstance(mesh, Mesh):
            raise ValueError(f"`mesh` must be a pdekit Mesh, got {type(mesh).__name__}.")
        element = P1() if element is None else element
        if not isinstance(element, AbstractElement):
            raise ValueError(f"`element` must be P1() or P2(), got {element!r}.")
        dtype = default_float_dtype(dtype)
        d = mesh.dim
        if quadrature_degree is None:
            quadrature_degree = 2 * element.order
        quadrature_degree = check_positive_int("quadrature_degree", quadrature_degree, minimum=0)
        if element.order == 1:
            edges = np.zeros((0, 2), np.int64)
            cell_dofs, coords = mesh.cells, mesh.points
        else:
            edges, c2e = mesh.cell_edges()
            cell_dofs = np.concatenate([mesh.cells, mesh.num_nodes + c2e], axis=1)
            coords = np.concatenate([mesh.points, mesh.points[edges].mean(axis=1)])
        k = cell_dofs.shape[1]
        n = coords.shape[0]
        small = cell_dofs.astype(np.int32 if n < 2**31 - 1 else np.int64)  # 2x less to copy
        rows = np.repeat(small, k, axis=1).ravel()
        cols = np.tile(small, (1, k)).ravel()
        pattern, scatter = SparsityPattern.from_coo(rows, cols, (n, n))
        v = mesh.points[mesh.cells]
        jac = np.swapaxes(v[:, 1:, :] - v[:, :1, :], 1, 2)  # columns = edge vectors
        qp, qw = quadrature(d, quadrature_degree)
        phi, dphi = element.basis(qp)
        idx = jnp.int32 if n < 2**31 - 1 else jnp.int64
        self.element = element
        self.num_dofs = int(n)
        self.quadrature_degree = quadrature_degree
        self.host = _HostArrays(mesh=mesh, cell_dofs=cell_dofs, dof_coords=coords, edges=edges)
        self.pattern = pattern
        self.scatter = jnp.asarray(
            scatter, dtype=jnp.int32 if scatter.size < 2**31 - 1 else jnp.int64
        )
        self.dofs_j = jnp.asarray(cell_dofs, dtype=idx)
        self.jac = jnp.asarray(jac, dtype=dtype)
        inv_jac, det = _inverse_and_det(jac)
        self.inv_jac = jnp.asarray(inv_jac, dtype=dtype)
        self.det = jnp.asarray(np.abs(det), dtype=dtype)
        self.origin = jnp.asarray(v[:, 0, :], dtype=dtype)
        self.qpoints = jnp.asarray(qp, dtype=dtype)
        self.qweights = jnp.asarray(qw, dtype=dtype)
        self.phi = jnp.asarray(phi, dtype=dtype)
        self.dphi = jnp.asarray(dphi, dtype=dtype)

    @property
    def mesh(self) -> Mesh:
        return self.host.mesh

    @property
    def cell_dofs(self) -> np.ndarray:
        """DOFs of each cell `(cells, k)` (numpy): vertices, then (P2) edges (0,1), (1,2), (0,2)."""
        return self.host.cell_dofs

    @property
    def dof_coords(self) -> np.ndarray:
        """Coordinates of the DOFs `(num_dofs, d)` (numpy)."""
        return self.host.dof_coords

    @property
    def edges(self) -> np.ndarray:
        """Mesh edges `(edges, 2)` numbering the P2 edge DOFs (empty for P1)."""
        return self.host.edges

    @property
    def dtype(self):
        return self.det.dtype

    @property
    def num_cells(self) -> int:
        return self.mesh.num_cells

    def quadrature_points(self) -> Float[Array, "cells q d"]:
        """Physical coordinates of the cell quadrature points."""
        return self.origin[:, None, :] + jnp.einsum("qb,mab->mqa", self.qpoints, self.jac)

    def facet_dofs(self, facets: np.ndarray) -> np.ndarray:
        """DOFs of facets given by their vertices `(facets, d)`: the vertex DOFs, then (P2) the
        facet's edge DOFs in the order (0,1), (1,2), (0,2)."""
        facets = np.asarray(facets, dtype=np.int64)
        if self.element.order == 1:
            return facets
        nn = self.mesh.num_nodes
        keys = self.edges[:, 0] * nn + self.edges[:, 1]
        cols = []
        for i, j in _local_edges(facets.shape[1] - 1):
            a, b = facets[:, i], facets[:, j]
            cols.append(nn + np.searchsorted(keys, np.minimum(a, b) * nn + np.maximum(a, b)))
        return np.concatenate([facets, np.stack(cols, axis=1)], axis=1)

    def boundary_dofs(self, where: Callable | None = None) -> np.ndarray:
        """Sorted DOFs on the boundary facets selected by `where` (see `Mesh.boundary_facets`)."""
        return np.unique(self.facet_dofs(self.mesh.boundary_facets(where)))

    def interpolate(self, fn: Callable) -> Float[Array, " dofs"]:
        """Nodal interpolant of `fn` (called with `x` of shape `(d, dofs)`)."""
        x = jnp.asarray(self.dof_coords.T, dtype=self.dtype)
        return jnp.broadcast_to(jnp.asarray(fn(x), dtype=self.dtype), (self.num_dofs,))
