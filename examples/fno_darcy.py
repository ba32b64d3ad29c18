"""FNO on Darcy flow, trained at one resolution and evaluated zero-shot at a coarser one.

Generates a small Darcy dataset with pdekit's own FEM solver (``pdekit.data.generate("darcy")``:
``-div(a grad u) = 1``, ``u = 0`` on the boundary, piecewise-constant ``a`` from a thresholded
Gaussian random field), trains an FNO (or a TFNO with ``--tfno``) with domain padding (the
problem is not periodic), and evaluates it on the test split at the training resolution and at
half of it. Draws input / truth / prediction / error and the loss curves.

This is the set-up of the FNO paper's Darcy figure (Li et al. 2021, about 1.1e-2 relative L2 at
85x85 with 1,000 samples and 500 epochs); the defaults here are tiny (CPU, under a minute:
48 samples at 32x32, 10 epochs), so expect ~1e-1.

    python examples/fno_darcy.py [--n 48] [--resolution 32] [--epochs 10] [--tfno] [--out out/]

Writes ``OUT/fno_darcy.h5`` (data, reused), ``OUT/fno_darcy_run/`` (checkpoints, model),
``OUT/fno_darcy_prediction.png`` and ``OUT/fno_darcy_loss.png``.
"""

import argparse
import pathlib


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=48, help="samples (80%% train)")
    p.add_argument("--resolution", type=int, default=32, help="grid points per side")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--modes", type=int, default=8)
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--tfno", action="store_true", help="Tucker-factorised TFNO (rank 0.1)")
    p.add_argument("--x64", action="store_true")
    p.add_argument("--out", default="out")
    args = p.parse_args(argv)
    if args.x64:
        import pdekit

        pdekit.enable_x64()
    import shutil

    import jax
    import numpy as np
    import optax

    from pdekit.data import Dataset, generate
    from pdekit.operators import FNO, TFNO, count_params
    from pdekit.plotting import plot_loss_curves, plot_prediction
    from pdekit.training import Normalized, Normalizer, evaluate, fit, model_dtype

    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = out / "fno_darcy.h5"
    if data.exists() and len(Dataset(data)) != args.n:
        data.unlink()
    if not data.exists():
        generate("darcy", data, n=args.n, resolution=args.resolution, seed=0, progress=False)
    ds = Dataset(data)
    n_train = int(0.8 * len(ds))
    train, test = ds.split(n_train, len(ds) - n_train)
    make = TFNO if args.tfno else FNO
    net = make(1, 1, (args.modes, args.modes), args.width, 4, padding=0.125,
               key=jax.random.key(0))
    model = Normalized(net, *Normalizer.fit(train))
    steps = args.epochs * train.num_batches(8)
    run = out / "fno_darcy_run"
    shutil.rmtree(run, ignore_errors=True)  # the example's own scratch folder
    model, hist = fit(model, train, optimizer=optax.adam(optax.cosine_decay_schedule(3e-3,
                                                                                    steps)),
                      epochs=args.epochs, batch_size=8, seed=0, checkpoint_dir=run,
                      eval_sets={"test": test}, eval_every=max(1, args.epochs // 5))
    err = evaluate(model, test)
    err_half = evaluate(model, test.subsample(2))
    x, y = test.arrays()
    pred = np.asarray(model(jax.numpy.asarray(x[0]).astype(model_dtype(model))))
    plot_prediction(x[0], y[0], pred, title=f"{make.__name__} on Darcy").savefig(
        out / "fno_darcy_prediction.png", dpi=110)
    plot_loss_curves(hist).savefig(out / "fno_darcy_loss.png", dpi=110)
    r = args.resolution
    print(f"{make.__name__}: {count_params(net)} parameters, {args.epochs} epochs, "
          f"{np.median(hist['time'][1:] or hist['time']):.3f} s/epoch")
    print(f"| resolution | test relative L2 |\n| --- | --- |\n| {r}x{r} (trained) | "
          f"{err:.4f} |\n| {r // 2}x{r // 2} (zero-shot) | {err_half:.4f} |")
    return {"test_rel_l2": err, "test_rel_l2_half": err_half, "n_params": count_params(net)}


if __name__ == "__main__":
    main()
