"""The HDF5 dataset store: layout, metadata, resumable writes (see ``docs/data.md``).

Layout of a file written by :func:`pdekit.data.generate` (format ``pdekit-dataset`` v1):

- ``/x``, ``/y``: inputs and outputs, shape ``(n, C, *spatial)``, float32 (or float64),
  chunked along the sample axis (whole samples per chunk, about 1 MiB a chunk).
- ``/completed``: ``(n,)`` uint8, 1 once sample ``i`` is on disk (written after its data and
  a flush, so a killed run never marks an unwritten sample).
- ``/coords/<axis>``: grid coordinates of the spatial axes; ``/aux/<name>``: extra arrays
  of the generator (e.g. a mesh's points and cells).
- root attributes: ``format``, ``format_version``, ``generator``, ``pdekit_version``, ``n``,
  ``resolution``, ``seed``, ``dtype``, ``compute_dtype`` and JSON strings ``params`` (every
  parameter, defaults resolved), ``grid``, ``units``, ``names``, ``signature`` (what must
  match for a re-run to resume into this file).
"""

from __future__ import annotations

import json
import os
import pathlib
from typing import Any

import numpy as np

FORMAT = "pdekit-dataset"
FORMAT_VERSION = 1
CHUNK_BYTES = 1 << 20


def _h5py():
    try:
        import h5py
    except ImportError as err:  # pragma: no cover - h5py is a core dependency
        raise ImportError("pdekit.data needs h5py: pip install h5py") from err
    return h5py


def check_writable(name: str, path) -> pathlib.Path:
    """Refuse a path whose file cannot be created, before any work (names `name`)."""
    p = pathlib.Path(path)
    if p.is_dir():
        raise ValueError(f"`{name}`: '{p}' is a directory; give a file name (e.g. data.h5).")
    parent = p.parent if str(p.parent) else pathlib.Path(".")
    probe = parent
    while not probe.exists():  # the closest existing ancestor must be a writable folder
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise ValueError(f"`{name}`: cannot create '{p}' ('{probe}' is not a writable folder).")
    if p.exists() and not os.access(p, os.R_OK | os.W_OK):
        raise ValueError(f"`{name}`: '{p}' exists but is not readable and writable.")
    return p


def chunk_samples(n: int, sample_bytes: int) -> int:
    """Samples per HDF5 chunk: whole samples, about :data:`CHUNK_BYTES` a chunk."""
    return int(max(1, min(n, CHUNK_BYTES // max(1, sample_bytes))))


def read_attrs(f) -> dict[str, Any]:
    """Root attributes of an open store, JSON fields decoded."""
    out = {}
    for k, v in f.attrs.items():
        if isinstance(v, bytes):
            v = v.decode()
        if isinstance(v, np.generic):
            v = v.item()
        if k in ("params", "grid", "units", "names", "signature") and isinstance(v, str):
            v = json.loads(v)
        out[k] = v
    return out


class Store:
    """An open store file being written (internal; use :func:`pdekit.data.generate`)."""

    def __init__(self, f):
        self.f = f
        self.x = f["x"]
        self.y = f["y"]
        self.completed = f["completed"]

    @classmethod
    def create(cls, path, *, n, x_shape, y_shape, dtype, attrs, coords=None, aux=None):
        h5py = _h5py()
        dtype = np.dtype(dtype)
        f = h5py.File(path, "w")
        try:
            for k, v in attrs.items():
                f.attrs[k] = json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else v
            for name, shape in (("x", x_shape), ("y", y_shape)):
                c = chunk_samples(n, int(np.prod(shape)) * dtype.itemsize)
                f.create_dataset(name, shape=(n, *shape), dtype=dtype, chunks=(c, *shape),
                                 fillvalue=np.nan, track_times=False)
            f.create_dataset("completed", shape=(n,), dtype=np.uint8, fillvalue=0,
                             chunks=(min(n, 1 << 16),), track_times=False)
            for group, arrays in (("coords", coords), ("aux", aux)):
                g = f.create_group(group, track_order=True)
                for k, v in (arrays or {}).items():
                    g.create_dataset(k, data=np.asarray(v), track_times=False)
            f.flush()
        except BaseException:
            f.close()
            raise
        return cls(f)

    @classmethod
    def open(cls, path, signature: dict, *, option: str = "path") -> Store:
        """Open an existing store to resume; the signature must match exactly."""
        f = open_h5(path, "r+", option=option)
        try:
            attrs = read_attrs(f)
            have = attrs.get("signature")
            if have != json.loads(json.dumps(signature, sort_keys=True)):
                diff = sorted(
                    k for k in set(have) | set(signature)
                    if json.dumps(have.get(k), sort_keys=True)
                    != json.dumps(signature.get(k), sort_keys=True)
                )
                detail = ", ".join(
                    f"{k}: file has {have.get(k)!r}, asked {signature.get(k)!r}" for k in diff
                )
                raise ValueError(
                    f"`{option}`: '{path}' holds a dataset made with other parameters ({detail}); "
                    "pass overwrite=True (--overwrite) to replace it, or choose another file."
                )
            return cls(f)
        except BaseException:
            f.close()
            raise

    def pending(self) -> np.ndarray:
        """Indices of samples not yet on disk."""
        return np.flatnonzero(self.completed[...] == 0)

    def write(self, idx: np.ndarray, x: np.ndarray, y: np.ndarray) -> None:
        """Write samples `idx` (sorted), flush, then mark them complete and flush again."""
        lo, hi = int(idx[0]), int(idx[-1]) + 1
        contiguous = hi - lo == idx.size
        sel = slice(lo, hi) if contiguous else idx
        self.x[sel] = x
        self.y[sel] = y
        self.f.flush()
        self.completed[sel] = 1
        self.f.flush()

    def close(self) -> None:
        self.f.close()


def open_h5(path, mode: str = "r", *, option: str = "path"):
    """Open a pdekit store, with a clear error for a missing, corrupt or foreign file."""
    h5py = _h5py()
    p = pathlib.Path(path)
    if not p.is_file():
        raise ValueError(f"`{option}`: no file '{p}'.")
    try:
        f = h5py.File(p, mode)
    except OSError as err:
        raise ValueError(
            f"`{option}`: '{p}' is not a readable HDF5 file (corrupt or foreign: {err}); "
            "pass overwrite=True (--overwrite) to replace it."
        ) from None
    fmt = f.attrs.get("format")
    if isinstance(fmt, bytes):
        fmt = fmt.decode()
    missing = [k for k in ("x", "y", "completed") if k not in f]
    if fmt != FORMAT or missing:
        f.close()
        raise ValueError(
            f"`{option}`: '{p}' is an HDF5 file but not a pdekit dataset "
            f"(format attribute {fmt!r}, missing {missing}); pass overwrite=True "
            "(--overwrite) to replace it, or choose another file."
        )
    version = int(f.attrs.get("format_version", -1))
    if version > FORMAT_VERSION:
        f.close()
        raise ValueError(
            f"`{option}`: '{p}' has format version {version}, newer than this pdekit "
            f"reads ({FORMAT_VERSION}); upgrade pdekit."
        )
    return f
