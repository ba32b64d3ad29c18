"""fit: learning a known operator, bitwise resume, data parallelism, refused checkpoints."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from pdekit.operators import FNO, TFNO, MgNO, TuckerWeights, model_config
from pdekit.training import (
    Normalized,
    Normalizer,
    fit,
    load_checkpoint,
    read_header,
    resolve_microbatch,
    save_checkpoint,
)

from ._data import antiderivative_split, make_split


def _leaves_equal(a, b):
    la, lb = jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)
    return len(la) == len(lb) and all(np.array_equal(np.asarray(x), np.asarray(y))
                                      for x, y in zip(la, lb))


def _small(key, width=8):
    return FNO(1, 1, (6,), width=width, n_layers=2, channel_mlp=None, key=key)


@pytest.fixture(scope="module")
def data():
    return antiderivative_split(64, num_points=32, seed=0), antiderivative_split(16, 32, seed=1)


def test_fno_learns_the_antiderivative():
    """A 1D FNO learns v' = u (periodic, zero mean) to < 1e-2 relative L2 on unseen inputs."""
    train, test = antiderivative_split(128, seed=0), antiderivative_split(32, seed=1)
    model = FNO(1, 1, (8,), width=16, n_layers=2, key=jax.random.key(0))
    opt = optax.adam(optax.cosine_decay_schedule(1e-2, 40 * 8))
    model, hist = fit(model, train, optimizer=opt, epochs=40, batch_size=16, seed=0,
                      eval_sets={"test": test}, eval_every=20)
    assert hist["test_rel_l2"][-1] < 1e-2, hist["test_rel_l2"]
    assert hist["train_loss"][-1] < hist["train_loss"][0] / 10


class _Interrupting:
    """A split that raises KeyboardInterrupt in the middle of epoch `at`."""

    def __init__(self, split, at):
        self.split, self.at = split, at

    def __getattr__(self, name):
        return getattr(self.split, name)

    def __len__(self):
        return len(self.split)

    def batches(self, batch_size, *, seed, epoch, drop_last=True):
        for i, b in enumerate(self.split.batches(batch_size, seed=seed, epoch=epoch)):
            if epoch == self.at and i == 1:
                raise KeyboardInterrupt
            yield b


def test_resume_after_interruption_is_bitwise(tmp_path, data):
    """Also with micro-batches: the resumed ``microbatch="auto"`` run takes the checkpoint's 8
    (the tiny model alone would get whole batches), so it continues bitwise."""
    train, test = data
    kw = dict(optimizer=optax.adam(1e-3), epochs=4, batch_size=16, seed=3,
              eval_sets={"test": test})
    full, h_full = fit(_small(jax.random.key(1)), train, checkpoint_dir=tmp_path / "a",
                       microbatch=8, **kw)
    with pytest.raises(KeyboardInterrupt):
        fit(_small(jax.random.key(1)), _Interrupting(train, 2), checkpoint_dir=tmp_path / "b",
            microbatch=8, **kw)
    assert read_header(tmp_path / "b" / "checkpoint")["state"]["microbatch"] == 8
    with pytest.raises(ValueError, match="resume"):  # never overwritten silently
        fit(_small(jax.random.key(1)), train, checkpoint_dir=tmp_path / "b", **kw)
    resumed, h_res = fit(_small(jax.random.key(7)), train, checkpoint_dir=tmp_path / "b",
                         resume=True, **kw)
    assert _leaves_equal(full, resumed)
    assert h_full["train_loss"] == h_res["train_loss"]
    assert h_full["test_rel_l2"] == h_res["test_rel_l2"]
    assert (tmp_path / "b" / "metrics.csv").read_text().count("\n") == 5


def test_four_devices_equal_one(data):
    devices = jax.devices()
    assert len(devices) >= 4, "tests/conftest.py forces 4 host devices"
    train, _ = data
    kw = dict(optimizer=optax.adam(1e-3), epochs=2, batch_size=16, seed=0)
    one, h1 = fit(_small(jax.random.key(2)), train, **kw)
    four, h4 = fit(_small(jax.random.key(2)), train, devices=devices[:4], **kw)
    for a, b in zip(jax.tree_util.tree_leaves(one), jax.tree_util.tree_leaves(four)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(h1["train_loss"], h4["train_loss"], rtol=1e-12)


def _tfno(implementation="factorized"):
    # a joint Tucker TFNO; "reconstructed": micro-batching expands its factors once per step
    # and pulls the accumulated gradient back to them, so that path is covered too
    return TFNO(1, 1, (6,), width=8, n_layers=2, channel_mlp=None, joint=True,
                factorization=TuckerWeights(0.5), implementation=implementation,
                key=jax.random.key(4))


def _assert_same_training(ref, h_ref, got, h):
    for a, b in zip(jax.tree_util.tree_leaves(ref), jax.tree_util.tree_leaves(got)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(h_ref["train_loss"], h["train_loss"], rtol=1e-12)


MICRO_KW = dict(optimizer=optax.adam(1e-2), epochs=1, batch_size=16, seed=0)


@pytest.mark.parametrize("implementation", [
    "factorized", pytest.param("reconstructed", marks=pytest.mark.slow)])
def test_microbatches_equal_whole_batches(data, implementation):
    """Gradient accumulation over micro-batches trains the same model as whole batches, to
    float64 round-off."""
    train, _ = data
    ref, h_ref = fit(_tfno(implementation), train, microbatch=None, **MICRO_KW)
    _assert_same_training(ref, h_ref, *fit(_tfno(implementation), train, microbatch=4,
                                           **MICRO_KW))


@pytest.mark.slow
def test_microbatches_inside_device_shards(data):
    """Sharded over 4 devices, micro-batches of 2 inside each shard: same as one device."""
    train, _ = data
    ref, h_ref = fit(_tfno(), train, microbatch=None, **MICRO_KW)
    _assert_same_training(ref, h_ref, *fit(_tfno(), train, microbatch=2,
                                           devices=jax.devices()[:4], **MICRO_KW))


def test_resolve_microbatch(data):
    train, _ = data
    tiny = _small(jax.random.key(0))
    assert resolve_microbatch("auto", tiny, train, 16) is None  # fits in cache: whole batch
    assert resolve_microbatch(8, tiny, train, 16) == 8
    assert resolve_microbatch(16, tiny, train, 16) is None
    # abstract (shape-only) model: resolving only traces, and building the weights would
    # cost seconds of eager compilation
    big = eqx.filter_eval_shape(lambda: FNO(1, 1, (4, 4), width=32, n_layers=1,
                                            key=jax.random.key(0)))
    grid = make_split(np.zeros((16, 1, 64, 64)), np.zeros((16, 1, 64, 64)))
    # the lifting's 64 hidden channels: 64 * 64**2 float64 = 2 MiB per sample
    assert resolve_microbatch("auto", big, grid, 16) == 1
    assert resolve_microbatch("auto", big, grid, 16, backend="gpu") is None
    # convolutions differentiated by XLA's own rules keep whole batches under "auto" (their
    # gradients are slow inside the scan on CPU); MgNO's carry a custom VJP, so its batch is
    # split by size (8 channels x 64^2 float64 = 256 KiB per sample: 8 fit in 2 MiB)
    cnn = eqx.nn.Conv2d(1, 1, 3, padding=1, key=jax.random.key(0))
    assert resolve_microbatch("auto", cnn, grid, 16) is None
    conv = MgNO(1, 1, width=8, num_layers=1, levels=2, key=jax.random.key(0))
    assert resolve_microbatch("auto", conv, grid, 16) == 8
    assert resolve_microbatch(4, conv, grid, 16) == 4
    for bad, match in (("fast", "'auto'"), (0, ">= 1"), (5, "divide the per-device batch 16")):
        with pytest.raises(ValueError, match="microbatch"):
            resolve_microbatch(bad, tiny, train, 16)
        with pytest.raises(ValueError, match=match):
            fit(tiny, train, optimizer=optax.adam(1e-3), epochs=1, batch_size=16,
                microbatch=bad)
    with pytest.raises(ValueError, match="per-device batch 4"):
        fit(tiny, train, optimizer=optax.adam(1e-3), epochs=1, batch_size=16, microbatch=3,
            devices=jax.devices()[:4])


def test_mismatched_checkpoint_is_refused(tmp_path):
    small = _small(jax.random.key(0), width=8)
    save_checkpoint(tmp_path / "m", small, config=model_config(small))
    other = _small(jax.random.key(0), width=12)
    with pytest.raises(ValueError, match="width: checkpoint 8, model 12"):
        load_checkpoint(tmp_path / "m", other, config=model_config(other))
    with pytest.raises(ValueError, match="shape"):  # without configs: the leaf signature
        load_checkpoint(tmp_path / "m", other)
    back, _ = load_checkpoint(tmp_path / "m", small, config=model_config(small))
    assert _leaves_equal(back, small)


def test_normalizers_are_fitted_frozen_and_saved(tmp_path, data):
    train, _ = data
    xn, yn = Normalizer.fit(train)
    x, y = train.arrays()
    np.testing.assert_allclose(np.asarray(xn.mean).ravel(), [x.mean()], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(np.asarray(yn.std).ravel(), [y.std()], rtol=1e-12)
    u = jnp.asarray(x[0])
    np.testing.assert_allclose(xn.decode(xn.encode(u)), u, atol=1e-12)
    model = Normalized(_small(jax.random.key(0)), xn, yn)
    trained, _ = fit(model, train, optimizer=optax.adamw(1e-3, weight_decay=0.1), epochs=1,
                     batch_size=32, checkpoint_dir=tmp_path, config=model_config(model))
    assert _leaves_equal(trained.x_normalizer, xn) and _leaves_equal(trained.y_normalizer, yn)
    assert not _leaves_equal(trained.model, model.model)


def test_bad_arguments(data):
    train, test = data
    m = _small(jax.random.key(0))
    opt = optax.adam(1e-3)
    with pytest.raises(ValueError, match="epochs"):
        fit(m, train, optimizer=opt, epochs=0, batch_size=8)
    with pytest.raises(ValueError, match="batch_size"):
        fit(m, train, optimizer=opt, epochs=1, batch_size=1000)
    with pytest.raises(ValueError, match="optimizer"):
        fit(m, train, optimizer="adam", epochs=1, batch_size=8)
    with pytest.raises(ValueError, match="early_stopping"):
        fit(m, train, optimizer=opt, epochs=1, batch_size=8, early_stopping=2)
    with pytest.raises(ValueError, match="resume"):
        fit(m, train, optimizer=opt, epochs=1, batch_size=8, resume=True)
    with pytest.raises(ValueError, match="devices"):
        fit(m, train, optimizer=opt, epochs=1, batch_size=6, devices=jax.devices()[:4])


def test_early_stopping(data):
    train, test = data
    # a zero learning rate never improves: stops after `early_stopping` + 1 evaluations
    _, hist = fit(_small(jax.random.key(0)), train, optimizer=optax.sgd(0.0), epochs=10,
                  batch_size=32, eval_sets={"test": test}, early_stopping=2)
    assert len(hist["epoch"]) == 3


def test_float32_smoke(float32):
    x = np.random.default_rng(0).standard_normal((16, 1, 16)).astype(np.float32)
    split = make_split(x, np.cumsum(x, axis=-1) / 16)
    model = FNO(1, 1, (4,), width=4, n_layers=1, key=jax.random.key(0))
    model, hist = fit(model, split, optimizer=optax.adam(1e-3), epochs=1, batch_size=8)
    assert jax.tree_util.tree_leaves(model)[0].dtype == jnp.float32
    assert np.isfinite(hist["train_loss"][0])


class _FixedBasis(eqx.Module):
    """u -> basis^T (w u + b): a fixed basis (frozen through `trainable`) and a trained map."""

    w: jax.Array
    b: jax.Array
    basis: jax.Array

    def __call__(self, u):
        return (self.basis.T @ (self.w @ u[0] + self.b))[None]

    def trainable(self):
        spec = jax.tree_util.tree_map(eqx.is_inexact_array, self)
        return eqx.tree_at(lambda m: m.basis, spec, replace=False)


def test_fit_trains_only_what_trainable_names(tmp_path, data):
    """A model's own `trainable()` spec is honoured (also inside Normalized): the frozen leaf is
    untouched and the optimiser state holds no slot for it."""
    train, _ = data
    n = train.x_shape[-1]
    k = jax.random.split(jax.random.key(0), 3)
    inner = _FixedBasis(0.1 * jax.random.normal(k[0], (4, n)), jnp.zeros(4),
                        jax.random.normal(k[1], (4, n)))
    model = Normalized(inner, None, None)
    trained, _ = fit(model, train, optimizer=optax.adam(1e-2), epochs=1, batch_size=32,
                     checkpoint_dir=tmp_path)
    assert np.array_equal(np.asarray(trained.model.basis), np.asarray(inner.basis))
    assert not np.array_equal(np.asarray(trained.model.w), np.asarray(inner.w))
    leaves = read_header(tmp_path / "checkpoint")["leaves"]
    slots = [p for p, _, _ in leaves if p.startswith("['opt_state']")]
    assert slots and not any("basis" in p for p in slots), slots
    assert sum("mu" in p for p in slots) == 2  # Adam's first moment for w and b only
