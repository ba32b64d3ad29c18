"""Checkpoints: equinox leaf serialisation plus a JSON header (never pickle).

A checkpoint named ``PATH`` is two files written atomically (temporary file, then rename):

* ``PATH.eqx``: ``eqx.tree_serialise_leaves`` of the pytree ``{"model": ..., "opt_state":
  ..., "key": ...}`` (numpy ``.npy`` records, one per array leaf, in tree order);
* ``PATH.json``: ``{"format": "pdekit-checkpoint", "version": 1, "config": {...},
  "state": {...}, "leaves": [[path, shape, dtype], ...]}``: the model configuration, the
  loop state (epoch, seed, history, ...) and the signature of every leaf.

Loading needs a *skeleton* (a pytree of the same structure, e.g. a freshly built model and
``optimizer.init`` of it). Its configuration and leaf signature are compared with the file's
first, so loading into a model of another configuration is refused with a ``ValueError``
naming the mismatch (``width: checkpoint 32, model 16``) instead of failing inside the
deserialiser. Arrays come back bit-identical.
"""

import json
import os
import pathlib
from typing import Any

import equinox as eqx
import jax
import numpy as np

FORMAT = "pdekit-checkpoint"
VERSION = 1


def _signature(tree) -> list[list]:
    leaves = jax.tree_util.tree_leaves_with_path(tree)
    out = []
    for path, leaf in leaves:
        if eqx.is_array(leaf):
            out.append([jax.tree_util.keystr(path), list(leaf.shape), str(leaf.dtype)])
    return out


def _atomic_write(path: pathlib.Path, write) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return obj


def save_checkpoint(path: str | os.PathLike, tree: Any, *, config: dict | None = None,
                    state: dict | None = None) -> pathlib.Path:
    """Write ``PATH.eqx`` and ``PATH.json`` (see the module docstring); returns ``PATH.json``.

    **Arguments:** `tree`: any pytree of arrays (and static parts); `config`: JSON-able
    description of what was built (compared on load); `state`: JSON-able loop state.
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    leaves_file = path.with_name(path.name + ".eqx")
    header_file = path.with_name(path.name + ".json")
    _atomic_write(leaves_file, lambda f: eqx.tree_serialise_leaves(f, tree))
    header = {"format": FORMAT, "version": VERSION, "config": _jsonable(config or {}),
              "state": _jsonable(state or {}), "leaves": _signature(tree)}
    _atomic_write(header_file, lambda f: f.write(json.dumps(header, indent=1).encode()))
    return header_file


def read_header(path: str | os.PathLike) -> dict:
    """The JSON header of checkpoint ``PATH`` (``PATH.json``). Raises ``ValueError`` if the
    files are missing or not a pdekit checkpoint."""
    path = pathlib.Path(path)
    header_file = path.with_name(path.name + ".json")
    if not header_file.is_file() or not path.with_name(path.name + ".eqx").is_file():
        raise ValueError(f"No checkpoint at '{path}' (expected {path.name}.json and "
                         f"{path.name}.eqx).")
    try:
        header = json.loads(header_file.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"'{header_file}' is not valid JSON: {err}.") from None
    if header.get("format") != FORMAT:
        raise ValueError(f"'{header_file}' is not a pdekit checkpoint.")
    if header.get("version") != VERSION:
        raise ValueError(f"'{header_file}' has format version {header.get('version')}, this "
                         f"pdekit reads version {VERSION}.")
    return header


def config_mismatch(saved: dict, current: dict, prefix: str = "") -> list[str]:
    """Human-readable differences between two configuration dicts."""
    out = []
    for k in sorted(set(saved) | set(current)):
        a, b = saved.get(k, "<absent>"), current.get(k, "<absent>")
        if isinstance(a, dict) and isinstance(b, dict):
            out += config_mismatch(a, b, prefix=f"{prefix}{k}.")
        elif _jsonable(a) != _jsonable(b):
            out.append(f"{prefix}{k}: checkpoint {a!r}, model {b!r}")
    return out


def load_checkpoint(path: str | os.PathLike, like: Any, *, config: dict | None = None
                    ) -> tuple[Any, dict]:
    """Read checkpoint ``PATH`` into a pytree shaped like `like`; returns ``(tree, state)``.

    **Raises:** ``ValueError`` naming the first mismatch when `config` (if given) differs from
    the saved configuration, or when a leaf's path, shape or dtype differs.
    """
    path = pathlib.Path(path)
    header = read_header(path)
    if config is not None:
        diff = config_mismatch(header["config"], _jsonable(config))
        if diff:
            raise ValueError(f"Checkpoint '{path}' was saved for another configuration: "
                             + "; ".join(diff) + ".")
    saved, current = header["leaves"], _signature(like)
    if len(saved) != len(current):
        raise ValueError(f"Checkpoint '{path}' holds {len(saved)} arrays, the model "
                         f"{len(current)}: another architecture.")
    for s, c in zip(saved, current):
        if s != c:
            raise ValueError(f"Checkpoint '{path}' does not fit the model at {c[0]}: "
                             f"checkpoint {s[0]} shape {tuple(s[1])} {s[2]}, model shape "
                             f"{tuple(c[1])} {c[2]}.")
    with open(path.with_name(path.name + ".eqx"), "rb") as f:
        tree = eqx.tree_deserialise_leaves(f, like)
    return tree, header["state"]
