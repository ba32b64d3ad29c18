"""``pdekit compare``: train several operators on one dataset under the same budget and compare.

    pdekit compare --data darcy.h5 --models fno,tfno,mgno,deeponet --budget 20 --out cmp/

Each model is wrapped in input/output normalisers fitted on the training split and trained by
``pdekit.training.fit`` with the same recipe: optimiser (Adam; `--schedule` cosine decay,
one-cycle or step decay; `--weight-decay` as an L2 penalty on the gradient, as PyTorch's Adam),
training loss (`--loss` relative L2 or H1), batch size, epochs (`--budget`) and seed. Prints
one table (test relative L2 and H1, trainable parameters, seconds per epoch after the first
(compiling) epoch, inference time per sample) and writes ``<out>/compare.json`` (the table,
the recipe and each model's learning curve), ``<out>/compare.png`` (prediction and error of
every model on one test sample), ``<out>/curves.png`` (training loss and, with
`--eval-every`, test relative L2 against epochs) and each trained model
(``<out>/<name>.{eqx,json}``, ``pdekit.operators.load_model``). Training checkpoints go to
``<out>/checkpoints/<name>/``; `--resume` continues an interrupted run from them.
"""

import argparse
import json
import math
import pathlib
import shutil
import time

from ._common import check_output_path

MODELS = ("fno", "tfno", "mgno", "deeponet", "pod-deeponet")
LOSSES = ("l2", "h1")
SCHEDULES = ("cosine", "onecycle", "step")


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
    p.add_argument("--lr", type=float, default=2e-3, help="(peak) learning rate")
    p.add_argument("--schedule", choices=SCHEDULES, default="cosine",
                   help="cosine: decay to lr/100 (default); onecycle: the MgNO code's "
                   "(lr/2 -> lr over 20%% of the steps -> lr/200, cosine); step: halve every "
                   "budget/5 epochs (the FNO paper's 100 of 500)")
    p.add_argument("--weight-decay", type=float, default=0.0,
                   help="L2 penalty added to the gradient before Adam (PyTorch Adam's "
                   "weight_decay; both reference codes use 1e-4)")
    p.add_argument("--loss", choices=LOSSES, default="l2",
                   help="training loss: relative L2 (default) or relative H1 (derivatives "
                   "per domain length / 2 pi, the MgNO code's weighting)")
    p.add_argument("--normalizer", choices=("channel", "pointwise"), default="channel",
                   help="normaliser statistics: per channel (default) or per grid point "
                   "(the FNO code's; ties the model to the grid)")
    p.add_argument("--eval-every", type=int, default=0,
                   help="record the test relative L2 every N epochs (learning curves; "
                   "default 0: at the end only)")
    p.add_argument("--levels", type=int, default=None,
                   help="MgNO V-cycle levels (default: halve the grid to >= 2 points, at most 6)")
    p.add_argument("--width", type=int, default=None,
                   help="hidden channels (default: FNO/TFNO 32, MgNO 24, DeepONet 128)")
    p.add_argument("--modes", type=int, default=12, help="Fourier modes per axis (FNO/TFNO)")
    p.add_argument("--padding", type=float, default=0.0,
                   help="FNO/TFNO domain padding, a fraction of the resolution (default 0; "
                   "the FNO code pads non-periodic Darcy by about 0.1)")
    p.add_argument("--pod-modes", type=int, default=32, help="basis size of pod-deeponet")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="output folder (never overwritten silently)")
    p.add_argument("--overwrite", action="store_true", help="allow replacing --out's files")
    p.add_argument("--resume", action="store_true",
                   help="continue from the checkpoints in --out/checkpoints (same recipe)")
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
        return make(ds.x_shape[0], ds.y_shape[0], modes, args.width or 32, 4,
                    padding=args.padding, key=key, dtype=dtype)
    if name == "mgno":
        return build_mgno(ds, width=args.width or 24, layers=4, levels=args.levels,
                          padding="zeros", key=key, dtype=dtype)
    if name == "deeponet":
        return build_deeponet(ds, width=args.width or 128, num_basis=64, branch=None, key=key,
                              dtype=dtype)
    # POD-DeepONet: POD modes (pdekit.rom) of the centred training outputs, per channel; the
    # CLI builds them so that pdekit.operators never imports pdekit.rom
    basis, mean, _ = pod_basis(train, y_normalizer, args.pod_modes)
    return build_pod_deeponet(ds, basis, mean, width=args.width or 128, branch=None, key=key,
                              dtype=dtype)


def make_optimizer(args, steps_per_epoch: int):
    """The optax optimiser of the recipe: Adam under `--schedule`, `--weight-decay` as an L2
    penalty added to the gradient first (PyTorch Adam's ``weight_decay``)."""
    import optax

    steps = args.budget * steps_per_epoch
    if args.schedule == "onecycle":
        lr = optax.cosine_onecycle_schedule(steps, args.lr, pct_start=0.2, div_factor=2.0,
                                            final_div_factor=100.0)
    elif args.schedule == "step":
        every = max(1, args.budget // 5) * steps_per_epoch
        lr = optax.exponential_decay(args.lr, every, 0.5, staircase=True)
    else:
        lr = optax.cosine_decay_schedule(args.lr, steps, alpha=1e-2)
    adam = optax.adam(lr)
    if args.weight_decay:
        return optax.chain(optax.add_decayed_weights(args.weight_decay), adam)
    return adam


def curves_figure(histories: dict, loss: str = "l2"):
    """Training loss (dashed) and test relative L2 (solid, where evaluated) against epochs,
    one colour per model, as a Figure. `histories`: ``{name: history}`` as in compare.json."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2), constrained_layout=True)
    for j, (name, h) in enumerate(histories.items()):
        c = f"C{j}"
        ax.semilogy(h["epoch"], h["train_loss"], "--", color=c, lw=1,
                    label=f"{name} train ({loss})")
        pts = [(e, v) for e, v in zip(h["epoch"], h.get("test_rel_l2", []))
               if v is not None and not math.isnan(v)]
        if pts:
            ax.semilogy(*zip(*pts), "-o", color=c, ms=2.5, label=f"{name} test rel. L2")
    ax.set_xlabel("epoch")
    ax.set_ylabel("relative error")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def _plain(history: dict) -> dict:
    """A history with NaN (epochs without evaluation) as None, so compare.json is strict JSON."""
    return {k: [None if isinstance(v, float) and math.isnan(v) else v for v in vals]
            for k, vals in history.items()}


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
    if not args.weight_decay >= 0:
        raise ValueError(f"--weight-decay must be >= 0, got {args.weight_decay}.")
    if args.eval_every < 0:
        raise ValueError(f"--eval-every must be >= 0, got {args.eval_every}.")
    if args.levels is not None and args.levels < 1:
        raise ValueError(f"--levels must be >= 1, got {args.levels}.")
    if not 0 <= args.padding < 1:
        raise ValueError(f"--padding is a fraction of the resolution in [0, 1), got "
                         f"{args.padding}.")
    if args.padding and not {"fno", "tfno"} & set(names):
        raise ValueError("--padding applies to fno/tfno only, which --models does not list.")
    if args.levels is not None and "mgno" not in names:
        raise ValueError("--levels applies to mgno only, which --models does not list.")
    out = pathlib.Path(args.out)
    ckpts = {m: out / "checkpoints" / m for m in names}
    files = ["compare.json", "compare.png", "curves.png"]
    files += [f"{m}.{e}" for m in names for e in ("json", "eqx")]
    for f in files:
        check_output_path("--out", out / f, overwrite=args.overwrite or args.resume)
    if not args.resume:
        for d in ckpts.values():
            check_output_path("--out", d / "checkpoint.json", overwrite=args.overwrite)
    data = pathlib.Path(args.data)
    if not data.exists():
        raise ValueError(f"--data '{data}' does not exist.")

    import equinox as eqx
    import jax
    import jax.numpy as jnp
    import numpy as np

    from ..data import Dataset
    from ..operators import count_trainable, save_model
    from ..training import Normalized, Normalizer, evaluate, fit, h1, relative_l2

    ds = Dataset(data)
    n_test = args.n_test or max(1, len(ds) // 5)
    n_train = args.n_train or len(ds) - n_test
    if n_train + n_test > len(ds):
        raise ValueError(f"--n-train {n_train} + --n-test {n_test} exceed the {len(ds)} "
                         "samples.")
    train, test = ds.split(n_train, n_test)
    # the models' dtype follows --x64 (data are cast to it), not the global JAX mode
    dtype = jnp.float64 if args.x64 else jnp.float32
    xn, yn = Normalizer.fit(train, kind=args.normalizer, dtype=dtype)
    periodic = "circular" in json.dumps(ds.meta.get("grid", {})) or \
        ds.meta.get("grid", {}).get("kind") == "periodic"
    domain = ds.meta.get("grid", {}).get("domain", [[0.0, 1.0]] * (len(ds.y_shape) - 1))
    lengths = [abs(b - a) for a, b in domain]

    def h1_metric(pred, y, reduce=True):
        return h1(pred, y, periodic=periodic, domain_length=lengths, reduce=reduce)

    def h1_loss(pred, y):
        # the MgNO code's H1 weighting (1 + |k|^2, integer k): derivatives per L / 2 pi
        return h1(pred, y, periodic=periodic, domain_length=[2 * math.pi * v for v in lengths])

    recipe = {"loss": args.loss, "schedule": args.schedule, "lr": args.lr,
              "weight_decay": args.weight_decay, "batch_size": args.batch_size,
              "budget_epochs": args.budget, "normalizer": args.normalizer, "seed": args.seed,
              "x64": bool(args.x64)}
    xt, yt = test.arrays()
    rows, preds, histories = {}, {}, {}
    out.mkdir(parents=True, exist_ok=True)
    for name in names:
        # a model's initial weights depend on (seed, model), not on the other models listed
        key = jax.random.fold_in(jax.random.key(args.seed), MODELS.index(name))
        model = Normalized(build(name, ds, train, args, key, dtype, yn), xn, yn)
        optimizer = make_optimizer(args, train.num_batches(args.batch_size))
        ckpt = ckpts[name]
        resume = args.resume and (ckpt / "checkpoint.json").exists()
        if not resume and ckpt.exists():
            shutil.rmtree(ckpt)  # --overwrite (checked above) of an earlier run's checkpoint
        every = args.eval_every or args.budget
        model, history = fit(model, train, loss=h1_loss if args.loss == "h1" else relative_l2,
                             optimizer=optimizer, epochs=args.budget,
                             batch_size=args.batch_size, seed=args.seed,
                             eval_sets={"test": test}, eval_every=every, checkpoint_dir=ckpt,
                             checkpoint_every=every, resume=resume,
                             config={"model": name, **recipe, "levels": args.levels,
                                     "width": args.width, "modes": args.modes,
                                     "padding": args.padding},
                             progress=not args.quiet)
        histories[name] = _plain(history)
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
        save_model(out / name, model, overwrite=args.overwrite or args.resume, extra=rows[name])

    fig = compare_figure(xt[0], yt[0], preds)
    fig.suptitle(f"{data.name}: {n_train} training / {n_test} test samples, "
                 f"{args.budget} epochs each (test sample 0; relative L2 in titles)")
    fig.savefig(out / "compare.png", dpi=100)
    import matplotlib.pyplot as plt

    plt.close(fig)
    fig = curves_figure(histories, args.loss)
    fig.suptitle(f"{data.name}: {n_train} train / {n_test} test, {args.loss} loss, "
                 f"{args.schedule} lr {args.lr:g}", fontsize=9)
    fig.savefig(out / "curves.png", dpi=100)
    plt.close(fig)
    result = {"data": str(data), "n_train": n_train, "n_test": n_test, "budget_epochs":
              args.budget, "batch_size": args.batch_size, "lr": args.lr, "seed": args.seed,
              "recipe": recipe, "models": rows, "history": histories}
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
        print(f"wrote {out / 'compare.json'}, {out / 'compare.png'}, {out / 'curves.png'}")
    return 0
