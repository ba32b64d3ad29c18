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
"""

from __future__ import annotations

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
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


def _route_classifier(clf, x):
    if x.ndim == 1:
        return jnp.argmax(clf(x))
    return jnp.argmax(jax.vmap(clf)(x), axis=-1)


def classifier_router(classifier) -> Compiled:
    """Compiled routing by a :class:`RomNetClassifier`: ``router(features)`` with features
    `(p,)` gives the cluster index (int scalar), with `(B, p)` the `(B,)` indices.

    **Raises:** `ValueError` if `classifier` is not a :class:`RomNetClassifier`.
    """
    from ._romnet import RomNetClassifier

    if not isinstance(classifier, RomNetClassifier):
        raise ValueError(f"`classifier` must be a RomNetClassifier, got "
                         f"{type(classifier).__name__}.")
    return Compiled(_route_classifier, classifier)


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


def medoid_router(local) -> Compiled:
    """Compiled nearest-representative routing of a :class:`LocalBases` (module docstring):
    ``router(u)`` with a field `(dofs,)` gives the cluster index, with `(B, dofs)` the
    `(B,)` indices; the same clusters as :meth:`LocalBases.route_nearest` (up to ties).

    **Raises:** `ValueError` if `local` is not a :class:`LocalBases`.
    """
    from ._local_bases import LocalBases

    if not isinstance(local, LocalBases):
        raise ValueError(f"`local` must be LocalBases, got {type(local).__name__}.")
    d = local.dissimilarity
    if not isinstance(d, Sine | OneMinusCos | Euclidean):  # any other: the generic pairwise
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
    table = _MedoidTable(rows=rows, offsets=offsets, angle=angle, dofs=int(m.shape[1]))
    return Compiled(lambda t, x: t(x), table)
