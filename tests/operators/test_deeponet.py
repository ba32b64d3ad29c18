"""DeepONet / POD-DeepONet: the antiderivative operator (Lu et al. 2021, first example),
the branch-trunk product against a hand-written loop, aligned vs unaligned evaluation."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from scipy.integrate import cumulative_trapezoid

from pdekit.operators import DeepONet, PODDeepONet, count_trainable


def antiderivative_data(n_functions, *, seed=0, length_scale=0.2, num_sensors=100):
    """GRF inputs u (RBF kernel) on [0, 1] and G(u)(y) = int_0^y u, both at the sensors."""
    rng = np.random.default_rng(seed)
    xf = np.linspace(0.0, 1.0, 1000)
    cov = np.exp(-((xf[:, None] - xf[None]) ** 2) / (2 * length_scale**2))
    chol = np.linalg.cholesky(cov + 1e-10 * np.eye(xf.size))
    u = rng.standard_normal((n_functions, xf.size)) @ chol.T
    g = cumulative_trapezoid(u, xf, initial=0.0, axis=1)
    idx = np.linspace(0, xf.size - 1, num_sensors).astype(int)
    return xf[idx], u[:, None, idx], g[:, None, idx]


def rel_l2(pred, true):
    pred, true = np.asarray(pred).reshape(len(true), -1), np.asarray(true).reshape(len(true), -1)
    return float(np.mean(np.linalg.norm(pred - true, axis=1) / np.linalg.norm(true, axis=1)))


def train(model, x, y, steps, lr, filter_spec):
    """Full-batch Adam on the mean squared relative L2, as one lax.scan."""
    params, static = eqx.partition(model, filter_spec)
    opt = optax.adam(optax.cosine_decay_schedule(lr, steps, alpha=1e-2))

    def loss(p):
        pred = jax.vmap(eqx.combine(p, static))(x)
        return jnp.mean(jnp.sum((pred - y) ** 2, axis=(1, 2)) / jnp.sum(y**2, axis=(1, 2)))

    def step(carry, _):
        p, s = carry
        g = jax.grad(loss)(p)
        upd, s = opt.update(g, s, p)
        return (optax.apply_updates(p, upd), s), None

    # optax's Adam bias correction mixes int and float: not allowed by the strict mode of
    # the test suite, so the loop runs under standard promotion.
    with jax.numpy_dtype_promotion("standard"):
        (params, _), _ = jax.jit(lambda c: jax.lax.scan(step, c, length=steps))(
            (params, opt.init(params)))
    return eqx.combine(params, static)


def test_learns_the_antiderivative(getkey):
    """150 GRF training functions, 100 sensors: test relative L2 < 1e-2 (the operator is
    linear, so the branch is a linear layer, `branch_depth=0`; the trunk is a ReLU MLP)."""
    y_pts, u, g = antiderivative_data(150 + 200)
    x, y = jnp.asarray(u), jnp.asarray(g)
    model = DeepONet((1, 100), jnp.asarray(y_pts)[:, None], num_basis=40, width=40,
                     branch_depth=0, trunk_depth=3, activation="relu", key=jax.random.key(0))
    model = train(model, x[:150], y[:150], steps=6000, lr=3e-3, filter_spec=model.trainable())
    err = rel_l2(eqx.filter_jit(lambda m, x: jax.vmap(m)(x))(model, x[150:]), y[150:])
    print(f"antiderivative DeepONet test rel L2 {err:.2e}")
    assert err < 1e-2, err

    # POD-DeepONet: the trunk replaced by the leading POD modes of the training outputs
    # (plain SVD here; in pdekit the caller builds them with pdekit.rom), fewer parameters.
    ytr = np.asarray(g[:150, 0])
    mean = ytr.mean(axis=0)
    _, _, vt = np.linalg.svd(ytr - mean, full_matrices=False)
    pod = PODDeepONet((1, 100), vt[:12], mean, branch_depth=0, key=jax.random.key(1))
    pod = train(pod, x[:150], y[:150], steps=3000, lr=1e-2, filter_spec=pod.trainable())
    err_pod = rel_l2(eqx.filter_jit(lambda m, x: jax.vmap(m)(x))(pod, x[150:]), y[150:])
    print(f"antiderivative POD-DeepONet test rel L2 {err_pod:.2e}")
    assert err_pod < 1e-2, err_pod
    assert count_trainable(pod) < count_trainable(model)
    assert count_trainable(pod) == 100 * 12 + 12 + 1  # linear branch + bias
    # linear branch 100 -> 40, trunk 1 -> 40 -> 40 -> 40 -> 40, bias; not the 100 coords
    assert count_trainable(model) == 4040 + 80 + 3 * 1640 + 1


def test_product_matches_loop_and_aligned_equals_unaligned(getkey):
    k, p = 2, 5
    coords = jnp.stack(jnp.meshgrid(jnp.linspace(0, 1, 4), jnp.linspace(0, 1, 3),
                                    indexing="ij"), axis=-1)
    model = DeepONet((2, 7), coords, num_basis=p, num_outputs=k, width=8, key=getkey())
    model = eqx.tree_at(lambda m: m.bias, model, jnp.array([0.3, -0.2]))
    xs = jax.random.normal(getkey(), (3, 2, 7))
    pts = coords.reshape(-1, 2)

    @eqx.filter_jit
    def parts(m, xs, pts):
        return (jax.vmap(m)(xs), jax.vmap(lambda x: m.branch(x.reshape(-1)))(xs),
                jax.vmap(m.trunk)(pts))

    out, bs, ts = parts(model, xs, pts)
    assert out.shape == (3, k, 4, 3)
    bs, ts = np.asarray(bs).reshape(3, k, p), np.asarray(ts).reshape(-1, k, p)
    for s in range(3):
        for n in range(len(pts)):
            for j in range(k):
                expect = sum(bs[s, j, i] * ts[n, j, i] for i in range(p)) + float(model.bias[j])
                np.testing.assert_allclose(out[s, j].reshape(-1)[n], expect, rtol=1e-12)
    # arbitrary query points: aligned (one set, trunk once) vs unaligned (one set per sample)
    q = jax.random.uniform(getkey(), (6, 2))
    run = eqx.filter_jit(lambda m, x, q: jax.vmap(m, in_axes=(0, None))(x, q))
    aligned = lambda x, q: run(model, x, q)  # noqa: E731
    unaligned = eqx.filter_jit(lambda m, x, q: jax.vmap(m)(x, q))(
        model, xs, jnp.broadcast_to(q, (3, 6, 2)))
    assert aligned(xs, q).shape == (3, k, 6)
    np.testing.assert_allclose(aligned(xs, q), unaligned, rtol=1e-12)
    np.testing.assert_allclose(aligned(xs, pts), out.reshape(3, k, -1), rtol=1e-12)


def test_stacked_and_cnn_branches(getkey):
    stacked = DeepONet((1, 10), 1, num_basis=4, width=6, branch_depth=1, stacked=True,
                       key=getkey())
    x = jax.random.normal(getkey(), (1, 10))
    q = jnp.linspace(0, 1, 5)[:, None]
    nets = stacked.branch.nets  # p scalar MLPs stored with a leading axis

    def one(i, x):  # the i-th branch net by hand
        h = x.reshape(-1)
        for layer, (w, b) in enumerate(zip(nets.weights, nets.biases)):
            h = w[i] @ h + b[i]
            h = jnp.tanh(h) if layer < len(nets.weights) - 1 else h
        return h[0]

    @eqx.filter_jit
    def both(m, x, q):
        coeffs = jnp.stack([one(i, x) for i in range(4)])
        return m(x, q)[0], jax.vmap(m.trunk)(q) @ coeffs

    got, expect = both(stacked, x, q)
    np.testing.assert_allclose(got, expect, rtol=1e-12)
    # unstacked: one net with p outputs has fewer parameters than p nets
    flat = DeepONet((1, 10), 1, num_basis=4, width=6, branch_depth=1, key=getkey())
    assert count_trainable(stacked) > count_trainable(flat)
    cnn = DeepONet((1, 32, 32), 2, num_basis=8, width=16, branch="cnn", key=getkey())
    out = eqx.filter_jit(lambda m, x, q: m(x, q))(cnn, jnp.ones((1, 32, 32)),
                                                 jnp.zeros((7, 2)))
    assert out.shape == (1, 7)


def test_gradients_reach_trainable_parameters_only(getkey):
    model = DeepONet((1, 8), 1, num_basis=3, width=5, num_outputs=2, key=getkey())
    x, q = jax.random.normal(getkey(), (1, 8)), jnp.linspace(0, 1, 4)[:, None]
    grads = eqx.filter_jit(eqx.filter_grad(lambda m: jnp.sum(m(x, q) ** 2)))(model)
    assert all(float(jnp.max(jnp.abs(g))) > 0 for g in jax.tree_util.tree_leaves(grads))
    gridded = DeepONet((1, 8), q, num_basis=3, width=5, key=getkey())
    g = eqx.filter_jit(eqx.filter_grad(lambda m: jnp.sum(m(x) ** 2)))(gridded)
    assert float(jnp.max(jnp.abs(g.coords))) == 0.0
    assert count_trainable(gridded) == count_trainable(
        DeepONet((1, 8), 1, num_basis=3, width=5, key=getkey()))
    pod = PODDeepONet((1, 8), jax.random.normal(getkey(), (3, 4)), jnp.ones(4), width=5,
                      key=getkey())
    g = eqx.filter_jit(eqx.filter_grad(lambda m: jnp.sum(m(x) ** 2)))(pod)
    assert float(jnp.max(jnp.abs(g.basis))) == 0.0 and float(jnp.max(jnp.abs(g.mean))) == 0
    assert all(float(jnp.max(jnp.abs(a))) > 0
               for a in jax.tree_util.tree_leaves(eqx.filter(g, pod.trainable())))


@pytest.mark.parametrize("kwargs, match", [
    (dict(num_basis=0), "num_basis"), (dict(branch="fno"), "branch"),
    (dict(activation="elu"), "activation"), (dict(width=-1), "width"),
    (dict(branch="cnn", stacked=True), "stacked"),
])
def test_bad_arguments_are_named(kwargs, match, getkey):
    with pytest.raises(ValueError, match=match):
        DeepONet((1, 16), 1, key=getkey(), **kwargs)


def test_bad_inputs_are_named(getkey):
    with pytest.raises(ValueError, match="in_shape"):
        DeepONet((16,), 1, key=getkey())
    with pytest.raises(ValueError, match="basis"):
        PODDeepONet((1, 4), np.ones(5), key=getkey())
    with pytest.raises(ValueError, match="mean"):
        PODDeepONet((1, 4), np.ones((2, 5)), np.ones(4), key=getkey())
    model = DeepONet((1, 4), 1, num_basis=2, width=3, key=getkey())
    with pytest.raises(ValueError, match="points"):
        model(jnp.ones((1, 4)))
    with pytest.raises(ValueError, match="jax.vmap"):
        model(jnp.ones((2, 1, 4)), jnp.zeros((3, 1)))
    with pytest.raises(ValueError, match=r"\(n, 1\)"):
        model(jnp.ones((1, 4)), jnp.zeros((3, 2)))


def test_float32_smoke(float32, getkey):
    model = DeepONet((1, 8), jnp.linspace(0, 1, 5, dtype=jnp.float32)[:, None], num_basis=3,
                     width=5, key=getkey())
    out = eqx.filter_jit(lambda m, x: m(x))(model, jnp.ones((1, 8), jnp.float32))
    assert out.shape == (1, 5) and out.dtype == jnp.float32


def test_antiderivative_example_smoke(tmp_path):
    from tests.helpers import example_main

    out = example_main("deeponet_antiderivative")(
        ["--steps", "200", "--n-train", "20", "--n-test", "10", "--out", str(tmp_path)])
    assert out["trainable"]["DeepONet"] == 4040 + 80 + 3 * 1640 + 1
    assert out["trainable"]["POD-DeepONet"] == 100 * 12 + 12 + 1
    assert all(0 < e < 1 for e in out["rel_l2"].values())
    assert (tmp_path / "deeponet_antiderivative.png").stat().st_size > 10_000


def test_save_load_roundtrip_is_bit_identical(tmp_path, getkey):
    from pdekit.operators import load_model, save_model

    coords = jnp.linspace(0, 1, 6)[:, None]
    models = [DeepONet((1, 8), coords, num_basis=3, width=5, stacked=True, key=getkey()),
              DeepONet((1, 16, 16), 2, num_basis=3, width=8, branch="cnn", key=getkey()),
              PODDeepONet((1, 8), jax.random.normal(getkey(), (2, 3, 6)), jnp.ones((2, 6)),
                          num_outputs=2, width=5, key=getkey())]
    for i, model in enumerate(models):
        save_model(tmp_path / f"m{i}", model)
        back, _ = load_model(tmp_path / f"m{i}")
        assert back.config == model.config
        la, lb = jax.tree_util.tree_leaves(model), jax.tree_util.tree_leaves(back)
        assert len(la) == len(lb) and all(np.array_equal(a, b) for a, b in zip(la, lb))
