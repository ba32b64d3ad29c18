"""``pdekit train {fno,tfno}``: train a neural operator on a ``pdekit.data`` file.

Writes a run directory: ``run.json`` (the command's settings), ``checkpoint.{eqx,json}``
(resumable state, see docs/training.md), ``metrics.{csv,json}``, ``model.{eqx,json}`` (the
trained model with its normalisers) and ``loss.png``. An existing run directory is never
overwritten: continue it with ``--resume``.
"""

import json
import pathlib

from ._common import emit_json

_SETTINGS = ("model", "data", "modes", "width", "layers", "epochs", "batch_size", "lr",
             "n_train", "n_test", "seed", "rank", "joint", "factorization", "padding", "x64")


def add_parser(subparsers):
    p = subparsers.add_parser(
        "train", help="train a neural operator (FNO, TFNO)",
        description="Train an FNO/TFNO on a pdekit.data file; resumable run directory.")
    p.add_argument("model", choices=("fno", "tfno"), help="operator to train")
    p.add_argument("--data", required=True, metavar="FILE", help="dataset (.h5 from datagen)")
    p.add_argument("--out", required=True, metavar="RUN_DIR", help="run directory to create")
    p.add_argument("--epochs", type=int, default=20, help="training epochs (default 20)")
    p.add_argument("--modes", default="12",
                   help="Fourier modes per axis: one number or one per axis, e.g. 12,12 "
                   "(default 12; |k| < modes is kept, see docs/operators.md)")
    p.add_argument("--width", type=int, default=32, help="hidden channels (default 32)")
    p.add_argument("--layers", type=int, default=4, help="Fourier layers (default 4)")
    p.add_argument("--batch-size", type=int, default=16, help="batch size (default 16)")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default 1e-3, "
                   "cosine decay to 0 over the run)")
    p.add_argument("--n-train", type=int, default=None,
                   help="training samples: the first N (default 80%% of the file)")
    p.add_argument("--n-test", type=int, default=None,
                   help="test samples: the last N (default the rest)")
    p.add_argument("--seed", type=int, default=0, help="initialisation and data order seed")
    p.add_argument("--factorization", choices=("tucker", "cp"), default="tucker",
                   help="TFNO weight factorisation (default tucker)")
    p.add_argument("--rank", type=float, default=0.1,
                   help="TFNO rank: compression ratio in (0, 1] (default 0.1)")
    p.add_argument("--joint", action="store_true", help="TFNO: one tensor for all layers")
    p.add_argument("--padding", type=float, default=0.0,
                   help="domain padding fraction for non-periodic data (e.g. 0.125)")
    p.add_argument("--checkpoint-every", type=int, default=1, help="epochs between checkpoints")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--x64", action="store_true", help="train in float64")
    p.add_argument("--json", action="store_true", help="print one JSON object at the end")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def parse_modes(text: str) -> tuple[int, ...]:
    try:
        modes = tuple(int(m) for m in str(text).split(","))
    except ValueError:
        raise ValueError(f"--modes expects integers like 12 or 12,12, got {text!r}.") from None
    if not modes or any(m < 1 for m in modes):
        raise ValueError(f"--modes must be positive, got {text!r}.")
    return modes


def _validate(args):
    for name in ("epochs", "width", "layers", "batch_size", "checkpoint_every"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got "
                             f"{getattr(args, name)}.")
    if not args.lr > 0:
        raise ValueError(f"--lr must be > 0, got {args.lr}.")
    if not 0 < args.rank <= 1:
        raise ValueError(f"--rank must be in (0, 1], got {args.rank}.")
    if not 0 <= args.padding < 1:
        raise ValueError(f"--padding must be in [0, 1), got {args.padding}.")
    if not pathlib.Path(args.data).is_file():
        raise ValueError(f"--data: no file '{args.data}'.")
    parse_modes(args.modes)
    out = pathlib.Path(args.out)
    if args.resume:
        if not (out / "run.json").is_file():
            raise ValueError(f"--resume: '{out}' holds no run (run.json missing).")
        saved = json.loads((out / "run.json").read_text())
        now = _settings(args)
        for k in _SETTINGS:
            if k != "epochs" and saved.get(k) != now.get(k):
                raise ValueError(f"--resume: --{k.replace('_', '-')} {now.get(k)!r} differs "
                                 f"from the run's {saved.get(k)!r}.")
    elif out.exists() and any(out.iterdir()):
        raise ValueError(f"--out: '{out}' exists and is not empty; pass --resume to continue "
                         "that run or choose another directory.")


def _settings(args) -> dict:
    s = {k: getattr(args, k, None) for k in _SETTINGS}
    s["data"] = str(pathlib.Path(args.data).resolve())
    return s


def run(args):
    _validate(args)
    from pdekit.data import Dataset

    ds = Dataset(args.data)
    n = len(ds)
    n_train = args.n_train if args.n_train is not None else max(1, int(0.8 * n))
    n_test = args.n_test if args.n_test is not None else n - n_train
    if n_train < 1 or n_test < 1 or n_train + n_test > n:
        raise ValueError(f"--n-train {n_train} and --n-test {n_test} must be >= 1 and fit in "
                         f"the {n} samples of --data.")
    if n_train < args.batch_size:
        raise ValueError(f"--batch-size {args.batch_size} exceeds the {n_train} training "
                         "samples.")
    modes = parse_modes(args.modes)
    d = len(ds.x_shape) - 1
    if len(modes) == 1:
        modes = modes * d
    if len(modes) != d:
        raise ValueError(f"--modes has {len(modes)} entries, the data has {d} spatial axes.")
    args.n_train, args.n_test = n_train, n_test
    result = train_run(args, ds, modes)
    if args.json:
        emit_json(result)
    else:
        print(f"trained {args.model} ({result['n_params']} parameters) for {result['epochs']} "
              f"epochs: test relative L2 {result['test_rel_l2']:.4e}, "
              f"{result['s_per_epoch']:.3f} s/epoch; run in {args.out}")
    return 0


def train_run(args, ds, modes) -> dict:
    import jax
    import numpy as np
    import optax

    from pdekit.operators import (
        FNO,
        TFNO,
        CPWeights,
        TuckerWeights,
        count_params,
        model_config,
        save_model,
    )
    from pdekit.plotting import plot_loss_curves
    from pdekit.training import Normalized, Normalizer, evaluate, fit

    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if not args.resume:
        (out / "run.json").write_text(json.dumps(_settings(args), indent=1))
    train, test = ds.split(args.n_train, args.n_test)
    xn, yn = Normalizer.fit(train)
    key = jax.random.key(args.seed)
    cin, cout = ds.x_shape[0], ds.y_shape[0]
    kw = dict(padding=args.padding, key=key)
    if args.model == "tfno":
        fac = (TuckerWeights(args.rank) if args.factorization == "tucker"
               else CPWeights(args.rank))
        net = TFNO(cin, cout, modes, args.width, args.layers, factorization=fac,
                   joint=args.joint, **kw)
    else:
        net = FNO(cin, cout, modes, args.width, args.layers, **kw)
    model = Normalized(net, xn, yn)
    steps = args.epochs * train.num_batches(args.batch_size)
    opt = optax.adam(optax.cosine_decay_schedule(args.lr, steps))
    model, hist = fit(model, train, optimizer=opt, epochs=args.epochs,
                      batch_size=args.batch_size, seed=args.seed, eval_sets={"test": test},
                      eval_every=max(1, args.epochs // 10), checkpoint_dir=out,
                      checkpoint_every=args.checkpoint_every, resume=args.resume,
                      config=model_config(model), progress=not args.quiet)
    times = hist["time"]
    s_per_epoch = float(np.median(times[1:] if len(times) > 1 else times))
    test_err = evaluate(model, test)
    result = {"model": args.model, "n_params": count_params(net), "epochs": len(times),
              "test_rel_l2": test_err, "s_per_epoch": s_per_epoch,
              "resolution": list(ds.x_shape[1:]), "n_train": args.n_train,
              "n_test": args.n_test, "run_dir": str(out)}
    save_model(out / "model", model, overwrite=True, extra=result)  # this run's own file
    fig = plot_loss_curves(hist)
    fig.savefig(out / "loss.png", dpi=110)
    return result
