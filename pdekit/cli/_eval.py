"""``pdekit eval RUN_DIR --data FILE``: evaluate a trained operator, at any resolution.

``--resolution R`` subsamples the file's grid to R points per axis (R must divide it), so a
model trained at one resolution is evaluated zero-shot at another (FNOs are resolution
independent by construction). By default the samples are the run's test split when FILE is
the training file, and all samples of any other file.
"""

import json
import pathlib

from ._common import check_output_path, emit_json


def add_parser(subparsers):
    p = subparsers.add_parser(
        "eval", help="evaluate a trained operator",
        description="Evaluate a run of `pdekit train` on a dataset (relative L2, H1).")
    p.add_argument("run_dir", metavar="RUN_DIR", help="run directory of `pdekit train`")
    p.add_argument("--data", required=True, metavar="FILE", help="dataset (.h5)")
    p.add_argument("--resolution", type=int, default=None,
                   help="evaluate at R points per axis (a divisor of the file's grid)")
    p.add_argument("--n-test", type=int, default=None, help="evaluate the last N samples")
    p.add_argument("--plot", metavar="FILE", help="figure: input, truth, prediction, error")
    p.add_argument("--overwrite", action="store_true", help="allow --plot to replace a file")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--x64", action="store_true", help="evaluate in float64")
    p.set_defaults(func=run)


def run(args):
    run_dir = pathlib.Path(args.run_dir)
    if not (run_dir / "model.json").is_file():
        raise ValueError(f"RUN_DIR: '{run_dir}' holds no trained model (model.json missing).")
    if not pathlib.Path(args.data).is_file():
        raise ValueError(f"--data: no file '{args.data}'.")
    if args.resolution is not None and args.resolution < 2:
        raise ValueError(f"--resolution must be >= 2, got {args.resolution}.")
    if args.n_test is not None and args.n_test < 1:
        raise ValueError(f"--n-test must be >= 1, got {args.n_test}.")
    if args.plot:
        check_output_path("--plot", args.plot, overwrite=args.overwrite)
    import numpy as np

    from pdekit.data import Dataset
    from pdekit.operators import DeepONet, MgNO, PODDeepONet, count_trainable, load_model
    from pdekit.training import evaluate, h1

    settings = json.loads((run_dir / "run.json").read_text())
    model, extra = load_model(run_dir / "model")
    ds = Dataset(args.data)
    same = str(pathlib.Path(args.data).resolve()) == settings.get("data")
    n_test = args.n_test or (settings["n_test"] if same else len(ds))
    if n_test > len(ds):
        raise ValueError(f"--n-test {n_test} exceeds the {len(ds)} samples of --data.")
    _, test = ds.split(len(ds) - n_test, n_test) if n_test < len(ds) else (None, ds)
    native = ds.x_shape[1]
    if args.resolution is not None and args.resolution != native:
        if native % args.resolution:
            raise ValueError(f"--resolution {args.resolution} must divide the file's "
                             f"resolution {native}.")
        test = test.subsample(native // args.resolution)
    net = model.model
    if isinstance(net, (DeepONet, PODDeepONet)) and tuple(test.x_shape) != net.in_shape:
        raise ValueError(f"--resolution: a {type(net).__name__} reads its input at the "
                         f"{net.in_shape[1:]} sensors it was trained with, got "
                         f"{tuple(test.x_shape[1:])}; evaluate at the trained resolution.")
    if isinstance(net, MgNO):
        try:
            net.vcycles[0].check_spatial(test.x_shape[1:])
        except ValueError as err:
            raise ValueError(f"--resolution: {err}") from None
    rel = evaluate(model, test)
    grid = ds.meta.get("grid") or {}
    periodic = grid.get("kind") == "periodic"  # spectral H1 derivatives, else differences
    h1_err = evaluate(model, test, metric=lambda p, y, reduce: h1(p, y, periodic=periodic,
                                                                   reduce=reduce))
    result = {"test_rel_l2": rel, "test_h1": h1_err, "n_params": count_trainable(model.model),
              "resolution": list(test.x_shape[1:]), "n_test": len(test),
              "s_per_epoch": extra.get("s_per_epoch"),
              "trained_resolution": extra.get("resolution"), "run_dir": str(run_dir)}
    if args.plot:
        import jax.numpy as jnp

        from pdekit.plotting import plot_prediction
        from pdekit.training import model_dtype

        x, y = test.arrays()
        pred = np.asarray(model(jnp.asarray(x[0]).astype(model_dtype(model))))
        fig = plot_prediction(x[0], y[0], pred,
                              title=f"{settings.get('model', '').upper()} at "
                              f"{'x'.join(map(str, x.shape[2:]))}")
        fig.savefig(args.plot, dpi=110)
        result["plot"] = args.plot
    if args.json:
        emit_json(result)
    else:
        print(f"relative L2 {rel:.4e}, H1 {h1_err:.4e} on {len(test)} samples at "
              f"{'x'.join(map(str, result['resolution']))} ({result['n_params']} parameters)")
    return 0
