"""The training loop shared by every operator (and the ROM-net classifier): ``fit``.

One ``eqx.filter_jit`` step (loss, gradient, optax update); batches from a ``pdekit.data``
split (``split.batches(batch_size, seed=..., epoch=...)``: the order of epoch ``e`` is a
function of ``(seed, e)`` only); evaluation on several test sets; early stopping; a
CSV/JSON metrics log; checkpoints every N epochs and on interruption, from which a resumed
run continues **bit-identically** (same model, optimiser state, key, epoch, data order).
"""

import csv
import functools
import json
import math
import pathlib
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from .._misc import check_positive_int
from ._checkpoint import load_checkpoint, read_header, save_checkpoint
from ._losses import relative_l2
from ._normalizer import apply_batch, trainable

CHECKPOINT = "checkpoint"


def evaluate(model, split, *, metric: Callable = relative_l2, batch_size: int = 64,
             devices: Sequence | None = None) -> float:
    """Mean of the per-sample `metric` (default relative L2) of `model` over a whole split.

    **Arguments:** `model`: maps one sample ``(C_in, *spatial)`` to ``(C_out, *spatial)``;
    `split`: a ``pdekit.data`` split (``split.arrays()``); `metric(pred, y, reduce=False)`
    returns ``(B,)`` values; `batch_size`: samples per jitted chunk.
    """
    batch_size = check_positive_int("batch_size", batch_size)
    x, y = split.arrays()
    if len(x) == 0:
        raise ValueError("`split` is empty: nothing to evaluate.")
    fn = _eval_fn(metric)
    total = 0.0
    for i in range(0, len(x), batch_size):
        total += float(jnp.sum(fn(model, jnp.asarray(x[i:i + batch_size]),
                                  jnp.asarray(y[i:i + batch_size]))))
    return total / len(x)


def model_dtype(model) -> jnp.dtype:
    """The floating dtype of a model's parameters (its first inexact array leaf)."""
    for leaf in jax.tree_util.tree_leaves(model):
        if eqx.is_inexact_array(leaf):
            return leaf.dtype
    return jnp.dtype(jnp.result_type(float))


@functools.lru_cache(maxsize=32)
def _eval_fn(metric):
    @eqx.filter_jit
    def fn(model, x, y):
        dtype = model_dtype(model)
        return metric(apply_batch(model, x.astype(dtype)), y.astype(dtype), reduce=False)

    return fn


# "auto" micro-batching: split a batch so one micro-batch's largest activation stays near
# this size, so the forward/backward working set of a layer stays in cache (a 64x64, width-32
# FNO step is memory bound on CPU; micro-batches of 2 samples cut its CPU time by ~1/3)
AUTO_MICROBATCH_BYTES = 2 * 2**20


def _loss_and_grad(loss, params, static, x, y):
    def loss_fn(p):
        model = eqx.combine(p, static)
        dtype = model_dtype(model)  # float32 data trains a float64 model (x64) unchanged
        return loss(apply_batch(model, x.astype(dtype)), y.astype(dtype))

    return eqx.filter_value_and_grad(loss_fn)(params)


def _split_micro(a, n_dev: int, mb: int):
    """``(B, ...)`` -> ``(n, n_dev * mb, ...)``: micro-batch ``j`` takes samples
    ``j*mb .. (j+1)*mb - 1`` of every device's shard (contiguous blocks of ``B / n_dev``), so a
    sharded batch is micro-batched inside each device's shard, without communication."""
    b = a.shape[0]
    n = b // (n_dev * mb)
    a = a.reshape(n_dev, n, mb, *a.shape[1:])
    return jnp.swapaxes(a, 0, 1).reshape(n, n_dev * mb, *a.shape[3:])


@functools.lru_cache(maxsize=32)  # one compiled step per (loss, optimizer, ...), across calls
def _make_step(loss: Callable, optimizer: optax.GradientTransformation,
               microbatch: int | None = None, sharding=None):
    n_dev = 1 if sharding is None else sharding.mesh.size

    @eqx.filter_jit
    def step(params, static, opt_state, x, y):
        if microbatch is None:
            value, grads = _loss_and_grad(loss, params, static, x, y)
        else:
            # gradient accumulation over equal micro-batches: the batch loss is the mean of
            # per-sample terms, so it (and its gradient) is the mean over micro-batches
            xs, ys = _split_micro(x, n_dev, microbatch), _split_micro(y, n_dev, microbatch)
            # expand factorised weights (a TFNO's Tucker/CP tensors with
            # implementation="reconstructed") once per step: the scan differentiates with
            # respect to the expanded model, and one pullback maps the accumulated gradient back
            # to the factors (an identity for models with nothing to expand, e.g. a TFNO with
            # the default implementation="factorized")
            def expand(p):
                m = materialise(eqx.combine(p, static))
                return eqx.filter(m, trainable(m))

            dense, pullback = eqx.filter_vjp(expand, params)
            full = materialise(eqx.combine(params, static))
            dense_static = eqx.filter(full, trainable(full), inverse=True)
            if sharding is not None:
                spec = jax.sharding.PartitionSpec(None, "batch")
                micro = jax.sharding.NamedSharding(sharding.mesh, spec)
                xs = jax.lax.with_sharding_constraint(xs, micro)
                ys = jax.lax.with_sharding_constraint(ys, micro)

            def body(carry, xy):
                value, grads = _loss_and_grad(loss, dense, dense_static, *xy)
                return jax.tree_util.tree_map(jnp.add, carry, (value, grads)), None

            dtype = model_dtype(full)
            zero = (jnp.zeros((), dtype), jax.tree_util.tree_map(jnp.zeros_like, dense))
            (value, grads), _ = jax.lax.scan(body, zero, (xs, ys))
            scale = 1.0 / xs.shape[0]
            value, grads = jax.tree_util.tree_map(lambda g: g * jnp.asarray(scale, g.dtype),
                                                  (value, grads))
            (grads,) = pullback(grads)
        # optax mixes float and int32 scalars (Adam's bias correction `b1 ** count`), which
        # strict dtype promotion refuses; the model and the loss above stay strict
        with jax.numpy_dtype_promotion("standard"):
            updates, opt_state = optimizer.update(grads, opt_state, params)
        return eqx.apply_updates(params, updates), opt_state, value

    return step


def materialise(tree):
    """`tree` with every Module that has a ``materialise()`` method (e.g. an FNO/TFNO, also
    inside ``Normalized``) replaced by what it returns: an equivalent model whose parameters
    are the tensors its forward pass uses (factorised weights expanded)."""
    def has(node):
        return isinstance(node, eqx.Module) and callable(getattr(node, "materialise", None))

    return jax.tree_util.tree_map(lambda n: n.materialise() if has(n) else n, tree,
                                  is_leaf=has)


def _forward_eqns(model, x_shape, dtype, batch: int) -> list:
    """Every equation of the batched forward pass, sub-jaxprs included (but not the bodies of
    custom VJPs), in trace order (traced only: nothing runs)."""
    x = jax.ShapeDtypeStruct((batch, *x_shape), dtype)
    eqns: list = []

    def walk(jp):
        for eqn in jp.eqns:
            eqns.append(eqn)
            if eqn.primitive.name == "custom_vjp_call":
                continue  # a hand-written VJP: opaque (its outputs count, its body is not
                # differentiated by XLA's transpose rules)
            for sub in eqn.params.values():
                inner = getattr(sub, "jaxpr", None)
                if inner is not None:
                    walk(getattr(inner, "jaxpr", inner))

    walk(eqx.filter_make_jaxpr(apply_batch)(model, x)[0].jaxpr)
    return eqns


def _output_bytes(eqns) -> list[int]:
    """Bytes of every array the equations create, in order."""
    return [math.prod(v.aval.shape) * jnp.dtype(v.aval.dtype).itemsize
            for eqn in eqns for v in eqn.outvars
            if hasattr(getattr(v, "aval", None), "shape")
            and hasattr(getattr(v, "aval", None), "dtype")]


def _has_convolution(eqns) -> bool:
    """Whether the equations contain a convolution."""
    return any(eqn.primitive.name == "conv_general_dilated" for eqn in eqns)


def _largest_activation_bytes(one, two) -> int:
    """Bytes per sample of the largest activation of the forward pass, from its equations
    traced at batch 1 (`one`) and 2 (`two`), so arrays that do not grow with the batch
    (weights, DFT matrices) do not count."""
    one, two = _output_bytes(one), _output_bytes(two)
    if len(one) != len(two):  # the batch changed the program: count everything
        return max(two, default=0) // 2
    return max((b - a for a, b in zip(one, two)), default=0)


def resolve_microbatch(microbatch, model, train, batch_size: int, n_devices: int = 1,
                       backend: str | None = None) -> int | None:
    """The micro-batch size (samples per device) that ``fit`` uses, or ``None`` (whole batch).

    **Arguments:** `microbatch`: ``None`` (whole batch), a positive int dividing the
    per-device batch ``batch_size / n_devices``, or ``"auto"``: on GPU/TPU the whole batch; on
    CPU the largest divisor of the per-device batch whose largest activation (traced from one
    sample of `train`) stays within ``AUTO_MICROBATCH_BYTES``, except for models with
    convolutions differentiated by XLA's own rules (``eqx.nn.Conv``, DeepONet's CNN
    branch): XLA:CPU runs those gradients inside the micro-batch ``lax.scan`` without its
    fast kernels (a 3x3 kernel gradient at 64x64 took 0.8-1.1 s against 30 ms outside a
    loop), so ``"auto"`` keeps whole batches for them. Convolutions inside a custom VJP
    (``MgNO.apply_batch``'s, whose gradients are forward convolutions) do not count.
    `backend`: default ``jax.default_backend()``.

    **Raises:** ``ValueError`` naming `microbatch` for anything else.
    """
    local = batch_size // n_devices
    if microbatch is None:
        return None
    if isinstance(microbatch, str):
        if microbatch != "auto":
            raise ValueError(f"`microbatch` must be None, 'auto' or a positive int, got "
                             f"{microbatch!r}.")
        x_shape = getattr(train, "x_shape", None)
        if (backend or jax.default_backend()) != "cpu" or x_shape is None:
            return None  # accelerators have the bandwidth (and want the big GEMMs)
        one, two = (_forward_eqns(model, tuple(x_shape), model_dtype(model), b)
                    for b in (1, 2))
        if _has_convolution(one):
            return None  # convolution gradients lose XLA:CPU's fast path inside a scan
        size = _largest_activation_bytes(one, two) or 1
        fits = [d for d in range(1, local + 1)
                if local % d == 0 and d * size <= AUTO_MICROBATCH_BYTES]
        mb = max(fits, default=1)
        return None if mb == local else mb
    mb = check_positive_int("microbatch", microbatch)
    if local % mb:
        raise ValueError(f"`microbatch` {mb} must divide the per-device batch {local} "
                         f"(batch_size {batch_size} over {n_devices} device(s)).")
    return None if mb == local else mb


def _log(directory: pathlib.Path, history: dict) -> None:
    keys = list(history)
    rows = zip(*[history[k] for k in keys])
    tmp = directory / "metrics.csv.tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(keys)
        w.writerows(rows)
    tmp.replace(directory / "metrics.csv")
    tmp = directory / "metrics.json.tmp"
    tmp.write_text(json.dumps(history))
    tmp.replace(directory / "metrics.json")


def fit(model: eqx.Module, train, *, loss: Callable = relative_l2,
        optimizer: optax.GradientTransformation, epochs: int, batch_size: int, seed: int = 0,
        eval_sets: Mapping[str, Any] | None = None, eval_every: int = 1,
        early_stopping: int | None = None, checkpoint_dir: str | pathlib.Path | None = None,
        checkpoint_every: int = 1, resume: bool = False, config: dict | None = None,
        devices: Sequence | None = None, microbatch: int | str | None = "auto",
        progress: bool = False,
        max_epochs_this_call: int | None = None) -> tuple[eqx.Module, dict]:
    """Train `model` on the split `train`; returns ``(model, history)``.

    **Arguments:**
    - `model`: an equinox Module mapping one sample to one sample (e.g. an FNO, possibly
      wrapped in ``Normalized``); ``Normalizer`` leaves are frozen, and so is what a
      sub-model leaves out of its own ``trainable()`` spec (e.g. POD-DeepONet's basis); all
      other float arrays are trained. Frozen leaves get no optimiser state.
    - `train`: a ``pdekit.data`` split (``batches``, ``num_batches``, ``arrays``).
    - `loss`: ``loss(pred, y) -> scalar`` on batches (default mean relative L2).
    - `optimizer`: an optax transformation (schedules inside it count optimiser steps).
    - `epochs`: total epochs (a resumed run continues up to this number); `batch_size`;
      `seed`: sets the data order (``fold_in(key(seed), epoch)``) and the loop key.
    - `eval_sets`: ``{name: split}`` evaluated (mean relative L2) every `eval_every` epochs.
    - `early_stopping`: stop after this many evaluations without improvement of the first
      eval set (``None``: never).
    - `checkpoint_dir`: folder for ``checkpoint.{eqx,json}`` (every `checkpoint_every` epochs,
      at the end, and on ``KeyboardInterrupt``) and ``metrics.{csv,json}``.
    - `resume`: continue from the checkpoint in `checkpoint_dir`. Without it an existing
      checkpoint there is an error (never overwritten silently).
    - `config`: JSON-able model configuration, stored in and checked against checkpoints.
    - `devices`: shard each batch over these devices (data parallel; parameters replicated).
    - `microbatch`: compute each step's gradient as the mean over micro-batches of this many
      samples per device (a ``lax.scan``; the same gradient up to float summation order, when
      `loss` is a mean of per-sample terms, as every pdekit loss is). Smaller working sets stay
      in cache: faster on CPU for large grids. ``"auto"`` (default): on CPU sized from the
      model's largest activation (see :func:`resolve_microbatch`), whole batches on GPU/TPU;
      ``None``: whole batches. A resumed ``"auto"`` run keeps the checkpoint's choice.
    - `progress`: show a tqdm bar (loss, ETA). `max_epochs_this_call`: stop (with a
      checkpoint) after this many epochs in this call, e.g. to split a run into jobs.

    **Returns:** the trained model and ``history``: ``{"epoch": [...], "train_loss": [...],
    "time": [...] (wall s per epoch, evaluation excluded), "cpu_time": [...] (process CPU s),
    "<set>_rel_l2": [...]}`` (eval columns
    hold NaN on epochs without evaluation).

    **Raises:** ``ValueError`` for bad arguments (naming them), before any work.
    """
    epochs = check_positive_int("epochs", epochs)
    batch_size = check_positive_int("batch_size", batch_size)
    eval_every = check_positive_int("eval_every", eval_every)
    checkpoint_every = check_positive_int("checkpoint_every", checkpoint_every)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"`seed` must be an integer, got {seed!r}.")
    if early_stopping is not None:
        early_stopping = check_positive_int("early_stopping", early_stopping)
    if max_epochs_this_call is not None:
        max_epochs_this_call = check_positive_int("max_epochs_this_call", max_epochs_this_call)
    if not isinstance(optimizer, optax.GradientTransformation):
        raise ValueError(f"`optimizer` must be an optax GradientTransformation, got "
                         f"{type(optimizer).__name__}.")
    eval_sets = dict(eval_sets or {})
    if early_stopping is not None and not eval_sets:
        raise ValueError("`early_stopping` needs at least one entry in `eval_sets`.")
    n_batches = train.num_batches(batch_size)
    if n_batches == 0:
        raise ValueError(f"`batch_size` {batch_size} exceeds the {len(train)} training "
                         "samples (the last short batch is dropped).")
    sharding = None
    if devices is not None and len(devices) > 1:
        if batch_size % len(devices):
            raise ValueError(f"`batch_size` {batch_size} must be a multiple of the "
                             f"{len(devices)} devices.")
        mesh = jax.sharding.Mesh(np.asarray(devices), ("batch",))
        sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("batch"))
        replicated = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())
    if microbatch is not None and not (isinstance(microbatch, str) and microbatch == "auto"):
        resolve_microbatch(microbatch, model, train, batch_size, len(devices or [None]))
    ckpt = None
    if checkpoint_dir is not None:
        checkpoint_dir = pathlib.Path(checkpoint_dir)
        ckpt = checkpoint_dir / CHECKPOINT
        exists = ckpt.with_name(CHECKPOINT + ".json").exists()
        if exists and not resume:
            raise ValueError(f"`checkpoint_dir` '{checkpoint_dir}' already holds a checkpoint; "
                             "pass resume=True to continue it or choose another folder.")
    if resume and (ckpt is None or not ckpt.with_name(CHECKPOINT + ".json").exists()):
        raise ValueError("`resume=True` needs a `checkpoint_dir` holding a checkpoint.")

    params, static = eqx.partition(model, trainable(model))
    opt_state = optimizer.init(params)
    key = jax.random.key_data(jax.random.key(int(seed)))
    start = 0
    history: dict[str, list] = {"epoch": [], "train_loss": [], "time": [], "cpu_time": []}
    for name in eval_sets:
        history[f"{name}_rel_l2"] = []
    best, since_best = math.inf, 0
    if resume:
        header = read_header(ckpt)
        if header["state"].get("seed") != int(seed):
            raise ValueError(f"`seed` {seed} differs from the checkpoint's "
                             f"{header['state'].get('seed')}: the data order would change.")
        like = {"model": model, "opt_state": opt_state, "key": key}
        tree, state = load_checkpoint(ckpt, like, config=config)
        model, opt_state, key = tree["model"], tree["opt_state"], tree["key"]
        params, static = eqx.partition(model, trainable(model))
        start, history = int(state["epoch"]), state["history"]
        best, since_best = float(state["best"]), int(state["since_best"])
        if state.get("stopped"):
            return model, history
        if isinstance(microbatch, str):  # "auto": continue as the checkpointed run did
            microbatch = state.get("microbatch")
    if sharding is not None:
        params = jax.device_put(params, replicated)
        opt_state = jax.device_put(opt_state, replicated)
    microbatch = resolve_microbatch(microbatch, model, train, batch_size,
                                    1 if sharding is None else len(devices),
                                    backend=devices[0].platform if devices else None)
    step = _make_step(loss, optimizer, microbatch, sharding)

    def save(epoch, stopped=False):
        if ckpt is None:
            return
        m = eqx.combine(params, static)
        state = {"epoch": epoch, "seed": int(seed), "history": history, "best": best,
                 "since_best": since_best, "stopped": stopped, "batch_size": batch_size,
                 "epochs": epochs, "microbatch": microbatch}
        save_checkpoint(ckpt, {"model": m, "opt_state": opt_state, "key": key},
                        config=config, state=state)
        _log(checkpoint_dir, history)

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=epochs * n_batches, initial=start * n_batches, unit="batch",
                   desc="train", dynamic_ncols=True)
    stop_at = epochs if max_epochs_this_call is None else min(epochs,
                                                              start + max_epochs_this_call)
    epoch = start
    stopped = False
    done_params, done_opt, done_key = params, opt_state, key
    try:
        for epoch in range(start, stop_at):
            t0, c0 = time.perf_counter(), time.process_time()
            total = jnp.zeros((), jnp.result_type(float))
            for x, y in train.batches(batch_size, seed=int(seed), epoch=epoch):
                if sharding is not None:
                    x, y = jax.device_put(x, sharding), jax.device_put(y, sharding)
                params, opt_state, value = step(params, static, opt_state, x, y)
                total = total + value.astype(total.dtype)
                if bar is not None:
                    bar.update(1)
            mean_loss = float(total) / n_batches
            elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
            # the loop key advances once per epoch (reserved for stochastic models)
            key = jax.random.key_data(jax.random.split(jax.random.wrap_key_data(key))[0])
            row = {"epoch": epoch + 1, "train_loss": mean_loss, "time": elapsed, "cpu_time": cpu}
            do_eval = eval_sets and ((epoch + 1) % eval_every == 0 or epoch + 1 == epochs)
            m = eqx.combine(params, static)
            new_best, new_since = best, since_best
            for i, (name, split) in enumerate(eval_sets.items()):
                value = evaluate(m, split) if do_eval else math.nan
                row[f"{name}_rel_l2"] = value
                if i == 0 and do_eval:
                    new_best, new_since = (value, 0) if value < best else (best, since_best + 1)
            # commit the epoch (all at once, so an interrupt never leaves half an epoch)
            for k, v in row.items():
                history[k].append(v)
            best, since_best = new_best, new_since
            done_params, done_opt, done_key = params, opt_state, key
            if bar is not None:
                post = {"loss": f"{mean_loss:.3e}"}
                if do_eval:
                    first = next(iter(eval_sets))
                    post[first] = f"{row[first + '_rel_l2']:.3e}"
                bar.set_postfix(post)
            stopped = early_stopping is not None and since_best >= early_stopping
            if (epoch + 1) % checkpoint_every == 0 or epoch + 1 == stop_at or stopped:
                save(epoch + 1, stopped)
            if stopped:
                break
    except KeyboardInterrupt:
        # keep the last *completed* epoch: resuming from it reproduces the run bitwise
        params, opt_state, key = done_params, done_opt, done_key
        save(len(history["epoch"]))
        raise
    finally:
        if bar is not None:
            bar.close()
    return eqx.combine(params, static), history
