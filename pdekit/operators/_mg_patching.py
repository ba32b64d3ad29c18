"""MG-TFNO-style multigrid domain patching (Kossaifi et al. 2023, doi:10.48550/arXiv.2310.00120).

The domain is cut into ``patches`` x ... x ``patches`` tiles. Each tile is given to the wrapped
model as ``levels + 1`` stacked views centred on it: level 0 is the tile itself extended by
``padding`` points on each side at full resolution; level ``l`` covers a region ``2^l`` times
larger, subsampled by ``2^l`` to the same size (coarser global context). The model (e.g. a
TFNO with ``in_channels = C (levels + 1)``) runs on all tiles as one batch; each output tile is
cropped by ``padding`` and the tiles are stitched back. Views wrap around periodically.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._misc import check_positive_int


class MGPatching(eqx.Module):
    """Wrap `model` to act tile by tile with multigrid context (see the module docstring).

    **Arguments:** `model`: maps batches ``(B, C (levels+1), *tile)`` (``apply_batch``) or single
    samples; `levels` >= 0; `patches` >= 1 tiles per axis (must divide the resolution);
    `padding` >= 0 extra points per side of each tile.

    **Raises:** ``ValueError`` for bad arguments; at call time if the resolution is not a
    multiple of `patches`.
    """

    model: eqx.Module
    levels: int = eqx.field(static=True)
    patches: int = eqx.field(static=True)
    padding: int = eqx.field(static=True)

    def __init__(self, model, *, levels: int = 2, patches: int = 2, padding: int = 4):
        self.model = model
        self.levels = check_positive_int("levels", levels, minimum=0)
        self.patches = check_positive_int("patches", patches)
        self.padding = check_positive_int("padding", padding, minimum=0)

    def _indices(self, n: int) -> np.ndarray:
        """``(patches, levels + 1, W)`` grid indices (mod n) of every view along one axis."""
        p, pad = self.patches, self.padding
        if n % p:
            raise ValueError(f"Resolution {n} is not a multiple of `patches` {p}.")
        size = n // p
        w = size + 2 * pad
        t = np.arange(w)
        out = np.empty((p, self.levels + 1, w), dtype=np.int32)
        for j in range(p):
            for l in range(self.levels + 1):
                s = 2**l
                start = j * size + size // 2 - s * (size // 2 + pad)
                out[j, l] = (start + s * t) % n
        return out

    def tiles(self, a: Float[Array, " B C *spatial"]) -> Float[Array, " T C_L *tile"]:
        """The model's input: ``(B * patches^d, C (levels + 1), *(tile + 2 padding))``."""
        b, c = a.shape[:2]
        spatial = a.shape[2:]
        d = len(spatial)
        idx = [self._indices(n) for n in spatial]
        views = []
        for l in range(self.levels + 1):
            v = a
            for ax in range(d):
                i = idx[ax][:, l, :]  # (p, W)
                v = jnp.take(v, jnp.asarray(i.ravel()), axis=2 + 2 * ax)
                v = v.reshape(v.shape[:2 + 2 * ax] + i.shape + v.shape[3 + 2 * ax:])
            # v: (B, C, p, W, p, W, ...) -> (B, p, p, ..., C, W, W, ...)
            perm = [0] + [2 + 2 * ax for ax in range(d)] + [1] + [3 + 2 * ax for ax in range(d)]
            views.append(jnp.transpose(v, perm))
        stacked = jnp.concatenate(views, axis=1 + d)  # channels: level-major
        w = stacked.shape[2 + d:]
        return stacked.reshape((b * self.patches**d, c * (self.levels + 1)) + w)

    def apply_batch(self, a: Float[Array, " B C *spatial"]) -> Float[Array, " B C_out *spatial"]:
        """Tile, run the model on every tile as one batch, crop and stitch."""
        b, spatial = a.shape[0], a.shape[2:]
        d = len(spatial)
        x = self.tiles(a)
        fn = getattr(self.model, "apply_batch", None)
        y = fn(x) if fn is not None else jax.vmap(self.model)(x)
        pad, p = self.padding, self.patches
        y = y[(slice(None), slice(None)) + tuple(slice(pad, pad + n // p) for n in spatial)]
        co = y.shape[1]
        y = y.reshape((b,) + (p,) * d + (co,) + tuple(n // p for n in spatial))
        # (B, p.., Co, P..) -> (B, Co, p, P, p, P, ...)
        perm = [0, 1 + d]
        for ax in range(d):
            perm += [1 + ax, 2 + d + ax]
        return jnp.transpose(y, perm).reshape((b, co) + tuple(spatial))

    def __call__(self, a: Float[Array, " C *spatial"]) -> Float[Array, " C_out *spatial"]:
        return self.apply_batch(a[None])[0]
