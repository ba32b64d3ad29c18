r"""Low-overhead online routing: one compiled function per router.

Online, a ROM-net routes *one* query at a time, so per-call overhead matters more than
flops. ``eqx.filter_jit`` partitions the Module pytree in Python at every call (~150 us on
CPU, more than an MLP's arithmetic); here the Module's arrays are partitioned *once*, at
construction, and a plain ``jax.jit`` function takes them as flat arguments, so a warm call
is one C++ dispatch (~10-30 us on CPU) and never re-traces for a new query of the same shape.

- :func:`classifier_router`: parameters (scaled features) → cluster, by a
  :class:`RomNetClassifier`; needs no full-order field.
- :func:`medoid_router`: a full-order field → cluster of the nearest representative in the
  clustering dissimilarity, with the medoid side precomputed: for the angle-based
  dissimilarities (scale invariant) ``argmin_k d(u, m_k) = argmax_k |<u, m_k>_W| / ||m_k||_W``
  (the factor ``||u||_W`` is common to every `k`), and for the Euclidean one
  ``argmin_k ||m_k||_W^2 - 2 <u, m_k>_W``: one `(K, dofs)` matrix-vector product, no sparse
  product with ``W`` per query. It still needs the field `u` itself, i.e. a full-order solve
  of the query, which the classifier route avoids (benchmarks/rom_local_bench.py reports
  both costs).
- :class:`Compiled`: the general helper (``fn(module, *args)`` compiled once), used for the
  routed local ROM solves too.

Both routers take ``dtype`` (e.g. ``jnp.float32`` for inference) and ``backend``: ``"jax"``
(the compiled function; the path for batches, accelerators and use under ``jit``) or
``"numpy"`` (host numpy, ~1 us per operation instead of XLA's ~10-40 us dispatch floor, so
cheaper for single queries on CPU). Comparisons put both routes on the same back-end and dtype.
"""

from __future__ import annotations

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from ._dissimilarity import Euclidean, OneMinusCos, Sine, pairwise

__all__ = ["Compiled", "classifier_router", "medoid_router"]


class Compiled:
    """``fn(module, *args)`` compiled once, with `module`'s arrays bound as flat arguments.

    **Arguments:** `fn` (pure, jit-able, `module` first), `module` (any pytree, typically an
    equinox Module). Calling ``Compiled(fn, module)(*args)`` returns ``fn(module, *args)``;
    the first call with new argument shapes traces and compiles, later ones only dispatch.
    """

    def __init__(self, fn: Callable, module):
        arrays, static = eqx.partition(module, eqx.is_array)
        leaves, treedef = jax.tree.flatten(arrays)
        self._leaves = leaves
        self.module = module

        def flat(leaves, *args):
            return fn(eqx.combine(jax.tree.unflatten(treedef, leaves), static), *args)

        self._fn = jax.jit(flat)

    def __call__(self, *args):
        return self._fn(self._leaves, *args)


_C1 = float(np.sqrt(2 / np.pi))
_C3 = _C1 * 0.044715


def _gelu2_host(h):
    """``2 gelu(h)`` (jax.nn.gelu's default tanh form, ``0.5 h (1 + tanh(c (h + 0.044715
    h^3)))``) in 7 numpy calls; the factor 1/2 is folded into the next layer's weights
    (exact: a power of two)."""
    t = h * h
    t *= _C3
    t += _C1
    t *= h
    np.tanh(t, out=t)
    t += 1
    t *= h
    return t


class _HostRouter:
    """A router evaluated with numpy on the host: below XLA's per-call dispatch floor
    (~10-40 us on CPU) for one query; the same arithmetic as the compiled router."""

    def __init__(self, fn, dtype):
        self._fn, self.dtype = fn, np.dtype(dtype)

    def __call__(self, x):
        return self._fn(np.asarray(x, dtype=self.dtype))


def _layers(classifier, dtype):
    """The MLP as `[(W (in, out), b (out,))]`: one GEMM layout for a query or a batch."""
    return [(jnp.asarray(layer.weight.T, dtype), jnp.asarray(layer.bias, dtype))
            for layer in classifier.mlp.layers]


def _route_layers(layers, x):
    h = x.astype(layers[0][0].dtype)
    lead = (1,) * (h.ndim - 1)  # explicit broadcast of the bias (no rank promotion)
    for W, b in layers[:-1]:
        h = jax.nn.gelu(h @ W + b.reshape(lead + b.shape))
    W, b = layers[-1]
    return jnp.argmax(h @ W + b.reshape(lead + b.shape), axis=-1)


def classifier_router(classifier, *, dtype=None, backend: str = "jax"):
    """Routing by a :class:`RomNetClassifier`: ``router(features)`` with features `(p,)`
    gives the cluster index (int scalar), with `(B, p)` the `(B,)` indices.

    The MLP's layers are stored once as `(in, out)` matrices in `dtype`, so a query and a
    batch are the same row-times-matrix products (one GEMM per layer for a batch).

    **Arguments:**
    - `classifier`: a trained :class:`RomNetClassifier`.
    - `dtype`: inference dtype (default: the classifier's); ``jnp.float32`` halves the
      memory traffic, and routes as the float64 model except where two logits tie to
      float32 round-off.
    - `backend`: ``"jax"`` (one jitted function, :class:`Compiled`) or ``"numpy"``
      (host numpy: cheaper than XLA's per-call dispatch for single queries on CPU; returns
      numpy integers).

    **Raises:** `ValueError` if `classifier` is not a :class:`RomNetClassifier`, or for a
    bad `backend` or non-float `dtype`.
    """
    from ._romnet import RomNetClassifier

    if not isinstance(classifier, RomNetClassifier):
        raise ValueError(f"`classifier` must be a RomNetClassifier, got "
                         f"{type(classifier).__name__}.")
    dtype = _check_router_args(dtype, backend, classifier.mlp.layers[0].weight.dtype)
    layers = _layers(classifier, dtype)
    if backend == "jax":
        return Compiled(_route_layers, layers)
    # host: each layer after the first takes 2 gelu(h), so its weights carry the 1/2
    host = [(np.asarray(W) * (0.5 if i else 1), np.asarray(b)) for i, (W, b) in
            enumerate(layers)]

    def route(x):
        h = x
        for W, b in host[:-1]:
            h = h @ W
            h += b
            h = _gelu2_host(h)
        W, b = host[-1]
        h = h @ W
        h += b
        return np.argmax(h, axis=-1)

    return _HostRouter(route, dtype)


def _check_router_args(dtype, backend, default):
    if backend not in ("jax", "numpy"):
        raise ValueError(f"`backend` must be 'jax' or 'numpy', got {backend!r}.")
    dtype = np.dtype(default if dtype is None else dtype)
    if not np.issubdtype(dtype, np.floating):
        raise ValueError(f"`dtype` must be a floating dtype, got {dtype}.")
    return dtype


class _MedoidTable(eqx.Module):
    rows: Float[Array, "K dofs"]      # W m_k (/ ||m_k||_W for angle-based dissimilarities)
    offsets: Float[Array, " K"]       # ||m_k||_W^2 (Euclidean), zeros otherwise
    angle: bool = eqx.field(static=True)
    dofs: int = eqx.field(static=True)

    def __call__(self, x: Float[Array, "*B dofs"]) -> Int[Array, "*B"]:
        if x.shape[-1] != self.dofs or x.ndim not in (1, 2):
            raise ValueError(f"expected a field of shape ({self.dofs},) or (B, {self.dofs}), "
                             f"got {x.shape}.")
        g = x.astype(self.rows.dtype) @ self.rows.T
        if self.angle:
            return jnp.argmax(jnp.abs(g), axis=-1)
        off = self.offsets if g.ndim == 1 else self.offsets[None, :]
        return jnp.argmin(off - 2 * g, axis=-1)


def medoid_router(local, *, dtype=None, backend: str = "jax"):
    """Nearest-representative routing of a :class:`LocalBases` (module docstring):
    ``router(u)`` with a field `(dofs,)` gives the cluster index, with `(B, dofs)` the
    `(B,)` indices; the same clusters as :meth:`LocalBases.route_nearest` (up to ties).

    **Arguments:** `local`; `dtype` and `backend` as in :func:`classifier_router` (the
    same footing for the two routes in a comparison).

    **Raises:** `ValueError` if `local` is not a :class:`LocalBases`, or for a bad `backend`
    or `dtype`.
    """
    from ._local_bases import LocalBases

    if not isinstance(local, LocalBases):
        raise ValueError(f"`local` must be LocalBases, got {type(local).__name__}.")
    dtype = _check_router_args(dtype, backend, local.medoids.dtype)
    d = local.dissimilarity
    if not isinstance(d, Sine | OneMinusCos | Euclidean):  # any other: the generic pairwise
        if backend == "numpy":
            raise ValueError("`backend='numpy'` needs a Sine, OneMinusCos or Euclidean "
                             "dissimilarity.")
        return Compiled(lambda lb, x: jnp.argmin(pairwise(lb.dissimilarity, jnp.atleast_2d(x),
                                                          lb.medoids), axis=1).reshape(
                                                              x.shape[:-1]), local)
    m = local.medoids
    wm = local.inner.apply(m)
    n2 = jnp.sum(wm * m, axis=1)
    angle = d.scale_invariant
    if angle:
        tiny = jnp.finfo(m.dtype).tiny
        rows = wm / jnp.sqrt(jnp.maximum(n2, tiny))[:, None]
        offsets = jnp.zeros_like(n2)
    else:
        rows, offsets = wm, n2
    rows, offsets = rows.astype(dtype), offsets.astype(dtype)
    if backend == "jax":
        table = _MedoidTable(rows=rows, offsets=offsets, angle=angle, dofs=int(m.shape[1]))
        return Compiled(lambda t, x: t(x), table)
    rows_t = np.ascontiguousarray(np.asarray(rows).T)   # (dofs, K): u @ rows_t, one GEMV
    offsets_h = np.asarray(offsets)
    dofs = int(m.shape[1])

    def route(x):
        if x.shape[-1] != dofs or x.ndim not in (1, 2):
            raise ValueError(f"expected a field of shape ({dofs},) or (B, {dofs}), got "
                             f"{x.shape}.")
        g = x @ rows_t
        if angle:
            return np.argmax(np.abs(g), axis=-1)
        return np.argmin(offsets_h - 2 * g, axis=-1)

    return _HostRouter(route, dtype)
