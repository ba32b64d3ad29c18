"""Darcy flow ``-div(a grad p) = f`` with piecewise-constant, high-contrast permeability.

The problem itself is :class:`Poisson`; this module builds the coefficient fields: a map
from cells to the blocks of a regular grid, so that a batch of block values
`(batch, ny, nx)` becomes per-cell coefficients by one gather (vmappable, differentiable).
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from ..._misc import check_positive_int
from ._mesh import Mesh


class BlockCoefficient(eqx.Module):
    """Maps values on an ``ny x nx`` (x ``nz``) block grid over the mesh's bounding box to
    per-cell values (each cell takes the block containing its centroid).

    **Call:** `blocks(values)` with `values` of shape `(ny, nx)` (2D) or `(nx, ny, nz)` (3D)
    returns shape `(cells,)`.
    """

    index: Array
    shape: tuple[int, ...] = eqx.field(static=True)

    def __init__(self, mesh: Mesh, shape: tuple[int, ...]):
        shape = tuple(check_positive_int("shape", s) for s in shape)
        if len(shape) != mesh.dim:
            raise ValueError(f"`shape` must have {mesh.dim} entries, got {shape}.")
        cent = mesh.points[mesh.cells].mean(axis=1)
        lo, hi = mesh.points.min(axis=0), mesh.points.max(axis=0)
        t = (cent - lo) / (hi - lo)
        if mesh.dim == 2:
            ny, nx = shape
            i = np.clip((t[:, 0] * nx).astype(np.int64), 0, nx - 1)
            j = np.clip((t[:, 1] * ny).astype(np.int64), 0, ny - 1)
            index = j * nx + i
        else:
            idx = [
                np.clip((t[:, a] * shape[a]).astype(np.int64), 0, shape[a] - 1) for a in range(3)
            ]
            index = np.ravel_multi_index(idx, shape)
        self.index = jnp.asarray(index, dtype=jnp.int32)
        self.shape = shape

    def __call__(self, values: Float[Array, "*blocks"]) -> Float[Array, " cells"]:
        values = jnp.asarray(values)
        if values.shape != self.shape:
            raise ValueError(
                f"`values` must have shape {self.shape}, got {values.shape}. "
                "For a batch use `jax.vmap`."
            )
        return values.reshape(-1)[self.index]


def checkerboard(
    mesh: Mesh, blocks: int = 4, low: float = 1.0, high: float = 100.0
) -> Float[Array, " cells"]:
    """Per-cell checkerboard coefficient with ``blocks x blocks`` squares alternating between
    `low` and `high` (contrast ``high / low``, 1:100 by default)."""
    blocks = check_positive_int("blocks", blocks)
    jj, ii = np.meshgrid(np.arange(blocks), np.arange(blocks), indexing="ij")
    vals = np.where((ii + jj) % 2 == 0, low, high)
    if mesh.dim == 3:
        vals = np.where((np.indices((blocks,) * 3).sum(axis=0)) % 2 == 0, low, high)
    return BlockCoefficient(mesh, vals.shape)(jnp.asarray(vals))
