"""A snapshot container (fields, parameters, mesh) with one HDF5 format and foreign readers.

Datasets, POD and the non-intrusive ROMs share it. Foreign files are converted at the edge:
:meth:`Snapshots.from_npz` (numpy archives) and :meth:`Snapshots.from_meshio` (VTU, XDMF and
every other format meshio reads, e.g. results written by scikit-fem or FEniCS).

**HDF5 format** (``format = "pdekit-snapshots"``, ``version = 1``; see ``docs/rom.md``)::

    /fields         (S, *field_shape)  float   one row per snapshot (time series: (S, T, n))
    /params         (S, P)             float   parameter values of each snapshot
    /times          (T,)               float   optional, for time series
    /mesh/points    (nodes, d)         float   optional
    /mesh/cells     (cells, k)         int     optional
    attrs: format, version, param_names (JSON list), meta (JSON object)
"""

from __future__ import annotations

import contextlib
import json
import pathlib
from collections.abc import Sequence
from typing import Any

import numpy as np

FORMAT = "pdekit-snapshots"
VERSION = 1


def _finite(name: str, arr: np.ndarray) -> None:
    if arr.size and not np.all(np.isfinite(arr)):
        bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"`{name}` contains {bad} non-finite value(s) (NaN or inf); "
                         "remove or recompute those snapshots.")


class Snapshots:
    """Snapshots of a parametrised problem: fields, the parameters that produced them, and
    (optionally) the mesh and the time instants.

    **Arguments:**
    - `fields`: shape `(S, *field_shape)`, one snapshot per row (e.g. `(S, dofs)`, or
      `(S, T, dofs)` for time series).
    - `params`: shape `(S, P)` (or `(S,)` for one parameter); default: no parameters `(S, 0)`.
    - `param_names`: `P` names (default ``mu0, mu1, ...``).
    - `points`, `cells`: the mesh, shapes `(nodes, d)` and `(cells, k)` (optional).
    - `times`: shape `(T,)` for time series (optional).
    - `meta`: JSON-serialisable dict of extra metadata.

    **Raises:** `ValueError` for non-finite values, mismatched lengths or a malformed mesh.
    """

    def __init__(self, fields, params=None, *, param_names: Sequence[str] | None = None,
                 points=None, cells=None, times=None, meta: dict | None = None):
        fields = np.asarray(fields)
        if fields.ndim < 2 or not np.issubdtype(fields.dtype, np.floating):
            raise ValueError(f"`fields` must be a float array of shape (S, *field_shape), got "
                             f"shape {fields.shape} and dtype {fields.dtype}.")
        _finite("fields", fields)
        S = fields.shape[0]
        params = np.zeros((S, 0)) if params is None else np.asarray(params, dtype=np.float64)
        if params.ndim == 1:
            params = params[:, None]
        if params.ndim != 2 or params.shape[0] != S:
            raise ValueError(f"`params` must have shape ({S}, P), got {params.shape}.")
        _finite("params", params)
        names = [f"mu{i}" for i in range(params.shape[1])] if param_names is None else list(
            param_names)
        if len(names) != params.shape[1] or not all(isinstance(n, str) for n in names):
            raise ValueError(f"`param_names` must be {params.shape[1]} strings, got {names!r}.")
        if (points is None) != (cells is None):
            raise ValueError("`points` and `cells` must be given together (or neither).")
        if points is not None:
            points = np.asarray(points, dtype=np.float64)
            cells = np.asarray(cells)
            if points.ndim != 2 or cells.ndim != 2 or not np.issubdtype(cells.dtype, np.integer):
                raise ValueError(f"mesh: `points` must be (nodes, d) and `cells` (cells, k) "
                                 f"integers, got {points.shape} and {cells.shape} {cells.dtype}.")
            _finite("points", points)
            if cells.size and (cells.min() < 0 or cells.max() >= points.shape[0]):
                raise ValueError("mesh: `cells` index nodes outside `points`.")
        if times is not None:
            times = np.asarray(times, dtype=np.float64)
            if times.ndim != 1 or fields.ndim < 3 or fields.shape[1] != times.shape[0]:
                raise ValueError(f"`times` of shape {times.shape} needs `fields` of shape "
                                 f"(S, {times.shape[0] if times.ndim == 1 else 'T'}, ...), got "
                                 f"{fields.shape}.")
        meta = {} if meta is None else dict(meta)
        try:
            json.dumps(meta)
        except TypeError as err:
            raise ValueError(f"`meta` must be JSON-serialisable: {err}") from None
        self.fields, self.params, self.param_names = fields, params, names
        self.points, self.cells, self.times, self.meta = points, cells, times, meta

    # ---- basic views -------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.fields.shape[0])

    def __repr__(self) -> str:
        mesh = "" if self.points is None else f", mesh={self.points.shape[0]} nodes"
        return (f"Snapshots(S={len(self)}, field_shape={self.fields.shape[1:]}, "
                f"params={self.param_names}{mesh})")

    def matrix(self) -> np.ndarray:
        """The snapshot matrix, shape `(n, S)` (or `(n, S*T)` for time series: every time
        instant is a column), the orientation that :func:`pdekit.rom.pod` takes."""
        n = self.fields.shape[-1]
        return self.fields.reshape(-1, n).T

    def check_mesh(self, points, cells, *, atol: float = 1e-10) -> None:
        """Raise `ValueError` unless this set's mesh equals ``(points, cells)`` (node
        coordinates within `atol`, identical connectivity)."""
        if self.points is None:
            raise ValueError("these snapshots carry no mesh to compare with.")
        points, cells = np.asarray(points), np.asarray(cells)
        if (points.shape[0] != self.points.shape[0] or cells.shape != self.cells.shape
                or points.shape[1] < self.points.shape[1]
                or not np.allclose(points[:, : self.points.shape[1]], self.points, atol=atol)
                or not np.array_equal(cells, self.cells)):
            raise ValueError(
                f"snapshot mesh ({self.points.shape[0]} nodes, {self.cells.shape[0]} cells) "
                f"does not match the given mesh ({points.shape[0]} nodes, {cells.shape[0]} "
                "cells) or its node/cell numbering; resample the snapshots onto the mesh.")

    # ---- HDF5 --------------------------------------------------------------------------
    def save(self, path, *, overwrite: bool = False) -> pathlib.Path:
        """Write the documented HDF5 format. Refuses to replace a file unless `overwrite`.

        **Raises:** `FileExistsError` if `path` exists and `overwrite` is False.
        """
        import h5py

        path = pathlib.Path(path)
        if path.exists() and not overwrite:
            raise FileExistsError(f"'{path}' exists; pass overwrite=True to replace it.")
        tmp = path.with_name(path.name + ".part")
        with h5py.File(tmp, "w") as f:
            f.attrs["format"], f.attrs["version"] = FORMAT, VERSION
            f.attrs["param_names"] = json.dumps(self.param_names)
            f.attrs["meta"] = json.dumps(self.meta)
            f["fields"], f["params"] = self.fields, self.params
            if self.times is not None:
                f["times"] = self.times
            if self.points is not None:
                f["mesh/points"], f["mesh/cells"] = self.points, self.cells
        tmp.replace(path)  # written completely or not at all
        return path

    @classmethod
    def load(cls, path, *, mesh=None) -> Snapshots:
        """Read a file written by :meth:`save` (bit-identical arrays). With `mesh` (a
        `pdekit.solvers.fem.Mesh` or a ``(points, cells)`` pair) the file's mesh must match.

        **Raises:** `ValueError` for a file of another format or a mismatched mesh.
        """
        import h5py

        with h5py.File(path, "r") as f:
            if f.attrs.get("format") != FORMAT:
                raise ValueError(f"'{path}' is not a {FORMAT} file "
                                 f"(format={f.attrs.get('format')!r}).")
            if int(f.attrs["version"]) > VERSION:
                raise ValueError(f"'{path}' has format version {f.attrs['version']}; this "
                                 f"pdekit reads up to {VERSION}.")
            out = cls(
                f["fields"][()], f["params"][()],
                param_names=json.loads(f.attrs["param_names"]),
                points=f["mesh/points"][()] if "mesh" in f else None,
                cells=f["mesh/cells"][()] if "mesh" in f else None,
                times=f["times"][()] if "times" in f else None,
                meta=json.loads(f.attrs["meta"]),
            )
        if mesh is not None:
            out.check_mesh(*_mesh_arrays(mesh))
        return out

    # ---- foreign formats ---------------------------------------------------------------
    @classmethod
    def from_npz(cls, path, *, fields: str = "fields", params: str | None = "params",
                 points: str | None = "points", cells: str | None = "cells",
                 mesh=None, param_names: Sequence[str] | None = None) -> Snapshots:
        """Read an ``.npz`` archive (never unpickles). Keys name the arrays; `params`,
        `points`, `cells` are optional (skipped when absent). `mesh` as in :meth:`load`."""
        with np.load(path, allow_pickle=False) as z:
            if fields not in z:
                raise ValueError(f"'{path}' has no array {fields!r} (keys: {sorted(z.files)}).")
            get = lambda k: z[k] if k is not None and k in z else None  # noqa: E731
            out = cls(z[fields], get(params), points=get(points), cells=get(cells),
                      param_names=param_names, meta={"source": str(path)})
        if mesh is not None:
            out.check_mesh(*_mesh_arrays(mesh))
        return out

    @classmethod
    def from_meshio(cls, paths, field: str, *, params=None, mesh=None,
                    param_names: Sequence[str] | None = None) -> Snapshots:
        """Read nodal fields from meshio-readable files (VTU, XDMF, ...): one snapshot per
        file, or one XDMF time series (a single ``.xdmf`` path with several time steps
        becomes one time-series snapshot). All files must share one mesh.

        **Arguments:** `paths` (a path or a list), `field` (the ``point_data`` name),
        `params` `(S, P)` for the S files, `mesh` to check against (as in :meth:`load`).

        **Raises:** `ValueError` if a file lacks `field` or the meshes differ.
        """
        import meshio

        paths = [paths] if isinstance(paths, (str, pathlib.Path)) else list(paths)
        if not paths:
            raise ValueError("`paths` is empty.")
        if len(paths) == 1 and str(paths[0]).endswith(".xdmf") and _is_time_series(paths[0]):
            # meshio resolves the heavy-data (.h5) path against the working directory
            xdmf = pathlib.Path(paths[0]).resolve()
            with contextlib.chdir(xdmf.parent), meshio.xdmf.TimeSeriesReader(xdmf.name) as reader:
                pts, cblocks = reader.read_points_cells()
                times, frames = [], []
                for k in range(reader.num_steps):
                    t, pdata, _ = reader.read_data(k)
                    if field not in pdata:
                        raise ValueError(f"'{paths[0]}' step {k} has no point field {field!r}.")
                    times.append(t)
                    frames.append(np.asarray(pdata[field]).reshape(len(pts), -1)[:, 0])
            pts, cells = _flat(pts, cblocks, paths[0])
            out = cls(np.asarray(frames, np.float64)[None], params, points=pts, cells=cells,
                      times=np.asarray(times), param_names=param_names,
                      meta={"source": str(paths[0])})
        else:
            fields, pts, cells = [], None, None
            for p in paths:
                m = meshio.read(str(p))
                if field not in m.point_data:
                    raise ValueError(f"'{p}' has no point field {field!r} "
                                     f"(found {sorted(m.point_data)}).")
                q, c = _flat(m.points, m.cells, p)
                if pts is None:
                    pts, cells = q, c
                elif q.shape != pts.shape or not np.allclose(q, pts) or not np.array_equal(
                        c, cells):
                    raise ValueError(f"'{p}': its mesh differs from '{paths[0]}'s; all "
                                     "snapshot files must share one mesh.")
                fields.append(np.asarray(m.point_data[field], np.float64).reshape(len(q), -1)
                              [:, 0])
            out = cls(np.stack(fields), params, points=pts, cells=cells,
                      param_names=param_names, meta={"source": [str(p) for p in paths]})
        if mesh is not None:
            out.check_mesh(*_mesh_arrays(mesh))
        return out


def _is_time_series(path) -> bool:
    import xml.etree.ElementTree as ET

    try:
        root = ET.parse(str(path)).getroot()
    except ET.ParseError:
        return False
    return any(g.get("CollectionType") == "Temporal" for g in root.iter("Grid"))


def _flat(points, cell_blocks, path) -> tuple[np.ndarray, np.ndarray]:
    """Planar points (drop a constant z) and the triangle/tetra connectivity."""
    points = np.asarray(points, np.float64)
    blocks = [(b.type, b.data) if hasattr(b, "type") else b for b in cell_blocks]
    kinds = {t for t, _ in blocks}
    kind = "tetra" if "tetra" in kinds else "triangle" if "triangle" in kinds else None
    if kind is None:
        raise ValueError(f"'{path}' holds no triangle or tetra cells (found {sorted(kinds)}).")
    cells = np.concatenate([np.asarray(d) for t, d in blocks if t == kind])
    if kind == "triangle" and points.shape[1] == 3 and np.ptp(points[:, 2]) == 0:
        points = points[:, :2]
    return points, cells.astype(np.int64)


def _mesh_arrays(mesh: Any) -> tuple[np.ndarray, np.ndarray]:
    if hasattr(mesh, "points") and hasattr(mesh, "cells"):
        return np.asarray(mesh.points), np.asarray(mesh.cells)
    points, cells = mesh
    return np.asarray(points), np.asarray(cells)
