"""``Dataset``: a lazy view of (input, output) pairs stored by :func:`pdekit.data.generate`."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from .._misc import check_positive_int
from ._store import open_h5, read_attrs


class Dataset:
    """Pairs `(x_i, y_i)` of shape `(C, *spatial)` each (channels first), read lazily.

    ``Dataset(path)`` opens an HDF5 file written by :func:`pdekit.data.generate` (nothing is
    read until asked); ``Dataset.from_arrays(x, y, meta)`` wraps in-memory arrays. Views made
    by :meth:`split` and :meth:`subsample` share the file handle.

    **Attributes:** ``len(ds)`` samples; `x_shape`, `y_shape` per-sample shapes; `meta` the
    file's attributes (generator, params, seed, grid, units, ...; see ``docs/data.md``);
    `coords` grid coordinates per spatial axis.

    **Raises:** `ValueError` for a missing, corrupt, foreign or unfinished file (re-run the
    same ``generate`` call to finish it, or pass ``allow_incomplete=True`` to read the
    samples finished so far).
    """

    def __init__(self, path, *, allow_incomplete: bool = False):
        f = open_h5(path, "r", option="path")
        self._file = f
        self._x, self._y = f["x"], f["y"]
        meta = read_attrs(f)
        done = np.asarray(f["completed"][...], dtype=bool)
        if not done.all() and not allow_incomplete:
            f.close()
            raise ValueError(
                f"`path`: '{path}' is unfinished ({int(done.sum())} of {done.size} samples); "
                "re-run the same generate command to finish it, or pass allow_incomplete=True."
            )
        self._index = np.flatnonzero(done)
        self._stride = 1
        self.meta: dict[str, Any] = meta
        self.coords = {k: np.asarray(v) for k, v in f["coords"].items()} if "coords" in f else {}
        self.path = pathlib.Path(path)
        self._cache: tuple[np.ndarray, np.ndarray] | None = None

    @classmethod
    def from_arrays(cls, x, y, meta: dict | None = None, coords: dict | None = None) -> Dataset:
        """An in-memory dataset of `x` `(n, C, *spatial)` and `y` `(n, C', *spatial')`."""
        x, y = np.asarray(x), np.asarray(y)
        if x.ndim < 2 or y.ndim < 2:
            raise ValueError(
                f"`x` and `y` must be (n, C, *spatial) arrays, got shapes {x.shape}, {y.shape}."
            )
        if x.shape[0] != y.shape[0]:
            raise ValueError(f"`x` and `y` must have the same length, got {x.shape[0]} and "
                             f"{y.shape[0]}.")
        ds = cls.__new__(cls)
        ds._file = None
        ds._x, ds._y = x, y
        ds._index = np.arange(x.shape[0])
        ds._stride = 1
        ds.meta = dict(meta or {})
        ds.coords = {k: np.asarray(v) for k, v in (coords or {}).items()}
        ds.path = None
        ds._cache = None
        return ds

    # ---- shape and views --------------------------------------------------------------
    def __len__(self) -> int:
        return int(self._index.size)

    def _sub(self, shape):
        s = self._stride
        return (shape[0], *(-(-k // s) for k in shape[1:]))

    @property
    def x_shape(self) -> tuple[int, ...]:
        return self._sub(tuple(self._x.shape[1:]))

    @property
    def y_shape(self) -> tuple[int, ...]:
        return self._sub(tuple(self._y.shape[1:]))

    def _view(self, index=None, stride=None) -> Dataset:
        ds = Dataset.__new__(Dataset)
        ds.__dict__.update(self.__dict__)
        ds._index = self._index if index is None else index
        ds._stride = self._stride if stride is None else stride
        ds._cache = None
        if stride is not None:
            ds.coords = {k: v[::stride] for k, v in self.coords.items()}
        return ds

    def split(self, n_train: int, n_test: int) -> tuple[Dataset, Dataset]:
        """The first `n_train` and the last `n_test` samples (deterministic, disjoint)."""
        n_train = check_positive_int("n_train", n_train)
        n_test = check_positive_int("n_test", n_test)
        if n_train + n_test > len(self):
            raise ValueError(
                f"`n_train` + `n_test` = {n_train + n_test} exceeds the {len(self)} samples."
            )
        return self._view(self._index[:n_train]), self._view(self._index[-n_test:])

    def subsample(self, factor: int) -> Dataset:
        """A view at a coarser resolution: every `factor`-th point along each spatial axis
        (``x[..., ::factor, ::factor]``), starting from the first."""
        factor = check_positive_int("factor", factor)
        return self._view(stride=self._stride * factor)

    # ---- reading ----------------------------------------------------------------------
    def _read(self, arr, idx: np.ndarray) -> np.ndarray:
        spatial = (slice(None, None, self._stride),) * (arr.ndim - 2)
        if isinstance(arr, np.ndarray):
            return arr[(idx, slice(None), *spatial)]
        lo, hi = int(idx.min()), int(idx.max()) + 1
        if np.all(np.diff(idx) == 1):
            return arr[(slice(lo, hi), slice(None), *spatial)]
        # h5py wants increasing indices: read the covering block (cheap when dense) or the
        # sorted unique indices, then reorder
        order = np.argsort(idx, kind="stable")
        uniq, inv = np.unique(idx[order], return_inverse=True)
        if hi - lo <= 2 * uniq.size:
            block = arr[(slice(lo, hi), slice(None), *spatial)][uniq - lo]
        else:
            block = arr[(uniq, slice(None), *spatial)]
        out = np.empty((idx.size, *block.shape[1:]), block.dtype)
        out[order] = block[inv]
        return out

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """All samples of this view as numpy arrays `(n, C, *spatial)` (cached)."""
        if self._cache is None:
            if len(self) == 0:
                raise ValueError("the dataset view is empty.")
            self._cache = (self._read(self._x, self._index), self._read(self._y, self._index))
        return self._cache

    def num_batches(self, batch_size: int, drop_last: bool = True) -> int:
        """Number of batches :meth:`batches` yields per epoch."""
        batch_size = check_positive_int("batch_size", batch_size)
        return len(self) // batch_size if drop_last else -(-len(self) // batch_size)

    def permutation(self, seed: int, epoch: int) -> np.ndarray:
        """The sample order of `epoch`: ``jax.random.permutation(fold_in(key(seed), epoch),
        len(self))`` (positions within this view)."""
        import jax

        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise ValueError(f"`seed` must be an integer, got {seed!r}.")
        if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 0:
            raise ValueError(f"`epoch` must be an integer >= 0, got {epoch!r}.")
        key = jax.random.fold_in(jax.random.key(int(seed)), int(epoch))
        return np.asarray(jax.random.permutation(key, len(self)))

    def batches(self, batch_size: int, *, seed: int, epoch: int, drop_last: bool = True,
                in_memory: bool | None = None) -> Iterator[tuple[Any, Any]]:
        """Shuffled batches `(x, y)` as JAX arrays `(batch_size, C, *spatial)`.

        The order is :meth:`permutation` of `(seed, epoch)`, so an interrupted training run
        resumes bit-identically. With `drop_last` the final short batch is skipped.
        `in_memory` (default: when the view is under 1 GiB) reads the view once and slices
        it; otherwise each batch is read from the file.
        """
        import jax.numpy as jnp

        nb = self.num_batches(batch_size, drop_last)
        perm = self.permutation(seed, epoch)
        if in_memory is None:
            nbytes = len(self) * (np.prod(self.x_shape) * self._x.dtype.itemsize
                                  + np.prod(self.y_shape) * self._y.dtype.itemsize)
            in_memory = nbytes < (1 << 30)
        if in_memory:
            x, y = self.arrays()
        for b in range(nb):
            pos = perm[b * batch_size: (b + 1) * batch_size]
            if in_memory:
                yield jnp.asarray(x[pos]), jnp.asarray(y[pos])
            else:
                idx = self._index[pos]
                yield jnp.asarray(self._read(self._x, idx)), jnp.asarray(self._read(self._y, idx))

    def mean_std(self, axis=0, *, chunk: int = 1024):
        """Mean and standard deviation of inputs and outputs over `axis` of the
        `(n, C, *spatial)` arrays (default 0: pointwise over the samples, as FNO's
        normaliser; ``axis=(0, 2, 3)`` for per-channel statistics of 2D data).

        Computed in float64, chunk by chunk (two passes; no whole-file copy).

        **Returns:** `((x_mean, x_std), (y_mean, y_std))` as numpy float64 arrays with the
        sample axis removed and the other reduced axes kept as size 1, so they broadcast
        against one sample `(C, *spatial)`.
        """
        chunk = check_positive_int("chunk", chunk)
        axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
        nd = len(self.x_shape) + 1
        if 0 not in axes or any(not 0 <= a < nd for a in axes):
            raise ValueError(f"`axis` must include 0 and lie in [0, {nd}), got {axis!r}.")
        out = []
        for arr in (self._x, self._y):
            tot = cnt = None
            for i in range(0, len(self), chunk):
                v = self._read(arr, self._index[i: i + chunk]).astype(np.float64)
                s = v.sum(axis=axes, keepdims=True)
                tot = s if tot is None else tot + s
                c = v.size / s.size
                cnt = c if cnt is None else cnt + c
            mean = tot / cnt
            sq = None
            for i in range(0, len(self), chunk):
                v = self._read(arr, self._index[i: i + chunk]).astype(np.float64)
                s = ((v - mean) ** 2).sum(axis=axes, keepdims=True)
                sq = s if sq is None else sq + s
            out.append((mean[0], np.sqrt(sq / cnt)[0]))
        return tuple(out)

    def close(self) -> None:
        """Close the file (views of it become unusable)."""
        if self._file is not None:
            self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self) -> str:
        src = self.meta.get("generator", "arrays")
        return f"Dataset({src!r}, n={len(self)}, x_shape={self.x_shape}, y_shape={self.y_shape})"
