"""``pdekit demo``: the main job end to end, writing figures and JSON summaries under --out."""

from __future__ import annotations

import pathlib

NLSE_CASES = ("soliton", "two-soliton", "breather", "mi")


def add_parser(subparsers):
    p = subparsers.add_parser("demo", help="run the canonical cases and write plots under --out",
                              description="Run the four NLSE cases (LawsonDOP853, the CLI's "
                                          "default) and a P2 Poisson problem on the L-shaped "
                                          "domain (float64) and write their plots, data and "
                                          "JSON summaries under --out.")
    p.add_argument("--out", default="out", help="output folder (default: out)")
    p.add_argument("--overwrite", action="store_true", help="replace files from an earlier demo")
    p.set_defaults(func=run)


def run(args) -> int:
    from . import main

    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    status = 0
    for case in NLSE_CASES:
        stem = out / f"nlse_{case}"
        argv = ["simulate", "nlse", "--case", case, "--json",
                "--plot", f"{stem}.png", "--save", f"{stem}.npz"]
        if args.overwrite:
            argv.append("--overwrite")
        print(f"== pdekit {' '.join(argv)}", flush=True)
        status |= main(argv)
    # finite elements: P2 on the L-shaped domain, AMG-preconditioned CG, manufactured solution
    stem = out / "poisson_lshape"
    argv = ["simulate", "poisson", "--mesh", "lshape", "--order", "2", "--n", "32", "--solver",
            "amg", "--x64", "--json", "--plot", f"{stem}.png", "--save", f"{stem}.vtu"]
    if args.overwrite:
        argv.append("--overwrite")
    print(f"== pdekit {' '.join(argv)}", flush=True)
    status |= main(argv)
    return status
