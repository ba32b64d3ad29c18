"""Solve many independent problems: ``fn`` mapped over a batch axis, chunked and sharded.

One helper for every "batch of independent solves" (FEM coefficient batches, spectral
initial conditions, dataset generation): ``jax.lax.map`` over chunks of ``batch_size``
samples (each chunk ``jax.vmap``-ed), the batch split over ``devices`` with ``jax.shard_map``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec
from jaxtyping import PyTree

from .._misc import check_positive_int


def map_batched(
    fn: Callable,
    batched: PyTree,
    shared: PyTree = None,
    *,
    batch_size: int = 1,
    devices: Sequence[jax.Device] | None = None,
) -> PyTree:
    """Apply ``fn`` to every sample of a batch: ``out[i] = fn(batched[i], shared)``.

    Samples are processed in chunks of `batch_size` (``jax.lax.map(..., batch_size=...)``:
    a ``jax.vmap`` inside each chunk, a loop over chunks, so memory stays that of one chunk
    and each sample's iterative solve stops at its own iteration count), and the batch is
    split over `devices` (``jax.shard_map``), padded by repeating its last sample to a
    multiple of the number of devices. Jitted (``eqx.filter_jit``): `shared` arrays are
    arguments, not baked-in constants, so a large mesh or matrix does not slow compilation;
    pass the same `fn` object (a module-level function or a bound method) to reuse the
    compiled code across calls.

    **Arguments:**
    - `fn`: ``fn(sample)`` (when `shared` is None) or ``fn(sample, shared)``, where
      `sample` has the structure of `batched` without the leading axis. Must be pure.
    - `batched`: a pytree of arrays, each with the same leading batch length `B >= 1`.
    - `shared`: a pytree passed unchanged to every call (a problem Module, scalars,
      callables), or None.
    - `batch_size`: samples per chunk, ``>= 1`` (default 1: fastest on CPU for iterative
      solves, see :meth:`pdekit.solvers.fem.Poisson.solve_batch`).
    - `devices`: JAX devices to split the batch over (default: the first device only). On
      CPU, start Python with ``XLA_FLAGS=--xla_force_host_platform_device_count=<cores>``
      for one device per core.

    **Returns:** the pytree of ``fn``'s outputs, each with leading axis `B`; equal to
    stacking ``fn`` applied sample by sample.

    **Raises:** `ValueError` for `batch_size < 1`, an empty `batched` or `devices`, a leaf
    of `batched` that is not an array with a leading axis, or leaves of different lengths.
    """
    if not callable(fn):
        raise ValueError(f"`fn` must be callable, got {type(fn).__name__}.")
    batch_size = check_positive_int("batch_size", batch_size)
    leaves = jax.tree_util.tree_leaves(batched)
    if not leaves:
        raise ValueError("`batched` has no arrays: pass a pytree of arrays with a batch axis.")
    lengths = []
    for leaf in leaves:
        if not (isinstance(leaf, (jax.Array, np.ndarray)) and jnp.ndim(leaf) >= 1):
            raise ValueError(
                "every leaf of `batched` must be an array with a leading batch axis, got "
                f"{type(leaf).__name__} of shape {jnp.shape(leaf)}; put unbatched values "
                "in `shared`."
            )
        lengths.append(int(jnp.shape(leaf)[0]))
    if len(set(lengths)) != 1:
        raise ValueError(f"the leaves of `batched` have different leading lengths: {lengths}.")
    n = lengths[0]
    if n == 0:
        raise ValueError("`batched` has batch length 0.")
    devices = tuple(jax.devices()[:1] if devices is None else devices)
    if len(devices) == 0:
        raise ValueError("`devices` is empty.")
    for dev in devices:
        if not isinstance(dev, jax.Device):
            raise ValueError(f"`devices` must hold jax devices, got {type(dev).__name__}.")
    batched = jax.tree_util.tree_map(jnp.asarray, batched)
    pad = (-n) % len(devices)
    if pad:
        batched = jax.tree_util.tree_map(
            lambda v: jnp.concatenate([v, jnp.repeat(v[-1:], pad, axis=0)]), batched
        )
    out = _mapped(fn, batched, shared, shared is not None, batch_size, devices)
    return jax.tree_util.tree_map(lambda v: v[:n], out)


@eqx.filter_jit
def _mapped(fn, batched, shared, with_shared: bool, batch_size: int, devices: tuple[Any, ...]):
    def one(sample):
        return fn(sample, shared) if with_shared else fn(sample)

    def chunked(xs):
        return jax.lax.map(one, xs, batch_size=batch_size)

    if len(devices) == 1:
        return chunked(batched)
    mesh = Mesh(np.asarray(devices), ("batch",))
    spec = PartitionSpec("batch")
    batched = jax.lax.with_sharding_constraint(batched, NamedSharding(mesh, spec))
    # `shared` enters as a closure (replicated); check_vma=False: `fn` may hold callbacks
    # (the host direct solver) and loops whose varying-ness JAX cannot infer
    return jax.shard_map(chunked, mesh=mesh, in_specs=spec, out_specs=spec,
                         check_vma=False)(batched)
