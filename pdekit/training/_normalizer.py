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

    def _stats(self, u, batched):
        mean = jax.lax.stop_gradient(self.mean).astype(u.dtype)
        std = jax.lax.stop_gradient(self.std).astype(u.dtype) + jnp.asarray(self.eps, u.dtype)
        if batched:
            mean, std = mean[None], std[None]
        return mean, std

    def encode(self, u: Float[Array, " C *spatial"], *, batched: bool = False
               ) -> Float[Array, " C *spatial"]:
        """``(u - mean) / (std + eps)`` on one sample (or a batch with ``batched=True``)."""
        mean, std = self._stats(u, batched)
        return (u - mean) / std

    def decode(self, v: Float[Array, " C *spatial"], *, batched: bool = False
               ) -> Float[Array, " C *spatial"]:
        """``v (std + eps) + mean``: inverse of :meth:`encode`."""
        mean, std = self._stats(v, batched)
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

    def apply_batch(self, x: Float[Array, " B C_in *spatial"]) -> Float[Array, " B C_out *spatial"]:
        """The wrapped model on a batch (its ``apply_batch`` if it has one, else vmap)."""
        if self.x_normalizer is not None:
            x = self.x_normalizer.encode(x, batched=True)
        y = apply_batch(self.model, x)
        if self.y_normalizer is not None:
            y = self.y_normalizer.decode(y, batched=True)
        return y


def apply_batch(model, x: Array) -> Array:
    """``model.apply_batch(x)`` when the model offers a batched path, else ``vmap(model)(x)``."""
    fn = getattr(model, "apply_batch", None)
    return fn(x) if fn is not None else jax.vmap(model)(x)


def trainable(tree) -> object:
    """Filter spec: which leaves ``fit`` trains (a pytree of bools shaped like `tree`).

    ``True`` for inexact array leaves, except inside a :class:`Normalizer` (frozen statistics)
    and except what a sub-model leaves out through its own ``trainable()`` method (e.g.
    POD-DeepONet's fixed basis): a Module with such a method contributes its spec, wherever it
    sits in `tree` (also as `tree` itself).
    """
    def owns_spec(node):
        return isinstance(node, Normalizer) or (
            isinstance(node, eqx.Module) and callable(getattr(node, "trainable", None)))

    def spec(node):
        if isinstance(node, Normalizer):
            return jax.tree_util.tree_map(lambda _: False, node)
        if owns_spec(node):
            return node.trainable()
        return eqx.is_inexact_array(node)

    return jax.tree_util.tree_map(spec, tree, is_leaf=owns_spec)
