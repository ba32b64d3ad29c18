"""``generate``: run a recipe for samples ``0..n-1`` into an HDF5 store, resumably.

Sample ``i`` is ``recipe.sample(jax.random.fold_in(jax.random.key(seed), i))``, computed one
sample at a time inside ``jax.lax.map`` (the same compiled per-sample code whatever the batch
size, the device count or the samples already on disk), so the stored bytes depend only on
the generator, its parameters, the resolution, the seed and the dtypes.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._misc import check_positive_int
from ._registry import get_generator
from ._store import FORMAT, FORMAT_VERSION, Store, check_writable

_DTYPES = ("float32", "float64")
_RECIPES: dict = {}


@dataclasses.dataclass(frozen=True)
class GenerateStats:
    """What one :func:`generate` call did: `computed` samples in `wall_s` seconds (of which
    `compile_s` for the first batch), `samples_per_s` = computed / wall_s, `resumed_from`
    samples that were on disk already."""

    path: pathlib.Path
    computed: int
    resumed_from: int
    wall_s: float
    compile_s: float
    samples_per_s: float
    devices: int
    batch_size: int


def resolve_devices(devices) -> list:
    """`None` (first device), an int `N` (the first N devices) or a sequence of devices."""
    import jax

    avail = jax.devices()
    if devices is None:
        return avail[:1]
    if isinstance(devices, (int, np.integer)) and not isinstance(devices, bool):
        num = check_positive_int("devices", devices)
        if num > len(avail):
            raise ValueError(
                f"`devices`: {num} asked but JAX sees {len(avail)} "
                f"({avail[0].platform}); on CPU start with "
                f"XLA_FLAGS=--xla_force_host_platform_device_count={num} (the CLI's "
                "--devices does this) or set jax.config 'jax_num_cpu_devices' first."
            )
        return avail[:num]
    devs = list(devices)
    if not devs:
        raise ValueError("`devices` is empty.")
    return devs


def _check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"`seed` must be an integer, got {seed!r}.")
    if not 0 <= int(seed) < 2**32:
        raise ValueError(f"`seed` must be in [0, 2**32), got {seed}.")
    return int(seed)


def prepare(name, path, *, n, resolution, seed, dtype, params):
    """Validate everything and build the recipe (host set-up only, no solve)."""
    import jax.numpy as jnp

    from .. import __version__
    from .._misc import default_float_dtype

    gen = get_generator(name)
    n = check_positive_int("n", n)
    resolution = check_positive_int("resolution", resolution, minimum=2)
    seed = _check_seed(seed)
    if str(dtype) not in _DTYPES:
        raise ValueError(f"`dtype` must be one of {_DTYPES}, got {dtype!r}.")
    dtype = str(dtype)
    compute = default_float_dtype()
    if dtype == "float64" and compute != jnp.float64:
        raise ValueError(
            "`dtype='float64'` stores float64 data but JAX computes in float32; call "
            "pdekit.enable_x64() first (CLI: drop --float32)."
        )
    path = check_writable("path", path)
    resolved = gen.resolve(params)
    ckey = (name, resolution, str(np.dtype(compute)), json.dumps(resolved, sort_keys=True))
    recipe = _RECIPES.get(ckey)
    if recipe is None:  # host set-up once per configuration; keeps compiled code reusable
        recipe = gen.build(resolution, compute, **resolved)
        if len(_RECIPES) >= 8:
            _RECIPES.pop(next(iter(_RECIPES)))
        _RECIPES[ckey] = recipe
    resolved = {**resolved, **recipe.params}
    signature = {
        "format_version": FORMAT_VERSION,
        "generator": name,
        "n": n,
        "resolution": resolution,
        "seed": seed,
        "dtype": dtype,
        "compute_dtype": str(np.dtype(compute)),
        "params": resolved,
    }
    attrs = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "generator": name,
        "description": gen.doc,
        "pdekit_version": __version__,
        "n": n,
        "resolution": resolution,
        "seed": seed,
        "dtype": dtype,
        "compute_dtype": str(np.dtype(compute)),
        "params": resolved,
        "grid": recipe.grid,
        "units": recipe.units,
        "names": recipe.names,
        "signature": signature,
    }
    return path, recipe, attrs, signature


def _chunk(sample, seed, idx):
    import jax

    base = jax.random.key(seed)
    return jax.lax.map(lambda i: sample(jax.random.fold_in(base, i)), idx)


def _jitted():
    # a module-level jitted callable (built lazily: importing pdekit.data stays cheap), so a
    # second generate() with the same recipe object reuses the compiled code
    global _RUN_ONE
    if _RUN_ONE is None:
        import equinox as eqx

        _RUN_ONE = eqx.filter_jit(_chunk)
    return _RUN_ONE


_RUN_ONE = None


def make_runner(recipe, devices: Sequence):
    """``run(seed, idx) -> [(x, y), ...]`` for a chunk of sample indices (length a multiple
    of ``len(devices)``): the chunk is split into one contiguous shard per device
    (``NamedSharding`` over a 1-D ``batch`` mesh) and each shard runs the *single-device*
    program (``lax.map`` over its samples) on its device; calls are dispatched
    asynchronously, so the devices work concurrently. Returns the per-device outputs in
    order.

    Why not ``shard_map``/``pmap``: on XLA-CPU (jax 0.10.2) a program partitioned over 4
    devices rounds differently from the single-device one (1e-18 in float64 Darcy data, every
    sample; a 1-device ``shard_map`` matches), and the data must not depend on the device
    count. The single-device program on every shard gives identical bytes, at the price of
    one compilation per device (done in parallel threads).
    """
    import jax
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    one = _jitted()
    if len(devices) == 1:
        dev = devices[0]
        sample = jax.device_put(recipe.sample, dev)

        def run(seed, idx):
            return [one(sample, np.uint32(seed), jax.device_put(idx, dev))]

        return run
    sharding = NamedSharding(Mesh(np.asarray(devices), ("batch",)), PartitionSpec("batch"))
    samples = {d: jax.device_put(recipe.sample, d) for d in devices}

    compiled = set()

    def run(seed, idx):
        shards = jax.device_put(idx, sharding).addressable_shards
        shards = sorted(shards, key=lambda sh: sh.index[0].start or 0)
        calls = [(samples[sh.device], np.uint32(seed), sh.data) for sh in shards]
        if idx.shape in compiled:
            return [one(*c) for c in calls]
        # first call of this shape: one compilation per device (jit specialises on the
        # device); run them in threads (XLA releases the GIL while compiling)
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(len(calls)) as pool:
            out = list(pool.map(lambda c: one(*c), calls))
        compiled.add(idx.shape)
        return out

    return run


def generate(
    name: str,
    path,
    *,
    n: int,
    resolution: int,
    seed: int = 0,
    batch_size: int | None = None,
    devices=None,
    overwrite: bool = False,
    progress: bool = True,
    dtype: str = "float32",
    **params: Any,
) -> pathlib.Path:
    """Generate dataset `name` (samples ``0..n-1``) into the HDF5 file `path`, resumably.

    Sample ``i`` comes from ``jax.random.fold_in(jax.random.key(seed), i)``: the file does not
    depend on `batch_size`, `devices` or interruptions. If `path` holds an unfinished run with
    the same signature (generator, `n`, `resolution`, `seed`, dtypes, every parameter), only
    the missing samples are computed; a finished one is returned as is.

    **Arguments:**
    - `name`: a generator in :data:`pdekit.data.GENERATORS` (``darcy``, ...).
    - `path`: output file (``.h5``); its folder is created if missing.
    - `n`: number of samples, ``>= 1``; `resolution`: grid points per side, ``>= 2`` (each
      generator states which it accepts).
    - `seed`: integer in ``[0, 2**32)`` (default 0).
    - `batch_size`: samples per compiled call and per write (rounded up to a multiple of the
      device count; default 16 per device, at most `n` rounded up).
    - `devices`: `None` (first device), an int `N` (first `N` devices) or a sequence of JAX
      devices; the batch axis is sharded over them (``jax.shard_map``).
    - `overwrite`: replace an existing file made with other parameters (or a foreign or
      corrupt file). Without it such a file raises `ValueError` and is left untouched.
    - `progress`: tqdm bar (samples/s, ETA).
    - `dtype`: stored dtype, ``"float32"`` (default) or ``"float64"`` (needs x64). The
      computation runs in JAX's default float dtype (float64 under ``enable_x64()``).
    - `**params`: generator parameters (see ``GENERATORS[name].defaults``).

    **Returns:** the path of the finished file (read it with :class:`pdekit.data.Dataset`).

    **Raises:** `ValueError`, before any work, for an unknown generator or parameter,
    ``n < 1``, a bad resolution (including one the solver cannot coarsen), non-finite
    parameters, an unwritable path, or an existing file that does not match.
    """
    return generate_with_stats(
        name, path, n=n, resolution=resolution, seed=seed, batch_size=batch_size,
        devices=devices, overwrite=overwrite, progress=progress, dtype=dtype, **params
    ).path


def generate_with_stats(
    name: str,
    path,
    *,
    n: int,
    resolution: int,
    seed: int = 0,
    batch_size: int | None = None,
    devices=None,
    overwrite: bool = False,
    progress: bool = True,
    dtype: str = "float32",
    on_batch: Callable[[int], None] | None = None,
    **params: Any,
) -> GenerateStats:
    """:func:`generate`, returning :class:`GenerateStats`. `on_batch(done)` is called after
    each batch is on disk (for tests and progress hooks)."""
    path, recipe, attrs, signature = prepare(
        name, path, n=n, resolution=resolution, seed=seed, dtype=dtype, params=params
    )
    devs = resolve_devices(devices)
    nd = len(devs)
    if batch_size is None:
        batch_size = 16 * nd
    batch_size = check_positive_int("batch_size", batch_size)
    step = -(-min(batch_size, -(-attrs["n"] // nd) * nd) // nd) * nd
    store_dtype = np.dtype(attrs["dtype"])

    if path.exists() and not overwrite:
        store = Store.open(path, signature)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        store = Store.create(
            path, n=attrs["n"], x_shape=recipe.x_shape, y_shape=recipe.y_shape,
            dtype=store_dtype, attrs=attrs, coords=recipe.coords, aux=recipe.aux,
        )
    t_start = time.perf_counter()
    compile_s = 0.0
    try:
        todo = store.pending()
        resumed = attrs["n"] - todo.size
        if todo.size:
            run = make_runner(recipe, devs)
            chunks = [todo[i: i + step] for i in range(0, todo.size, step)]
            bar = _bar(progress, attrs["n"], resumed, name)
            done = resumed
            try:
                pending = None
                for k, idx in enumerate(chunks + [None]):
                    nxt = None
                    if idx is not None:
                        padded = np.concatenate([idx, np.full(step - idx.size, idx[-1])])
                        nxt = (idx, run(attrs["seed"], padded.astype(np.int32)))
                    if pending is not None:  # write the previous batch while this one runs
                        pidx, outs = pending
                        x = np.concatenate([np.asarray(o[0]) for o in outs])
                        y = np.concatenate([np.asarray(o[1]) for o in outs])
                        x = x[: pidx.size].astype(store_dtype, copy=False)
                        y = y[: pidx.size].astype(store_dtype, copy=False)
                        _check_shapes(recipe, x, y)
                        store.write(pidx, x, y)
                        done += pidx.size
                        if k == 1:
                            compile_s = time.perf_counter() - t_start
                        bar.update(pidx.size)
                        if on_batch is not None:
                            on_batch(done)
                    pending = nxt
            finally:
                bar.close()
    finally:
        store.close()
    wall = time.perf_counter() - t_start
    computed = int(todo.size)
    return GenerateStats(
        path=path, computed=computed, resumed_from=int(resumed), wall_s=wall,
        compile_s=compile_s, samples_per_s=computed / wall if wall > 0 else 0.0,
        devices=nd, batch_size=step,
    )


def _check_shapes(recipe, x, y):
    if x.shape[1:] != tuple(recipe.x_shape) or y.shape[1:] != tuple(recipe.y_shape):
        raise RuntimeError(  # a generator bug, not user input
            f"generator returned x {x.shape[1:]}, y {y.shape[1:]}; its recipe promised "
            f"{recipe.x_shape}, {recipe.y_shape}."
        )


def _bar(progress: bool, total: int, initial: int, name: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, unit="sample", desc=f"datagen {name}",
                disable=not progress, dynamic_ncols=True, smoothing=0.1)
