"""DeepONet learns the antiderivative operator G(u)(y) = int_0^y u(x) dx (Lu et al. 2021,
the paper's first example, Fig. 2): GRF inputs (RBF kernel, length scale 0.2) seen at 100
sensors, 150 training functions, outputs at the same 100 points (aligned data).

Trains a DeepONet (linear branch: the operator is linear; ReLU trunk, p = 40) and a
POD-DeepONet (the trunk replaced by the leading POD modes of the training outputs, computed
here with an SVD; in the CLI, ``pdekit.rom``'s POD builds them), both by full-batch Adam on
the squared relative L2, and reports the test relative L2 on 200 unseen functions with the
trainable parameter counts. CPU time: about 15 s. Writes ``<out>/deeponet_antiderivative.png``
(three test functions: input, truth, both predictions).

    python examples/deeponet_antiderivative.py [--steps 6000] [--n-train 150] [--out DIR]
"""

import argparse
import pathlib


def grf_antiderivative(n, *, seed, length_scale=0.2, num_sensors=100, fine=1000):
    """GRF samples u on [0, 1] (Cholesky of the RBF covariance on a fine grid) and their
    antiderivatives (cumulative trapezoid on the fine grid), both at `num_sensors` points."""
    import numpy as np
    from scipy.integrate import cumulative_trapezoid

    xf = np.linspace(0.0, 1.0, fine)
    cov = np.exp(-((xf[:, None] - xf[None]) ** 2) / (2 * length_scale**2))
    chol = np.linalg.cholesky(cov + 1e-10 * np.eye(fine))
    u = np.random.default_rng(seed).standard_normal((n, fine)) @ chol.T
    g = cumulative_trapezoid(u, xf, initial=0.0, axis=1)
    idx = np.linspace(0, fine - 1, num_sensors).astype(int)
    return xf[idx], u[:, None, idx], g[:, None, idx]


def train_full_batch(model, x, y, *, steps, lr, filter_spec):
    """Adam with cosine decay on the mean squared relative L2 over the whole training set,
    all steps in one jitted lax.scan (a tiny problem: per-step dispatch would dominate)."""
    import equinox as eqx
    import jax
    import jax.numpy as jnp
    import optax

    params, static = eqx.partition(model, filter_spec)
    opt = optax.adam(optax.cosine_decay_schedule(lr, steps, alpha=1e-2))

    def loss(p):
        pred = jax.vmap(eqx.combine(p, static))(x)
        return jnp.mean(jnp.sum((pred - y) ** 2, axis=(1, 2)) / jnp.sum(y**2, axis=(1, 2)))

    def step(carry, _):
        p, s = carry
        value, g = jax.value_and_grad(loss)(p)
        upd, s = opt.update(g, s, p)
        return (optax.apply_updates(p, upd), s), value

    # standard promotion: optax's Adam mixes its int step count with floats, which a strict
    # caller (the test suite) would reject
    with jax.numpy_dtype_promotion("standard"):
        (params, _), losses = jax.jit(lambda c: jax.lax.scan(step, c, length=steps))(
            (params, opt.init(params)))
    return eqx.combine(params, static), losses


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=150)
    parser.add_argument("--n-test", type=int, default=200)
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--pod-modes", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--x64", action="store_true", help="train in float64")
    parser.add_argument("--out", default="examples_out")
    args = parser.parse_args(argv)
    for name in ("n_train", "n_test", "steps", "pod_modes"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be >= 1.")
    import jax

    if args.x64:
        jax.config.update("jax_enable_x64", True)
    import equinox as eqx
    import jax.numpy as jnp
    import matplotlib.pyplot as plt
    import numpy as np

    from pdekit.operators import DeepONet, PODDeepONet, count_trainable

    pts, u, g = grf_antiderivative(args.n_train + args.n_test, seed=args.seed)
    dtype = jnp.float64 if args.x64 else jnp.float32
    x, y = jnp.asarray(u, dtype), jnp.asarray(g, dtype)
    xtr, ytr, xte, yte = x[:args.n_train], y[:args.n_train], x[args.n_train:], y[args.n_train:]

    def rel_l2(model):
        fwd = eqx.filter_jit(lambda m, x: jax.vmap(m)(x))
        pred = np.asarray(fwd(model, xte)).reshape(args.n_test, -1)
        true = np.asarray(yte).reshape(args.n_test, -1)
        return pred, float(np.mean(np.linalg.norm(pred - true, axis=1)
                                   / np.linalg.norm(true, axis=1)))

    don = DeepONet((1, pts.size), jnp.asarray(pts[:, None], dtype), num_basis=40, width=40,
                   branch_depth=0, trunk_depth=3, activation="relu", dtype=dtype,
                   key=jax.random.key(args.seed))
    don, _ = train_full_batch(don, xtr, ytr, steps=args.steps, lr=3e-3,
                              filter_spec=don.trainable())
    pred_don, err_don = rel_l2(don)

    y_np = np.asarray(ytr)[:, 0]
    mean = y_np.mean(axis=0)
    modes = np.linalg.svd(y_np - mean, full_matrices=False)[2][:args.pod_modes]
    pod = PODDeepONet((1, pts.size), modes, mean, branch_depth=0, dtype=dtype,
                      key=jax.random.key(args.seed + 1))
    pod, _ = train_full_batch(pod, xtr, ytr, steps=max(args.steps // 2, 1), lr=1e-2,
                              filter_spec=pod.trainable())
    pred_pod, err_pod = rel_l2(pod)

    rows = {"DeepONet": (err_don, count_trainable(don)),
            "POD-DeepONet": (err_pod, count_trainable(pod))}
    print(f"{'model':14s} {'test rel L2':>12s} {'trainable':>10s}")
    for name, (err, n) in rows.items():
        print(f"{name:14s} {err:12.3e} {n:10d}")

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4), constrained_layout=True)
    for ax, i in zip(axes, range(3)):
        ax.plot(pts, np.asarray(xte[i, 0]), color="0.6", lw=1, label="input u")
        ax.plot(pts, np.asarray(yte[i, 0]), "k", lw=2, label="G(u) exact")
        ax.plot(pts, pred_don[i], "C0--", label=f"DeepONet ({err_don:.1e})")
        ax.plot(pts, pred_pod[i], "C3:", lw=2, label=f"POD-DeepONet ({err_pod:.1e})")
        ax.set_xlabel("y")
        ax.set_title(f"test function {i}")
    axes[0].legend(fontsize=8)
    fig.suptitle(f"Antiderivative operator: {args.n_train} training functions, 100 sensors "
                 "(mean test relative L2 in the legend)")
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    fig.savefig(out / "deeponet_antiderivative.png", dpi=110)
    plt.close(fig)
    return {"rel_l2": {k: v[0] for k, v in rows.items()},
            "trainable": {k: v[1] for k, v in rows.items()}}


if __name__ == "__main__":
    main()
