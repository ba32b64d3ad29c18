"""``pdekit compare``: train several operators on one dataset under the same budget and compare.

    pdekit compare --data darcy.h5 --models fno,tfno,mgno,deeponet --budget 20 --out cmp/

Each model is wrapped in input/output normalisers fitted on the training split and trained by
``pdekit.training.fit`` with the same optimiser (Adam, cosine decay), batch size, epochs
(`--budget`) and seed. Prints one table (test relative L2 and H1, trainable parameters,
seconds per epoch after the first (compiling) epoch, inference time per sample) and writes
``<out>/compare.json``, ``<out>/compare.png`` (prediction and error of every model on one test
sample) and each trained model (``<out>/<name>.{eqx,json}``, ``pdekit.operators.load_model``).
"""

import argparse
import json
import pathlib
import time

from ._common import check_output_path

MODELS = ("fno", "tfno", "mgno", "deeponet", "pod-deeponet")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("compare", help="train several operators on one dataset and "
                              "compare them", description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="dataset file (pdekit datagen / generate)")
    p.add_argument("--models", default="fno,tfno,mgno,deeponet",
                   help=f"comma-separated subset of {','.join(MODELS)}")
    p.add_argument("--budget", type=int, default=20, help="training epochs per model")
    p.add_argument("--n-train", type=int, default=None, help="default: all but --n-test")
    p.add_argument("--n-test", type=int, default=None, help="default: 20%% of the samples")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--width", type=int, default=None,
                   help="hidden channels (default: FNO/TFNO 32, MgNO 24, DeepONet 128)")
    p.add_argument("--modes", type=int, default=12, help="Fourier modes per axis (FNO/TFNO)")
    p.add_argument("--pod-modes", type=int, default=32, help="basis size of pod-deeponet")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="output folder (never overwritten silently)")
    p.add_argument("--overwrite", action="store_true", help="allow replacing --out's files")
    p.add_argument("--x64", action="store_true", help="train in float64")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def _parse_models(text: str) -> list[str]:
    names = [m.strip().lower() for m in text.split(",") if m.strip()]
    bad = [m for m in names if m not in MODELS]
    if not names or bad:
        raise ValueError(f"--models must be a comma-separated subset of {','.join(MODELS)}, "
                         f"got {text!r}.")
    if len(set(names)) != len(names):
        raise ValueError(f"--models lists a model twice: {text!r}.")
    return names


def build(name, ds, train, args, key, dtype, y_normalizer=None):
    """The named operator for the dataset's shapes (Normalized by the caller)."""
    from ..operators import FNO, TFNO
    from ._build import build_deeponet, build_mgno, build_pod_deeponet, pod_basis

    spatial = ds.x_shape[1:]
    if name in ("fno", "tfno"):
        make = FNO if name == "fno" else TFNO
        modes = tuple(min(args.modes, n // 2) for n in spatial)
        return make(ds.x_shape[0], ds.y_shape[0], modes, args.width or 32, 4, key=key,
                    dtype=dtype)
    if name == "mgno":
        return build_mgno(ds, width=args.width or 24, layers=4, levels=None, padding="zeros",
                          key=key, dtype=dtype)
    if name == "deeponet":
        return build_deeponet(ds, width=args.width or 128, num_basis=64, branch=None, key=key,
                              dtype=dtype)
    # POD-DeepONet: POD modes (pdekit.rom) of the centred training outputs, per channel; the
    # CLI builds them so that pdekit.operators never imports pdekit.rom
    basis, mean, _ = pod_basis(train, y_normalizer, args.pod_modes)
    return build_pod_deeponet(ds, basis, mean, width=args.width or 128, branch=None, key=key,
                              dtype=dtype)


def compare_figure(x, y, preds: dict):
    """Input, truth, then each model's prediction and |error| (first channel) as a Figure."""
    import matplotlib.pyplot as plt
    import numpy as np

    n = len(preds)
    one_d = x.ndim == 2
    fig, axes = plt.subplots(2, n + 1, figsize=(3.2 * (n + 1), 6), constrained_layout=True,
                             squeeze=False)
    emax = max(float(np.abs(p[0] - y[0]).max()) for p in preds.values()) or 1.0

    def show(ax, img, title, cmap, **kw):
        if one_d:
            ax.plot(img)
        else:
            fig.colorbar(ax.imshow(img, origin="lower", cmap=cmap, **kw), ax=ax, shrink=0.8)
            ax.set_xticks([])
            ax.set_yticks([])
        ax.set_title(title, fontsize=9)

    show(axes[0, 0], x[0], "input", "viridis")
    show(axes[1, 0], y[0], "truth", "magma")
    vmin, vmax = float(y[0].min()), float(y[0].max())
    for j, (name, p) in enumerate(preds.items(), start=1):
        err = float(np.linalg.norm(p - y) / np.linalg.norm(y))
        show(axes[0, j], p[0], f"{name} ({err:.2e})", "magma",
             **({} if one_d else {"vmin": vmin, "vmax": vmax}))
        show(axes[1, j], np.abs(p[0] - y[0]), f"|error| {name}", "Reds",
             **({} if one_d else {"vmin": 0.0, "vmax": emax}))
    return fig


def run(args: argparse.Namespace) -> int:
    names = _parse_models(args.models)
    for opt in ("budget", "batch_size", "modes", "pod_modes"):
        if getattr(args, opt) < 1:
            raise ValueError(f"--{opt.replace('_', '-')} must be >= 1, got "
                             f"{getattr(args, opt)}.")
    if not args.lr > 0:
        raise ValueError(f"--lr must be > 0, got {args.lr}.")
    out = pathlib.Path(args.out)
    for f in ["compare.json", "compare.png"] + [f"{m}.{e}" for m in names for e in ("json", "eqx")]:
        check_output_path("--out", out / f, overwrite=args.overwrite)
    data = pathlib.Path(args.data)
    if not data.exists():
        raise ValueError(f"--data '{data}' does not exist.")

    import equinox as eqx
    import jax
    import jax.numpy as jnp
    import numpy as np
    import optax

    from ..data import Dataset
    from ..operators import count_trainable, save_model
    from ..training import Normalized, Normalizer, evaluate, fit, h1

    ds = Dataset(data)
    n_test = args.n_test or max(1, len(ds) // 5)
    n_train = args.n_train or len(ds) - n_test
    if n_train + n_test > len(ds):
        raise ValueError(f"--n-train {n_train} + --n-test {n_test} exceed the {len(ds)} "
                         "samples.")
    train, test = ds.split(n_train, n_test)
    # the models' dtype follows --x64 (data are cast to it), not the global JAX mode
    dtype = jnp.float64 if args.x64 else jnp.float32
    xn, yn = Normalizer.fit(train, dtype=dtype)
    periodic = "circular" in json.dumps(ds.meta.get("grid", {})) or \
        ds.meta.get("grid", {}).get("kind") == "periodic"
    domain = ds.meta.get("grid", {}).get("domain", [[0.0, 1.0]] * (len(ds.y_shape) - 1))
    lengths = [abs(b - a) for a, b in domain]

    def h1_metric(pred, y, reduce=True):
        return h1(pred, y, periodic=periodic, domain_length=lengths, reduce=reduce)

    steps = args.budget * train.num_batches(args.batch_size)
    xt, yt = test.arrays()
    rows, preds = {}, {}
    out.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names):
        key = jax.random.fold_in(jax.random.key(args.seed), i)
        model = Normalized(build(name, ds, train, args, key, dtype, yn), xn, yn)
        optimizer = optax.adam(optax.cosine_decay_schedule(args.lr, steps, alpha=1e-2))
        model, history = fit(model, train, optimizer=optimizer, epochs=args.budget,
                             batch_size=args.batch_size, seed=args.seed,
                             progress=not args.quiet)
        times = history["time"][1:] or history["time"]
        # the model is an argument, not a closure: its weights must not become constants
        fwd = eqx.filter_jit(lambda m, x: jax.vmap(m)(x))
        xb = jnp.asarray(xt[:args.batch_size])
        fwd(model, xb).block_until_ready()
        t0 = time.perf_counter()
        fwd(model, xb).block_until_ready()
        infer = (time.perf_counter() - t0) / len(xb)
        rows[name] = {
            "test_rel_l2": evaluate(model, test),
            "test_rel_h1": evaluate(model, test, metric=h1_metric),
            "n_params": count_trainable(model.model),
            "s_per_epoch": float(np.median(times)),
            "inference_s_per_sample": infer,
            "final_train_loss": history["train_loss"][-1],
        }
        preds[name] = np.asarray(fwd(model, jnp.asarray(xt[:1])))[0]
        save_model(out / name, model, overwrite=args.overwrite, extra=rows[name])

    fig = compare_figure(xt[0], yt[0], preds)
    fig.suptitle(f"{data.name}: {n_train} training / {n_test} test samples, "
                 f"{args.budget} epochs each (test sample 0; relative L2 in titles)")
    fig.savefig(out / "compare.png", dpi=100)
    import matplotlib.pyplot as plt

    plt.close(fig)
    result = {"data": str(data), "n_train": n_train, "n_test": n_test, "budget_epochs":
              args.budget, "batch_size": args.batch_size, "lr": args.lr, "seed": args.seed,
              "models": rows}
    (out / "compare.json").write_text(json.dumps(result, indent=2) + "\n")
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{'model':14s} {'rel L2':>9s} {'rel H1':>9s} {'params':>9s} {'s/epoch':>8s} "
              f"{'infer ms':>9s}")
        for name, r in rows.items():
            print(f"{name:14s} {r['test_rel_l2']:9.3e} {r['test_rel_h1']:9.3e} "
                  f"{r['n_params']:9d} {r['s_per_epoch']:8.2f} "
                  f"{1e3 * r['inference_s_per_sample']:9.3f}")
        print(f"wrote {out / 'compare.json'}, {out / 'compare.png'}")
    return 0
