"""Operator benchmark: pdekit FNO/TFNO against neuraloperator 2.0 (PyTorch CPU), same budget.

Both contenders read one data file per case (``benchmarks/out/operators-<case>.npz``, made from
the ``pdekit datagen`` HDF5 file beside it, see operators_data.py: train and test arrays,
channel statistics of the training split, the per-epoch sample orders) and train
the same architecture (neuraloperator's FNO layout; pdekit with
``convention="neuraloperator"``, so the parameter counts agree, and the exact erf GELU
``gelu_erf`` as torch's default) with Adam, a constant learning
rate, the mean per-sample relative L2 loss in physical units, the same batch size, epochs and
seed, one thread each on the same core. Reported: seconds per epoch (median over the epochs
after the first, which holds the compile), test relative L2, parameters.

    python benchmarks/operators_bench.py [--quick] [--epochs E] [--cases darcy,burgers] [--seed S]
"""

import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness as H  # noqa: E402

H.pin_threads()

import numpy as np  # noqa: E402

VENV = H.HERE / ".venv-operators" / "bin" / "python"
FULL = {
    "darcy": dict(s=64, n_train=1000, n_test=200, modes=(16, 16), width=32, layers=4,
                  batch_size=16, epochs=2, lr=1e-3),
    "burgers": dict(s=256, n_train=1000, n_test=200, modes=(16,), width=64, layers=4,
                    batch_size=20, epochs=3, lr=1e-3),
}
QUICK = {
    "darcy": dict(s=32, n_train=32, n_test=8, modes=(8, 8), width=8, layers=2, batch_size=8,
                  epochs=2, lr=1e-3),
    "burgers": dict(s=64, n_train=32, n_test=8, modes=(8,), width=8, layers=2, batch_size=8,
                    epochs=2, lr=1e-3),
}
SEED = 0
TFNO_RANK = 0.1


def make_data(case, cfg, path: Path, h5: Path | None = None, seed: int = SEED):
    """Generate (or reuse) the case's dataset with ``pdekit datagen`` (HDF5 beside `path`) and
    write the ``.npz`` both contenders read."""
    from operators_data import datagen, exchange_file

    n = cfg["n_train"] + cfg["n_test"]
    h5 = path.with_suffix(".h5") if h5 is None else h5
    # the dataset is always `pdekit datagen --seed 0`; `seed` sets initialisation and order
    meta = {"case": case, "s": cfg["s"], "n": n, "seed": seed, "epochs": cfg["epochs"],
            "n_train": cfg["n_train"], "source": f"pdekit datagen {case}", "h5": h5.name}
    def current(npz, m):
        if not (npz.exists() and h5.exists()):
            return False
        with np.load(npz) as f:
            return json.loads(str(f["meta"])) == m

    if current(path, meta):
        return path
    # the HDF5 file is current when the seed-0 exchange file made from it is
    if not current(h5.with_suffix(".npz"), {**meta, "seed": SEED}):
        datagen(case, n, cfg["s"], seed=SEED, path=h5)
    return exchange_file(h5, path, n_train=cfg["n_train"], n_test=cfg["n_test"],
                         epochs=cfg["epochs"], seed=seed, meta=meta)


def _split(x, y):
    from pdekit.data import Dataset

    return Dataset.from_arrays(x, y)


def run_pdekit(case, cfg, path, model_kind, seed=SEED):
    import jax
    import optax

    from pdekit.operators import FNO, TFNO, TuckerWeights, count_params, gelu_erf
    from pdekit.training import Normalized, Normalizer, evaluate, fit, relative_l2

    with np.load(path) as f:
        d = {k: f[k] for k in f.files}
    train, test = _split(d["x_train"], d["y_train"]), _split(d["x_test"], d["y_test"])
    # neuraloperator's layout, counting and exact (erf) GELU
    kw = dict(convention="neuraloperator", activation=gelu_erf, key=jax.random.key(seed))
    args = (d["x_train"].shape[1], d["y_train"].shape[1], cfg["modes"], cfg["width"],
            cfg["layers"])
    net = (TFNO(*args, factorization=TuckerWeights(TFNO_RANK), **kw) if model_kind == "tfno"
           else FNO(*args, **kw))
    model = Normalized(net, Normalizer(d["x_mean"], d["x_std"]),
                       Normalizer(d["y_mean"], d["y_std"]))
    # fit's default microbatch="auto" (CPU: micro-batches sized to the cache; recorded below)
    from pdekit.training import resolve_microbatch

    mb = resolve_microbatch("auto", model, train, cfg["batch_size"])
    model, hist = fit(model, train, loss=relative_l2, optimizer=optax.adam(cfg["lr"]),
                      epochs=cfg["epochs"], batch_size=cfg["batch_size"], seed=seed)
    times, cpu = hist["time"], hist["cpu_time"]
    steady = times[1:] if len(times) > 1 else times
    return {"case": case, "model": model_kind, "contender": "pdekit",
            "n_params": count_params(net), "s_per_epoch": float(np.median(steady)),
            "cpu_s_per_epoch": float(np.median(cpu[1:] if len(cpu) > 1 else cpu)),
            "first_epoch_s": times[0], "epoch_times": times, "train_loss": hist["train_loss"],
            "test_rel_l2": evaluate(model, test), "microbatch": mb}


def main(argv=None):
    p = H.common_argparser(__doc__.splitlines()[0])
    p.add_argument("--pdekit-only", action="store_true", help="skip the neuraloperator runner")
    p.add_argument("--epochs", type=int, default=None, help="override the epochs per case")
    p.add_argument("--cases", default="darcy,burgers", help="comma-separated cases")
    p.add_argument("--models", default="fno,tfno", help="comma-separated models")
    p.add_argument("--seed", type=int, default=SEED,
                   help="initialisation and sample-order seed (the data stay datagen seed 0)")
    args = p.parse_args(argv)
    base = QUICK if args.quick else FULL
    cases = [c for c in args.cases.split(",") if c]
    for c in cases:
        if c not in base:
            raise SystemExit(f"--cases: unknown case {c!r} (darcy, burgers)")
    models = [m for m in args.models.split(",") if m]
    out = {"benchmark": "operators", "quick": args.quick, "machine": H.machine_info(),
           "threads": H.threads_summary(), "tfno_rank": TFNO_RANK, "seed": args.seed,
           "versions": H.versions("pdekit", "jax", "jaxlib", "equinox", "optax", "numpy"),
           "config": {}, "rows": []}
    jobs = []
    for case in cases:
        cfg = dict(base[case])
        if args.epochs:
            cfg["epochs"] = args.epochs
        out["config"][case] = {k: list(v) if isinstance(v, tuple) else v for k, v in cfg.items()}
        tag = ("-quick" if args.quick else "") + (f"-seed{args.seed}" if args.seed != SEED else "")
        h5 = H.HERE / "out" / f"operators-{case}{'-quick' if args.quick else ''}.h5"
        path = make_data(case, cfg, H.HERE / "out" / f"operators-{case}{tag}.npz", h5=h5,
                         seed=args.seed)
        for m in models:
            row = run_pdekit(case, cfg, path, m, seed=args.seed)
            print(json.dumps({k: v for k, v in row.items() if k != "epoch_times"}), flush=True)
            out["rows"].append(row)
            jobs.append({"case": case, "model": m, "data": str(path), "seed": args.seed,
                         "rank": TFNO_RANK, **{k: cfg[k] for k in
                                               ("modes", "width", "layers", "epochs",
                                                "batch_size", "lr")}})
    if not args.pdekit_only:
        with tempfile.TemporaryDirectory() as tmp:
            spec = Path(tmp) / "spec.json"
            spec.write_text(json.dumps({"jobs": jobs}))
            res = H.run_peer(VENV, "operators_peer.py", ["--spec", str(spec)],
                             timeout=3600, label="neuraloperator")
        if "results" in res:
            out["rows"] += res["results"]
            out["peer_versions"] = res.get("versions")
            out["peer_threads"] = res.get("threads")
        else:
            out["peer_skipped"] = res.get("skipped")
    # ratios against the peer, per (case, model)
    peer = {(r["case"], r["model"]): r for r in out["rows"] if r["contender"] == "neuraloperator"}
    for r in out["rows"]:
        q = peer.get((r["case"], r["model"]))
        if r["contender"] == "pdekit" and q:
            r["time_ratio"] = r["s_per_epoch"] / q["s_per_epoch"]
            r["cpu_ratio"] = r["cpu_s_per_epoch"] / q["cpu_s_per_epoch"]
            r["err_ratio"] = r["test_rel_l2"] / q["test_rel_l2"]
    print(H.table(out["rows"], [("case", "case", ""), ("model", "model", ""),
                                ("contender", "contender", ""), ("n_params", "params", "d"),
                                ("s_per_epoch", "s/epoch", ".3f"),
                                ("first_epoch_s", "1st epoch s", ".2f"),
                                ("test_rel_l2", "test rel L2", ".4f"),
                                ("cpu_s_per_epoch", "CPU s/epoch", ".3f"),
                                ("time_ratio", "time ratio", ".2f"),
                                ("cpu_ratio", "CPU ratio", ".2f"),
                                ("err_ratio", "err ratio", ".2f")]))
    out["machine"]["loadavg_end"] = H.machine_info()["loadavg_1_5_15"]
    H.write_json(out, args.out)


if __name__ == "__main__":
    main()
