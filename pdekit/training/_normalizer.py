"""Gaussian normalisers fitted on the training split, stored inside the model pytree."""

from typing import Literal

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._misc import default_float_dtype


class Normalizer(eqx.Module):
    """``encode(u) = (u - mean) / (std + eps)``, ``decode(v) = v (std + eps) + mean``.

    Statistics are non-trainable (the trainer freezes every ``Normalizer`` leaf) and saved
    with the model. Per-channel statistics (``mean``/``std`` of shape ``(C, 1, ..., 1)``)
    apply at any resolution; pointwise ones ``(C, *spatial)`` tie the model to one grid.

    **Arguments:** `mean`, `std`: arrays broadcasting against one sample ``(C, *spatial)``;
    `eps`: added to `std` (default 1e-6).
    """

    mean: Float[Array, " C ..."]
    std: Float[Array, " C ..."]
    eps: float = eqx.field(static=True)

    def __init__(self, mean, std, eps: float = 1e-6, *, dtype=None):
        dtype = default_float_dtype(dtype)
        mean, std = np.asarray(mean), np.asarray(std)
        if mean.shape != std.shape:
            raise ValueError(f"`mean` {mean.shape} and `std` {std.shape} must have one shape.")
        if np.any(std < 0) or not np.all(np.isfinite(std)):
            raise ValueError("`std` must be finite and non-negative.")
        self.mean = jnp.asarray(mean, dtype)
        self.std = jnp.asarray(std, dtype)
        self.eps = float(eps)

    @classmethod
    def fit(cls, split, *, kind: Literal["channel", "pointwise"] = "channel",
            dtype=None) -> tuple["Normalizer", "Normalizer"]:
        """Input and output normalisers from a ``pdekit.data`` split (``split.mean_std``).

        `kind`: ``"channel"`` (statistics over samples and space: resolution independent,
        the default) or ``"pointwise"`` (over samples only, as the original FNO code).
        """
        if kind not in ("channel", "pointwise"):
            raise ValueError(f"`kind` must be 'channel' or 'pointwise', got {kind!r}.")
        nd = len(split.x_shape) + 1
        axis = (0,) + tuple(range(2, nd)) if kind == "channel" else 0
        (xm, xs), (ym, ys) = split.mean_std(axis=axis)
        return cls(xm, xs, dtype=dtype), cls(ym, ys, dtype=dtype)

    def _stats(self, u):
        mean = jax.lax.stop_gradient(self.mean).astype(u.dtype)
        std = jax.lax.stop_gradient(self.std).astype(u.dtype) + jnp.asarray(self.eps, u.dtype)
        return mean, std

    def encode(self, u: Float[Array, " C *spatial"]) -> Float[Array, " C *spatial"]:
        mean, std = self._stats(u)
        return (u - mean) / std

    def decode(self, v: Float[Array, " C *spatial"]) -> Float[Array, " C *spatial"]:
        mean, std = self._stats(v)
        return v * std + mean


class Normalized(eqx.Module):
    """``x -> y_norm.decode(model(x_norm.encode(x)))``: a model in physical units.

    Either normaliser may be ``None``. Training through it fits the model in normalised
    units while the loss is measured in physical ones; saving it saves the statistics.
    """

    model: eqx.Module
    x_normalizer: Normalizer | None
    y_normalizer: Normalizer | None

    def __call__(self, x: Float[Array, " C_in *spatial"]) -> Float[Array, " C_out *spatial"]:
        if self.x_normalizer is not None:
            x = self.x_normalizer.encode(x)
        y = self.model(x)
        if self.y_normalizer is not None:
            y = self.y_normalizer.decode(y)
        return y


def trainable(tree) -> object:
    """Filter spec: ``True`` for inexact array leaves outside any :class:`Normalizer`."""
    def spec(node):
        if isinstance(node, Normalizer):
            return jax.tree_util.tree_map(lambda _: False, node)
        return eqx.is_inexact_array(node)

    return jax.tree_util.tree_map(spec, tree, is_leaf=lambda n: isinstance(n, Normalizer))
