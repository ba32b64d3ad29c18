"""``pdekit train {fno,tfno,mgno,deeponet}``: train a neural operator on a ``pdekit.data`` file.

Writes a run directory: ``run.json`` (the command's settings), ``checkpoint.{eqx,json}``
(resumable state, see docs/training.md), ``metrics.{csv,json}``, ``model.{eqx,json}`` (the
trained model with its normalisers) and ``loss.png``; a POD-DeepONet run (``deeponet
--pod-basis K``) also ``pod_basis.npz`` (the fixed basis, see docs/mgno_deeponet.md). An
existing run directory is never overwritten: continue it with ``--resume``.
"""

import json
import pathlib

from ._common import emit_json

_SETTINGS = ("model", "data", "modes", "width", "layers", "epochs", "batch_size", "lr",
             "n_train", "n_test", "seed", "rank", "joint", "factorization", "padding", "x64",
             "levels", "conv_padding", "branch", "num_basis", "pod_basis")
# options of one model family only (stored as None for the others)
_MODEL_ONLY = {"levels": ("mgno",), "conv_padding": ("mgno",), "branch": ("deeponet",),
               "num_basis": ("deeponet",), "pod_basis": ("deeponet",)}
_DEFAULT_WIDTH = {"fno": 32, "tfno": 32, "mgno": 24, "deeponet": 128}


def add_parser(subparsers):
    p = subparsers.add_parser(
        "train", help="train a neural operator (FNO, TFNO, MgNO, DeepONet)",
        description="Train an FNO/TFNO/MgNO/(POD-)DeepONet on a pdekit.data file; resumable "
        "run directory.")
    p.add_argument("model", choices=("fno", "tfno", "mgno", "deeponet"),
                   help="operator to train")
    p.add_argument("--data", required=True, metavar="FILE", help="dataset (.h5 from datagen)")
    p.add_argument("--out", required=True, metavar="RUN_DIR", help="run directory to create")
    p.add_argument("--epochs", type=int, default=20, help="training epochs (default 20)")
    p.add_argument("--modes", default="12",
                   help="Fourier modes per axis: one number or one per axis, e.g. 12,12 "
                   "(default 12; |k| < modes is kept, see docs/operators.md)")
    p.add_argument("--width", type=int, default=None,
                   help="hidden channels (default: FNO/TFNO 32, MgNO 24, DeepONet 128)")
    p.add_argument("--layers", type=int, default=4, help="Fourier/MgNO layers (default 4)")
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
    p.add_argument("--levels", type=int, default=None,
                   help="MgNO: V-cycle levels (default: halve down to >= 2 points, at most 6)")
    p.add_argument("--conv-padding", choices=("zeros", "reflect", "circular"), default=None,
                   help="MgNO: stencil boundary padding, zeros (Dirichlet, default), reflect "
                   "(Neumann) or circular (periodic)")
    p.add_argument("--branch", choices=("mlp", "cnn"), default=None,
                   help="DeepONet: branch net (default cnn for 1D/2D grids > 8 points)")
    p.add_argument("--num-basis", type=int, default=None,
                   help="DeepONet: basis functions p of the trunk (default 64)")
    p.add_argument("--pod-basis", type=int, default=None, metavar="K",
                   help="DeepONet: POD-DeepONet with the first K POD modes of the training "
                   "outputs as a fixed trunk (pdekit.rom.pod; saved as pod_basis.npz)")
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
    for name, models in _MODEL_ONLY.items():
        if getattr(args, name) is not None and args.model not in models:
            raise ValueError(f"--{name.replace('_', '-')} applies to {'/'.join(models)} only, "
                             f"not {args.model}.")
    if args.model == "mgno" and args.conv_padding is None:
        args.conv_padding = "zeros"
    if args.model == "deeponet" and args.num_basis is None and args.pod_basis is None:
        args.num_basis = 64
    if args.num_basis is not None and args.pod_basis is not None:
        raise ValueError("--num-basis and --pod-basis exclude each other (a POD-DeepONet has "
                         "K = --pod-basis basis functions).")
    for name in ("levels", "num_basis", "pod_basis"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got "
                             f"{getattr(args, name)}.")
    if args.width is None:
        args.width = _DEFAULT_WIDTH[args.model]
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
    if args.padding and args.model not in ("fno", "tfno"):
        raise ValueError(f"--padding (FNO domain padding) applies to fno/tfno only; MgNO's "
                         f"boundary is --conv-padding, got --padding {args.padding}.")
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
    for name, models in _MODEL_ONLY.items():
        if args.model not in models:
            s[name] = None
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
    if len(modes) != d and args.model in ("fno", "tfno"):
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
        count_trainable,
        model_config,
        save_model,
    )
    from pdekit.plotting import plot_loss_curves
    from pdekit.training import Normalized, Normalizer, evaluate, fit

    out = pathlib.Path(args.out)
    if args.model in ("mgno", "deeponet"):  # built first: a bad --levels leaves no run dir
        net, pre_norm, pod = _build_mgno_deeponet(
            args, ds, ds.split(args.n_train, args.n_test)[0], jax.random.key(args.seed))
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
    elif args.model == "fno":
        net = FNO(cin, cout, modes, args.width, args.layers, **kw)
    if args.model in ("mgno", "deeponet"):
        if pod is not None and not (out / "pod_basis.npz").exists():
            np.savez(out / "pod_basis.npz", **pod)
        xn, yn = pre_norm
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
    result = {"model": args.model, "n_params": count_trainable(net), "epochs": len(times),
              "test_rel_l2": test_err, "s_per_epoch": s_per_epoch,
              "resolution": list(ds.x_shape[1:]), "n_train": args.n_train,
              "n_test": args.n_test, "run_dir": str(out)}
    save_model(out / "model", model, overwrite=True, extra=result)  # this run's own file
    fig = plot_loss_curves(hist)
    fig.savefig(out / "loss.png", dpi=110)
    return result


def _build_mgno_deeponet(args, ds, train, key):
    """The MgNO / (POD-)DeepONet of a run, its normalisers (in the run's dtype: float32,
    float64 with --x64) and, for ``--pod-basis``, the POD basis built from the training
    outputs (``{"basis", "mean", "singular_values"}``, saved by the caller as ``pod_basis.npz``
    on a new run; a resumed run reads its basis back from the checkpoint), else None."""
    import jax.numpy as jnp

    from pdekit.training import Normalizer

    from ._build import build_deeponet, build_mgno, build_pod_deeponet, pod_basis

    if args.x64:
        from pdekit import enable_x64

        enable_x64()
    dtype = jnp.float64 if args.x64 else jnp.float32
    xn, yn = Normalizer.fit(train, dtype=dtype)
    if args.model == "mgno":
        net = build_mgno(ds, width=args.width, layers=args.layers, levels=args.levels,
                         padding=args.conv_padding, key=key, dtype=dtype)
    elif args.pod_basis is None:
        net = build_deeponet(ds, width=args.width, num_basis=args.num_basis,
                             branch=args.branch, key=key, dtype=dtype)
    else:
        basis, mean, sv = pod_basis(train, yn, args.pod_basis)
        net = build_pod_deeponet(ds, basis, mean, width=args.width, branch=args.branch,
                                 key=key, dtype=dtype)
        return net, (xn, yn), {"basis": basis, "mean": mean, "singular_values": sv}
    return net, (xn, yn), None
