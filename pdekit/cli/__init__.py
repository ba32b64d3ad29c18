"""The ``pdekit`` command line.

``pdekit simulate nlse ...``, ``pdekit simulate poisson ...`` and ``pdekit demo``.
Each subcommand lives in its own module with ``add_parser(subparsers)`` and ``run(args)``;
heavy imports (jax, solvers) happen inside ``run`` so ``pdekit --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys

from .. import __version__


def build_parser() -> argparse.ArgumentParser:
    from . import _compare, _datagen, _demo, _eval, _nlse, _poisson, _rom, _train

    parser = argparse.ArgumentParser(
        prog="pdekit",
        description="PDE simulation, reduced-order modelling and operator learning on JAX.",
    )
    parser.add_argument("--version", action="version", version=f"pdekit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    simulate = sub.add_parser("simulate", help="run a full-order solver",
                              description="Run a full-order solver.")
    problems = simulate.add_subparsers(dest="problem", metavar="PROBLEM", required=True)
    _nlse.add_parser(problems)
    _poisson.add_parser(problems)
    _demo.add_parser(sub)
    _train.add_parser(sub)
    _eval.add_parser(sub)
    _rom.add_parser(sub)
    _datagen.add_parser(sub)
    _compare.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``pdekit`` console script. Returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    from ._common import prepare

    try:
        prepare(args)
        return int(args.func(args) or 0)
    except ValueError as err:  # bad input: one clear line, no traceback
        print(f"pdekit: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
