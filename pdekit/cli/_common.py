"""Options and helpers shared by CLI subcommands."""

from __future__ import annotations

import argparse
import json
import os
import pathlib
from typing import Any


def add_common_options(parser: argparse.ArgumentParser, *, time_dependent: bool = False) -> None:
    """``--float32 --x64 --json --save --plot --overwrite --quiet`` (and nothing else)."""
    precision = parser.add_mutually_exclusive_group()
    precision.add_argument("--float32", action="store_true",
                           help="compute in float32/complex64 (default: float64/complex128)")
    precision.add_argument("--x64", action="store_true",
                           help="float64/complex128 (the default; kept for compatibility)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object with the results")
    parser.add_argument("--save", metavar="FILE", help="write the results to FILE (.npz)")
    parser.add_argument("--plot", metavar="FILE", help="write a figure to FILE (.png)")
    parser.add_argument("--overwrite", action="store_true",
                        help="allow --save/--plot to replace existing files")
    if time_dependent:
        parser.add_argument("--quiet", action="store_true", help="no progress bar")


def prepare(args: argparse.Namespace) -> None:
    """Apply global options before any array is created (float64 unless ``--float32``,
    headless matplotlib)."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    if hasattr(args, "float32"):
        from .._misc import enable_x64

        enable_x64(not args.float32)
    overwrite = getattr(args, "overwrite", False)
    for name in ("save", "plot"):
        path = getattr(args, name, None)
        if path:
            check_output_path(f"--{name}", path, overwrite=overwrite)


def check_output_path(option: str, path: str, *, overwrite: bool) -> pathlib.Path:
    """Refuse to overwrite an existing file silently; create the parent folder."""
    p = pathlib.Path(path)
    if p.exists() and not overwrite:
        raise ValueError(f"{option}: '{p}' exists; pass --overwrite to replace it.")
    if p.parent and not p.parent.exists():
        p.parent.mkdir(parents=True, exist_ok=True)
    return p


def parse_params(items: list[str] | None) -> dict[str, float]:
    """Parse repeated ``--param NAME=VALUE`` options into a dict of floats."""
    out: dict[str, float] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ValueError(f"--param expects NAME=VALUE, got {item!r}.")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise ValueError(f"--param {name}: value {value!r} is not a number.") from None
    return out


def emit_json(obj: dict[str, Any]) -> None:
    """Print one JSON object on stdout (numpy scalars converted)."""
    import numpy as np

    def conv(v):
        if isinstance(v, (np.floating, np.integer)):
            return v.item()
        if isinstance(v, np.ndarray):
            return v.tolist()
        if isinstance(v, pathlib.Path):
            return str(v)
        raise TypeError(f"not JSON serialisable: {type(v).__name__}")

    print(json.dumps(obj, default=conv))
