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


@functools.lru_cache(maxsize=32)  # one compiled step per (loss, optimizer), across calls
def _make_step(loss: Callable, optimizer: optax.GradientTransformation):
    @eqx.filter_jit
    def step(params, static, opt_state, x, y):
        def loss_fn(p):
            model = eqx.combine(p, static)
            dtype = model_dtype(model)  # float32 data trains a float64 model (x64) unchanged
            return loss(apply_batch(model, x.astype(dtype)), y.astype(dtype))

        value, grads = eqx.filter_value_and_grad(loss_fn)(params)
        # optax mixes float and int32 scalars (Adam's bias correction `b1 ** count`), which
        # strict dtype promotion refuses; the model and the loss above stay strict
        with jax.numpy_dtype_promotion("standard"):
            updates, opt_state = optimizer.update(grads, opt_state, params)
        return eqx.apply_updates(params, updates), opt_state, value

    return step


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
        devices: Sequence | None = None, progress: bool = False,
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
    if sharding is not None:
        params = jax.device_put(params, replicated)
        opt_state = jax.device_put(opt_state, replicated)
    step = _make_step(loss, optimizer)

    def save(epoch, stopped=False):
        if ckpt is None:
            return
        m = eqx.combine(params, static)
        state = {"epoch": epoch, "seed": int(seed), "history": history, "best": best,
                 "since_best": since_best, "stopped": stopped, "batch_size": batch_size,
                 "epochs": epochs}
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
