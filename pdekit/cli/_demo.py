"""``pdekit demo``: the main job end to end, writing figures and JSON summaries under --out.

Stages (each one ``pdekit`` command, echoed before it runs):

1. ``simulate nlse`` for the four canonical cases (float64, LawsonDOP853);
2. ``simulate poisson``: P2 on the L-shaped domain with AMG-CG;
3. ``datagen darcy``: a small FNO-recipe Darcy dataset (GRF coefficient -> pressure);
4. ``train fno`` on it, then ``eval`` (test relative L2, prediction figure);
5. ``rom build thermal-block``: a certified reduced basis by weak greedy (float64).
"""

from __future__ import annotations

import pathlib
import shutil

NLSE_CASES = ("soliton", "two-soliton", "breather", "mi")
STAGES = ("nlse", "poisson", "data", "fno", "rom")

# (full, quick) sizes of the learning and ROM stages; quick is for the test suite
_SIZES = {
    False: dict(n=192, res=32, n_train=160, n_test=32, epochs=40, modes=8, width=24,
                cells=32, train=256),
    True: dict(n=24, res=16, n_train=16, n_test=8, epochs=2, modes=4, width=8,
               cells=16, train=32),
}


def add_parser(subparsers):
    p = subparsers.add_parser(
        "demo", help="run the canonical cases end to end and write plots under --out",
        description="Run the four NLSE cases and a P2 Poisson problem (float64), generate a "
                    "small Darcy dataset, train and evaluate an FNO on it, and build a "
                    "certified thermal-block ROM; write plots, data and JSON summaries "
                    "under --out.")
    p.add_argument("--out", default="out", help="output folder (default: out)")
    p.add_argument("--overwrite", action="store_true", help="replace files from an earlier demo")
    p.add_argument("--only", default=",".join(STAGES),
                   help=f"comma-separated stages to run (default all: {','.join(STAGES)})")
    p.add_argument("--quick", action="store_true",
                   help="tiny sizes for the dataset, FNO and ROM stages (a smoke run)")
    p.set_defaults(func=run)


def _stages(text: str) -> tuple[str, ...]:
    stages = tuple(s.strip() for s in text.split(",") if s.strip())
    bad = [s for s in stages if s not in STAGES]
    if bad or not stages:
        raise ValueError(f"--only: unknown stage(s) {bad or text!r}; choose from {STAGES}.")
    return stages


def run(args) -> int:
    from .._misc import enable_x64
    from . import main

    stages = _stages(args.only)
    out = pathlib.Path(args.out)
    size = _SIZES[bool(args.quick)]
    over = ["--overwrite"] if args.overwrite else []
    run_dir = out / "fno_darcy"
    # Refuse before any work when a stage would replace earlier output without --overwrite
    # (the simulate/datagen/rom commands check their own files too; train refuses a non-empty
    # run directory, so --overwrite removes it explicitly here).
    if "fno" in stages and run_dir.exists() and any(run_dir.iterdir()):
        if not args.overwrite:
            raise ValueError(f"'{run_dir}' exists; pass --overwrite to replace it.")
    out.mkdir(parents=True, exist_ok=True)

    status = 0

    def step(argv, *, x64: bool):
        nonlocal status
        enable_x64(x64)  # every stage sets its precision: they share this process
        print(f"== pdekit {' '.join(argv)}", flush=True)
        status |= main(argv)

    if "nlse" in stages:
        for case in NLSE_CASES:
            stem = out / f"nlse_{case}"
            step(["simulate", "nlse", "--case", case, "--json",
                  "--plot", f"{stem}.png", "--save", f"{stem}.npz", *over], x64=True)
    if "poisson" in stages:  # P2 on the L-shaped domain, AMG-CG, manufactured solution
        stem = out / "poisson_lshape"
        step(["simulate", "poisson", "--mesh", "lshape", "--order", "2", "--n", "32",
              "--solver", "amg", "--json", "--plot", f"{stem}.png", "--save", f"{stem}.vtu",
              *over], x64=True)
    data = out / "darcy.h5"
    if "data" in stages:  # FNO recipe: GRF (alpha 2, tau 3) thresholded to 12 / 3, f = 1
        step(["datagen", "darcy", "--n", str(size["n"]), "--resolution", str(size["res"]),
              "--seed", "0", "--out", str(data), "--json", "--quiet",
              "--plot", str(out / "darcy_samples.png"), *over], x64=True)
    if "fno" in stages:
        if args.overwrite and run_dir.exists():
            shutil.rmtree(run_dir)
        step(["train", "fno", "--data", str(data), "--out", str(run_dir),
              "--epochs", str(size["epochs"]), "--modes", str(size["modes"]),
              "--width", str(size["width"]), "--n-train", str(size["n_train"]),
              "--n-test", str(size["n_test"]), "--batch-size", "16", "--lr", "3e-3",
              "--json", "--quiet"], x64=False)
        step(["eval", str(run_dir), "--data", str(data), "--n-test", str(size["n_test"]),
              "--plot", str(out / "fno_darcy.png"), "--json", *over], x64=False)
    if "rom" in stages:
        step(["rom", "build", "thermal-block", "--blocks", "2x2", "--cells",
              str(size["cells"]), "--train", str(size["train"]), "--x64",
              "--out", str(out / "thermal_block.h5"), "--plot", str(out / "thermal_block.png"),
              "--json", "--quiet", *over], x64=True)
    return status
