"""Saving and loading built ROMs: one HDF5 file, no pickle (loading runs no code).

Format (``format = "pdekit-rom"``, ``version = 1``; see ``docs/rom.md``)::

    attrs: format, version, kind ("GalerkinROM" | "NonIntrusiveROM" | "NonIntrusiveMLP"),
           static (JSON: the model's static fields), meta (JSON: free-form)
    /model/<field>    one dataset per array field of the model (absent for None)
    /extras/<name>    optional arrays (reduced basis, mesh, free DOFs, ...)

Arrays are written and read without conversion, so a loaded model is bit-identical.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib

import jax
import jax.numpy as jnp
import numpy as np

from ._galerkin import GalerkinROM
from ._nonintrusive import NonIntrusiveMLP, NonIntrusiveROM

FORMAT = "pdekit-rom"
VERSION = 1
_KINDS = {"GalerkinROM": GalerkinROM, "NonIntrusiveROM": NonIntrusiveROM,
          "NonIntrusiveMLP": NonIntrusiveMLP}


def _split(model):
    arrays, static = {}, {}
    for f in dataclasses.fields(model):
        value = getattr(model, f.name)
        if f.metadata.get("static", False):
            static[f.name] = list(value) if isinstance(value, tuple) else value
        elif value is not None:
            arrays[f.name] = np.asarray(value)
    return arrays, static


def save_rom(path, model, *, extras: dict | None = None, meta: dict | None = None,
             overwrite: bool = False) -> pathlib.Path:
    """Write a :class:`GalerkinROM`, :class:`NonIntrusiveROM` or :class:`NonIntrusiveMLP`
    (and optional `extras`, a
    dict of arrays such as the reduced basis) to `path` (HDF5).

    **Raises:** `FileExistsError` if `path` exists and not `overwrite`; `ValueError` for
    another model type, non-array extras or non-JSON `meta` (checked before writing).
    """
    import h5py

    kind = type(model).__name__
    if kind not in _KINDS:
        raise ValueError(f"`model` must be one of {sorted(_KINDS)}, got {kind}.")
    arrays, static = _split(model)
    extras = {k: np.asarray(v) for k, v in (extras or {}).items()}
    for k, v in extras.items():
        if v.dtype == object:
            raise ValueError(f"`extras[{k!r}]` must be a numeric array.")
    try:
        static_json, meta_json = json.dumps(static), json.dumps(meta or {})
    except TypeError as err:
        raise ValueError(f"`meta` must be JSON-serialisable: {err}") from None
    path = pathlib.Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"'{path}' exists; pass overwrite=True to replace it.")
    tmp = path.with_name(path.name + ".part")
    with h5py.File(tmp, "w") as f:
        f.attrs["format"], f.attrs["version"], f.attrs["kind"] = FORMAT, VERSION, kind
        f.attrs["static"], f.attrs["meta"] = static_json, meta_json
        for k, v in arrays.items():
            f[f"model/{k}"] = v
        for k, v in extras.items():
            f[f"extras/{k}"] = v
    tmp.replace(path)
    return path


def load_rom(path):
    """Read a file written by :func:`save_rom`.

    **Returns:** ``(model, extras, meta)``: the model (arrays as JAX arrays of the stored
    dtype; float64 needs ``pdekit.enable_x64()``), a dict of numpy arrays, a dict.

    **Raises:** `ValueError` for a file of another format or version, or a float64 file read
    in 32-bit mode.
    """
    import h5py

    with h5py.File(path, "r") as f:
        if f.attrs.get("format") != FORMAT:
            raise ValueError(f"'{path}' is not a {FORMAT} file (format={f.attrs.get('format')!r}).")
        if int(f.attrs["version"]) > VERSION:
            raise ValueError(f"'{path}' has format version {f.attrs['version']}; this pdekit "
                             f"reads up to {VERSION}.")
        kind = str(f.attrs["kind"])
        if kind not in _KINDS:
            raise ValueError(f"'{path}' holds an unknown model kind {kind!r}.")
        static = json.loads(f.attrs["static"])
        meta = json.loads(f.attrs["meta"])
        arrays = {k: f[f"model/{k}"][()] for k in f["model"]} if "model" in f else {}
        extras = {k: f[f"extras/{k}"][()] for k in f["extras"]} if "extras" in f else {}
    if any(a.dtype == np.float64 for a in arrays.values()) and not jax.config.read(
            "jax_enable_x64"):
        raise ValueError(f"'{path}' stores float64 arrays; call pdekit.enable_x64() (or pass "
                         "--x64) before loading it.")
    cls = _KINDS[kind]
    kwargs = {}
    for fld in dataclasses.fields(cls):
        if fld.metadata.get("static", False):
            v = static.get(fld.name)
            kwargs[fld.name] = tuple(v) if isinstance(v, list) else v
        else:
            v = arrays.get(fld.name)
            kwargs[fld.name] = None if v is None else jnp.asarray(v)
    return cls(**kwargs), extras, meta
