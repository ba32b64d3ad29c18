"""Post-processing: gradients and fluxes, interpolation onto regular grids, file export."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from ._elements import FunctionSpace
from ._norms import _check_u


@eqx.filter_jit
def cell_gradients(space: FunctionSpace, u: Float[Array, " dofs"]) -> Float[Array, "cells d"]:
    """Gradient of `u_h` at each cell's centroid (exact cellwise gradient for P1)."""
    u = _check_u(space, u)
    d = space.mesh.dim
    centroid = np.full((1, d), 1.0 / (d + 1))
    _, dphi = space.element.basis(centroid)
    return jnp.einsum(
        "mk,kb,mba->ma", u[space.dofs_j], jnp.asarray(dphi[0], space.dtype), space.inv_jac
    )


@eqx.filter_jit
def nodal_gradients(space: FunctionSpace, u: Float[Array, " dofs"]) -> Float[Array, "nodes d"]:
    """Recovered gradient at the mesh vertices: cell gradients averaged with cell-measure
    weights (a simple Zienkiewicz-Zhu-type recovery)."""
    g = cell_gradients(space, u)
    verts = space.dofs_j[:, : space.mesh.dim + 1]
    w = jnp.broadcast_to(space.det[:, None], verts.shape)
    n = space.mesh.num_nodes
    num = (
        jnp.zeros((n, g.shape[1]), g.dtype)
        .at[verts.ravel()]
        .add(w.ravel()[:, None] * jnp.repeat(g, verts.shape[1], axis=0))
    )
    den = jnp.zeros(n, g.dtype).at[verts.ravel()].add(w.ravel())
    return num / den[:, None]


class GridInterpolator(eqx.Module):
    """Evaluate finite-element functions on a regular grid (for operator learning).

    The containing cell and the basis values of every grid point are found once on the host
    (candidate cells from a k-d tree of cell centroids, checked with barycentric coordinates);
    evaluation is then one gather and a small contraction, jit/vmap/grad friendly.

    **Arguments:**
    - `space`: the :class:`FunctionSpace`.
    - `axes`: one 1D array of grid coordinates per dimension (`xs, ys[, zs]`).
    - `fill_value`: value at grid points outside the mesh (default NaN).

    **Call:** `interp(u)` with `u` of shape `(num_dofs,)` returns shape `(len(ys), len(xs))`
    in 2D (`indexing='xy'`, like `np.meshgrid`) or `(len(xs), len(ys), len(zs))` in 3D.
    """

    cell: Array
    weights: Float[Array, "points k"]
    dofs: Array
    inside: Array
    shape: tuple[int, ...] = eqx.field(static=True)
    fill_value: float = eqx.field(static=True)

    def __init__(self, space: FunctionSpace, *axes, fill_value: float = float("nan")):
        from scipy.spatial import cKDTree

        mesh = space.mesh
        d = mesh.dim
        if len(axes) != d:
            raise ValueError(f"pass {d} coordinate arrays (one per dimension), got {len(axes)}.")
        coords = [np.asarray(a, dtype=np.float64).ravel() for a in axes]
        grids = np.meshgrid(*coords, indexing="xy" if d == 2 else "ij")
        shape = grids[0].shape
        pts = np.stack([g.ravel() for g in grids], axis=1)
        v = mesh.points[mesh.cells]
        jac = np.swapaxes(v[:, 1:, :] - v[:, :1, :], 1, 2)
        inv = np.linalg.inv(jac)
        tree = cKDTree(v.mean(axis=1))
        cell = np.full(pts.shape[0], -1, dtype=np.int64)
        xi = np.zeros((pts.shape[0], d))
        todo = np.arange(pts.shape[0])
        for k in (8, 32, 128):
            k = min(k, mesh.num_cells)
            _, cand = tree.query(pts[todo], k=k)
            cand = cand.reshape(todo.size, k)
            ref = np.einsum("pkab,pkb->pka", inv[cand], pts[todo, None, :] - v[cand, 0, :])
            lam_min = np.minimum(ref.min(axis=2), 1.0 - ref.sum(axis=2))
            best = np.argmax(lam_min, axis=1)
            ok = lam_min[np.arange(todo.size), best] >= -1e-10
            cell[todo[ok]] = cand[ok, best[ok]]
            xi[todo[ok]] = ref[ok, best[ok]]
            todo = todo[~ok]
            if todo.size == 0 or k == mesh.num_cells:
                break
        inside = cell >= 0
        phi, _ = space.element.basis(np.clip(xi, 0.0, 1.0))
        cell = np.where(inside, cell, 0)
        self.cell = jnp.asarray(cell, dtype=space.dofs_j.dtype)
        self.weights = jnp.asarray(phi, space.dtype)
        self.dofs = jnp.asarray(space.cell_dofs[cell], dtype=space.dofs_j.dtype)
        self.inside = jnp.asarray(inside)
        self.shape = tuple(int(s) for s in shape)
        self.fill_value = float(fill_value)

    def __call__(self, u: Float[Array, " dofs"]) -> Array:
        vals = jnp.sum(u[self.dofs] * self.weights, axis=1)
        vals = jnp.where(self.inside, vals, jnp.asarray(self.fill_value, vals.dtype))
        return vals.reshape(self.shape)


def save_solution(
    path, space: FunctionSpace, u, *, cell_data: dict | None = None, point_data: dict | None = None
) -> None:
    """Write `u` on the mesh: `.npz` (points, cells, u, dof_coords) or any meshio format
    (`.vtu`, `.xdmf`, ...; vertex values only for P2). Not for use under jit."""
    import pathlib

    path = pathlib.Path(path)
    u = np.asarray(u)
    if path.suffix == ".npz":
        extra = {k: np.asarray(v) for k, v in {**(cell_data or {}), **(point_data or {})}.items()}
        np.savez(
            path,
            points=space.mesh.points,
            cells=space.mesh.cells,
            u=u,
            dof_coords=space.dof_coords,
            order=space.element.order,
            **extra,  # type: ignore[arg-type]
        )
        return
    pd = {"u": u[: space.mesh.num_nodes], **(point_data or {})}
    space.mesh.write(path, point_data=pd, cell_data=cell_data)
