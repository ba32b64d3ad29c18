"""``pdekit datagen NAME``: generate a dataset into a resumable HDF5 file.

Re-running the same command after an interruption continues where it stopped; a file made
with other parameters is refused unless ``--overwrite``. See ``docs/data.md``.
"""

from __future__ import annotations


def add_parser(subparsers):
    p = subparsers.add_parser(
        "datagen",
        help="generate a dataset (HDF5) for operator learning / ROMs",
        description="Generate a dataset with a registered generator (darcy, heat, ...) into a "
        "chunked, resumable HDF5 file. Sample i uses jax.random.fold_in(key(seed), i).",
    )
    p.add_argument("name", help="generator name (e.g. darcy, heat, nlse, burgers, thermal-block, "
                   "navier-stokes)")
    p.add_argument("--n", type=int, required=True, help="number of samples")
    p.add_argument("--resolution", type=int, required=True,
                   help="grid points per side (each generator states which it accepts)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--out", required=True, metavar="FILE", help="output HDF5 file (.h5)")
    p.add_argument("--batch-size", type=int, default=None,
                   help="samples per compiled call and write (default 16 per device)")
    p.add_argument("--devices", type=int, default=None,
                   help="shard over N JAX devices (on CPU: N forced host devices)")
    p.add_argument("--workers", type=int, default=None,
                   help="N worker processes, one CPU core each (fastest on multi-core CPUs)")
    p.add_argument("--param", action="append", metavar="NAME=VALUE",
                   help="generator parameter (repeatable), e.g. --param tau=3")
    p.add_argument("--float32", action="store_true",
                   help="compute in float32 (default: float64, stored as float32)")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32",
                   help="stored dtype (default float32)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing --out made with other parameters (and --plot)")
    p.add_argument("--json", action="store_true", help="print one JSON object with the results")
    p.add_argument("--plot", metavar="FILE", help="draw a few input/output pairs to FILE (.png)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _params(items):
    out = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"--param expects NAME=VALUE, got {item!r}.")
        out[name.strip()] = value.strip()
    return out


def _check(args):
    """Everything checkable without JAX, before any work."""
    if args.n < 1:
        raise ValueError(f"--n must be >= 1, got {args.n}.")
    if args.resolution < 2:
        raise ValueError(f"--resolution must be >= 2, got {args.resolution}.")
    if not 0 <= args.seed < 2**32:
        raise ValueError(f"--seed must be in [0, 2**32), got {args.seed}.")
    for opt in ("batch_size", "devices", "workers"):
        v = getattr(args, opt)
        if v is not None and v < 1:
            raise ValueError(f"--{opt.replace('_', '-')} must be >= 1, got {v}.")
    if args.devices and args.workers and args.devices > 1 and args.workers > 1:
        raise ValueError("--devices and --workers cannot both exceed 1; choose one.")
    if args.dtype == "float64" and args.float32:
        raise ValueError("--dtype float64 needs float64 computation: drop --float32.")


def run(args) -> int:
    import pathlib

    from ._common import emit_json

    _check(args)
    if args.devices and args.devices > 1:
        # one host device per requested device on CPU; must precede JAX backend start-up
        import jax

        try:
            jax.config.update("jax_num_cpu_devices", args.devices)
        except RuntimeError:
            pass  # backend already up (e.g. under pytest): use what it has
    if not args.float32:
        from .._misc import enable_x64

        enable_x64()
    from .. import rom  # noqa: F401  (registers the ROM snapshot sets, e.g. thermal-block)
    from ..data import Dataset, generate_with_stats
    params = _params(args.param)
    stats = generate_with_stats(
        args.name, args.out, n=args.n, resolution=args.resolution, seed=args.seed,
        batch_size=args.batch_size, devices=args.devices, workers=args.workers,
        overwrite=args.overwrite, progress=not (args.quiet or args.json), dtype=args.dtype,
        **params,
    )
    ds = Dataset(stats.path)
    if args.plot:
        from ..plotting import plot_dataset_samples

        fig = plot_dataset_samples(ds, num=4)
        fig.savefig(args.plot, dpi=100)
        import matplotlib.pyplot as plt

        plt.close(fig)
    result = {
        "name": args.name, "n": args.n, "resolution": args.resolution, "seed": args.seed,
        "path": str(pathlib.Path(stats.path).resolve()), "samples_per_s": stats.samples_per_s,
        "wall_s": stats.wall_s, "compile_s": stats.compile_s, "computed": stats.computed,
        "resumed_from": stats.resumed_from, "devices": stats.devices,
        "workers": stats.workers, "batch_size": stats.batch_size,
        "x_shape": list(ds.x_shape), "y_shape": list(ds.y_shape), "dtype": ds.meta["dtype"],
        "compute_dtype": ds.meta["compute_dtype"], "params": ds.meta["params"],
    }
    ds.close()
    if args.json:
        emit_json(result)
    else:
        print(f"{args.name}: {stats.computed} samples computed ({stats.resumed_from} on disk "
              f"before) in {stats.wall_s:.2f} s ({stats.samples_per_s:.1f} samples/s) -> "
              f"{stats.path}")
    return 0
