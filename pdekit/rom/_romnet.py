r"""ROM-nets: online routing to a local reduced basis, local Galerkin ROMs, and their file
format.

A ROM-net (Daniel, Casenave, Akkari, Ryckelynck 2020, doi:10.1186/s40323-020-00153-6) is a
dictionary of local ROMs plus a classifier that, from the problem's *input* (parameters or
an input field), picks the local ROM to run, without computing the full solution. Here:

- :class:`RomNetClassifier`: a small equinox MLP, inputs (scaled parameters) to `K` logits,
  trained (:func:`train_classifier`, through the shared loop :func:`pdekit.training.fit`) on
  the label "the local basis with the smallest projection error" of each training snapshot
  (:meth:`LocalBases.best`).
- :class:`LocalGalerkinROM`: Galerkin ROMs ``V_k^T A V_k c = V_k^T b`` for a linear problem
  ``A u = b(μ)`` with a fixed operator (e.g. :class:`MovingSource`), offline reduced matrices,
  online a dense `r x r` solve. Routing by the classifier; when it is unsure (top
  probability below `threshold`) the sample falls back to the cluster with the smallest
  relative residual ``||b - A V_k c_k|| / ||b||``, and to the global basis if even that exceeds
  `residual_tol`. (The load ``b(μ)`` of a non-affine source is a full-order vector, so the
  online cost includes its projection ``V_k^T b``, ``O(dofs r)``; the fallback residual costs
  one sparse product. Hyper-reduction of non-affine loads is left to the ROM I issue.)
- :func:`save_local_rom` / :func:`load_local_rom`: one HDF5 file, no pickle (classifier
  weights as equinox leaf bytes), loads back bit-identical; format in ``docs/rom_local.md``.
"""

from __future__ import annotations

import io
import json
import os
import pathlib
import tempfile

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import Array, Float, Int

from .._misc import check_finite_scalar, check_positive_int
from ..solvers import linalg
from ._dissimilarity import Euclidean, InnerProduct, OneMinusCos, Sine
from ._local_bases import LocalBases

__all__ = ["RomNetClassifier", "train_classifier", "cross_entropy", "LocalGalerkinROM",
           "local_galerkin_rom", "save_local_rom", "load_local_rom", "FORMAT_VERSION"]

FORMAT_VERSION = 1


class RomNetClassifier(eqx.Module):
    """MLP classifier from scaled inputs `(in_size,)` to `num_clusters` logits.

    **Arguments:** `in_size` (>= 1), `num_clusters` (>= 1), `width` (64), `depth` (2 hidden
    layers), keyword-only `key`. Inputs should be scaled to about ``[-1, 1]``.
    """

    mlp: eqx.nn.MLP
    in_size: int = eqx.field(static=True)
    num_clusters: int = eqx.field(static=True)
    width: int = eqx.field(static=True)
    depth: int = eqx.field(static=True)

    def __init__(self, in_size: int, num_clusters: int, *, width: int = 64, depth: int = 2,
                 key, dtype=None):
        self.in_size = check_positive_int("in_size", in_size)
        self.num_clusters = check_positive_int("num_clusters", num_clusters)
        self.width = check_positive_int("width", width)
        self.depth = check_positive_int("depth", depth)
        kw = {} if dtype is None else {"dtype": dtype}
        self.mlp = eqx.nn.MLP(in_size, num_clusters, width, depth, activation=jax.nn.gelu,
                              key=key, **kw)

    def __call__(self, features: Float[Array, " p"]) -> Float[Array, " K"]:
        if features.shape != (self.in_size,):
            raise ValueError(f"expected features of shape ({self.in_size},), got "
                             f"{features.shape}; for a batch use `jax.vmap` or `predict`.")
        return self.mlp(features)

    @eqx.filter_jit
    def probabilities(self, features: Float[Array, "B p"]) -> Float[Array, "B K"]:
        return jax.nn.softmax(jax.vmap(self)(features), axis=-1)

    @eqx.filter_jit
    def predict(self, features: Float[Array, "B p"]) -> Int[Array, " B"]:
        """Most probable cluster for each row of `features`."""
        return jnp.argmax(jax.vmap(self)(features), axis=-1)


def cross_entropy(logits: Float[Array, "B K"], onehot: Float[Array, "B K"]) -> Float[Array, ""]:
    """Mean softmax cross-entropy of `logits` against one-hot targets (a `fit` loss)."""
    return jnp.mean(optax.softmax_cross_entropy(logits, onehot))


def train_classifier(
    features: Float[Array, "S p"],
    labels: Int[Array, " S"],
    num_clusters: int,
    *,
    key,
    epochs: int = 300,
    learning_rate: float = 3e-3,
    batch_size: int = 32,
    width: int = 64,
    depth: int = 2,
    seed: int = 0,
    checkpoint_dir=None,
    resume: bool = False,
) -> tuple[RomNetClassifier, dict]:
    """Train a :class:`RomNetClassifier` by softmax cross-entropy with the shared training
    loop :func:`pdekit.training.fit` (Adam with cosine decay; seeded batch order; optional
    checkpoints and resume through `checkpoint_dir`).

    **Arguments:** `features` `(S, p)` scaled inputs, `labels` `(S,)` in ``0..K-1`` (the
    best local basis of each training snapshot, :meth:`LocalBases.best`), `num_clusters`
    ``K``, `key` (initial weights), `epochs`, `learning_rate`, `batch_size`, `width`,
    `depth`, `seed` (batch order), `checkpoint_dir`, `resume` (as in `fit`).

    **Returns:** `(classifier, history)`: `fit`'s history plus ``train_accuracy``.

    **Raises:** `ValueError` for mismatched shapes, labels out of range, or bad sizes.
    """
    from ..data import Dataset
    from ..training import fit

    x = jnp.asarray(features)
    y = np.asarray(labels)
    if x.ndim != 2:
        raise ValueError(f"`features` must have shape (S, p), got {x.shape}.")
    if y.shape != (x.shape[0],) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"`labels` must be integers of shape ({x.shape[0]},), got "
                         f"{y.shape} {y.dtype}.")
    K = check_positive_int("num_clusters", num_clusters)
    if y.size and (y.min() < 0 or y.max() >= K):
        raise ValueError(f"`labels` must lie in 0..{K - 1}.")
    epochs = check_positive_int("epochs", epochs)
    batch_size = min(check_positive_int("batch_size", batch_size), x.shape[0])
    learning_rate = check_finite_scalar("learning_rate", learning_rate, positive=True)
    clf = RomNetClassifier(x.shape[1], K, width=width, depth=depth, key=key, dtype=x.dtype)
    xn = np.asarray(x)
    onehot = np.eye(K, dtype=xn.dtype)[y]
    train = Dataset.from_arrays(xn, onehot)
    steps = epochs * train.num_batches(batch_size)
    opt = optax.adam(optax.cosine_decay_schedule(learning_rate, steps))
    clf, history = fit(clf, train, loss=cross_entropy, optimizer=opt, epochs=epochs,
                       batch_size=batch_size, seed=seed, checkpoint_dir=checkpoint_dir,
                       resume=resume, config={"in_size": clf.in_size, "num_clusters": K,
                                              "width": clf.width, "depth": clf.depth})
    history["train_accuracy"] = float(jnp.mean(clf.predict(x) == jnp.asarray(y)))
    return clf, history


class LocalGalerkinROM(eqx.Module):
    """Local Galerkin ROMs of ``A u = b`` (fixed SPD `A`) on a :class:`LocalBases`, with
    classifier routing and residual-based fallback (module docstring).

    **Fields:** `local` (the bases), `reduced` `(K, r, r)` ``V_k^T A V_k`` (identity on the
    zero-padded block), `A` (full operator, for the fallback residual), `classifier`
    (optional), `global_basis` `(dofs, rg)` and `global_reduced` `(rg, rg)` (optional).
    """

    local: LocalBases
    reduced: Float[Array, "K r r"]
    A: linalg.CSRMatrix
    classifier: RomNetClassifier | None
    global_basis: Float[Array, "dofs rg"] | None
    global_reduced: Float[Array, "rg rg"] | None

    @property
    def num_clusters(self) -> int:
        return self.local.num_clusters

    def _solve_k(self, b, k):
        V = self.local.bases[k]
        c = jnp.linalg.solve(self.reduced[k], V.T @ b)
        return V @ c

    def _residual(self, b, u):
        nb = jnp.linalg.norm(b)
        tiny = jnp.finfo(b.dtype).tiny
        return jnp.linalg.norm(b - self.A.matvec(u)) / jnp.maximum(nb, tiny)

    @eqx.filter_jit
    def solve_in(self, b: Float[Array, " dofs"], k: Int[Array, ""]) -> Float[Array, " dofs"]:
        """Reduced solution in cluster `k` (lifted to the full space)."""
        return self._solve_k(b, k)

    @eqx.filter_jit
    def residuals(self, b: Float[Array, " dofs"]) -> Float[Array, " K"]:
        """Relative residual of the reduced solution in every cluster."""
        return jax.vmap(lambda k: self._residual(b, self._solve_k(b, k)))(
            jnp.arange(self.num_clusters))

    @eqx.filter_jit
    def solve(
        self,
        b: Float[Array, " dofs"],
        features: Float[Array, " p"],
        *,
        threshold: float = 0.9,
        residual_tol: float = jnp.inf,
    ) -> tuple[Float[Array, " dofs"], Int[Array, ""], Int[Array, ""]]:
        """Route and solve one sample.

        **Returns:** `(u, k, source)` with `k` the cluster used (``-1``: global basis) and
        `source` ``0`` = classifier, ``1`` = residual fallback, ``2`` = global basis.
        """
        if self.classifier is None:
            raise ValueError("this ROM has no classifier; use `solve_in` or `residuals`.")
        p = jax.nn.softmax(self.classifier(features))
        k_clf = jnp.argmax(p)

        def confident(_):
            return self._solve_k(b, k_clf), k_clf, jnp.asarray(0)

        def fallback(_):
            res = self.residuals(b)
            k = jnp.argmin(res)
            u = self._solve_k(b, k)
            if self.global_basis is None:
                return u, k, jnp.asarray(1)
            V = self.global_basis
            ug = V @ jnp.linalg.solve(self.global_reduced, V.T @ b)
            use_g = res[k] > residual_tol
            return (jnp.where(use_g, ug, u), jnp.where(use_g, -1, k),
                    jnp.where(use_g, 2, 1))

        return jax.lax.cond(p[k_clf] >= threshold, confident, fallback, None)

    def online(self, *, threshold: float = 0.9, residual_tol: float = jnp.inf):
        """:meth:`solve` compiled once for repeated single queries (no per-call pytree
        handling, see :class:`pdekit.rom.Compiled`): ``f = rom.online(); u, k, source =
        f(b, features)``."""
        from ._local_router import Compiled

        threshold = check_finite_scalar("threshold", threshold)
        return Compiled(lambda r, b, x: r.solve(b, x, threshold=threshold,
                                                residual_tol=residual_tol), self)


def _reduce(A: linalg.CSRMatrix, V, r_k):
    AV = jax.vmap(A.matvec, in_axes=1, out_axes=1)(V)
    Ar = V.T @ AV
    pad = (jnp.arange(V.shape[1]) >= r_k).astype(V.dtype)
    return 0.5 * (Ar + Ar.T) + jnp.diag(pad)


def local_galerkin_rom(
    A: linalg.CSRMatrix,
    local: LocalBases,
    *,
    classifier: RomNetClassifier | None = None,
    global_basis: Float[Array, "dofs rg"] | None = None,
) -> LocalGalerkinROM:
    """Offline stage: the reduced matrices ``V_k^T A V_k`` of every local basis (and of the
    optional global basis).

    **Raises:** `ValueError` if `A` does not match the bases or the classifier's number of
    clusters differs.
    """
    if not isinstance(A, linalg.CSRMatrix):
        raise ValueError(f"`A` must be a CSRMatrix, got {type(A).__name__}.")
    if not isinstance(local, LocalBases):
        raise ValueError(f"`local` must be LocalBases, got {type(local).__name__}.")
    dofs = local.bases.shape[1]
    if A.shape != (dofs, dofs):
        raise ValueError(f"`A` has shape {A.shape}, the bases have {dofs} DOFs.")
    if classifier is not None and classifier.num_clusters != local.num_clusters:
        raise ValueError(f"`classifier` has {classifier.num_clusters} classes for "
                         f"{local.num_clusters} clusters.")
    A = linalg.CSRMatrix(A.pattern, A.data.astype(local.bases.dtype))
    reduced = jnp.stack([_reduce(A, local.bases[k], r) for k, r in enumerate(local.ranks)])
    g = gr = None
    if global_basis is not None:
        g = jnp.asarray(global_basis, local.bases.dtype)
        if g.ndim != 2 or g.shape[0] != dofs:
            raise ValueError(f"`global_basis` must have shape ({dofs}, r), got {g.shape}.")
        gr = _reduce(A, g, g.shape[1])
    return LocalGalerkinROM(local=local, reduced=reduced, A=A, classifier=classifier,
                            global_basis=g, global_reduced=gr)


# ------------------------------------------------------------------------------ file I/O

_DISSIMILARITIES = {"Euclidean": Euclidean, "Sine": Sine, "OneMinusCos": OneMinusCos}


def _csr_arrays(M: linalg.CSRMatrix, prefix: str) -> dict:
    return {f"{prefix}data": np.asarray(M.data), f"{prefix}indptr": np.asarray(M.pattern.indptr),
            f"{prefix}cols": np.asarray(M.pattern.cols),
            f"{prefix}shape": np.asarray(M.shape, dtype=np.int64)}


def _csr_from(arrays, prefix: str) -> linalg.CSRMatrix:
    import scipy.sparse as sps

    data = arrays[f"{prefix}data"]
    m = sps.csr_matrix((data, arrays[f"{prefix}cols"], arrays[f"{prefix}indptr"]),
                       shape=tuple(int(s) for s in arrays[f"{prefix}shape"]))
    out = linalg.CSRMatrix.from_scipy(m, dtype=data.dtype)
    if not np.array_equal(np.asarray(out.data), data):  # pattern order must be preserved
        raise ValueError(f"stored CSR matrix `{prefix}` is not in canonical (sorted) order.")
    return out


def _classifier_header(clf) -> dict | None:
    return None if clf is None else {"in_size": clf.in_size, "num_clusters": clf.num_clusters,
                                     "width": clf.width, "depth": clf.depth}


_FORMATS = ("pdekit.rom.LocalGalerkinROM", "pdekit.rom.LocalAffineROM",
            "pdekit.rom.LocalNonIntrusiveROM")


def save_local_rom(path, rom, *, overwrite: bool = False,
                   meta: dict | None = None) -> pathlib.Path:
    """Write a local ROM pipeline to one HDF5 file (no pickle; format in
    ``docs/rom_local.md``): a :class:`LocalGalerkinROM` (bases, medoids, reduced matrices,
    operator, inner product, classifier, global basis), a :class:`LocalAffineROM` (padded
    local certified ROMs, bases, medoids, classifier) or a :class:`LocalNonIntrusiveROM`
    (per-cluster POD modes and RBF/MLP coefficients, training parameters and labels,
    medoids, classifier). Written to a fresh temporary file beside `path`, then renamed.

    **Arguments:** `path`, `rom`, `overwrite` (replace an existing `path`; default False),
    `meta` (JSON-serialisable dict, stored in the header).

    **Returns:** the path written.

    **Raises:** `FileExistsError` if `path` exists and not `overwrite`; `ValueError` for
    another object or a non-JSON `meta` (both before anything is written).
    """
    import h5py

    from . import _local_affine, _local_nonintrusive

    writers = {LocalGalerkinROM: _galerkin_header_and_arrays,
               _local_affine.LocalAffineROM: _local_affine._header_and_arrays,
               _local_nonintrusive.LocalNonIntrusiveROM: _local_nonintrusive._header_and_arrays}
    if type(rom) not in writers:
        raise ValueError(f"`rom` must be a LocalGalerkinROM, LocalAffineROM or "
                         f"LocalNonIntrusiveROM, got {type(rom).__name__}.")
    path = pathlib.Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it.")
    header, arrays = writers[type(rom)](rom)
    header["meta"] = meta or {}
    try:
        header_json = json.dumps(header)
    except TypeError as err:
        raise ValueError(f"`meta` must be JSON-serialisable: {err}") from None
    # a fresh temporary name beside `path` (never another file of the user's), then renamed
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = pathlib.Path(name)
    try:
        with h5py.File(tmp, "w") as f:
            f.attrs["header"] = header_json
            for k, v in arrays.items():
                f.create_dataset(k, data=v)
            if rom.classifier is not None:
                buf = io.BytesIO()
                eqx.tree_serialise_leaves(buf, rom.classifier)
                f.create_dataset("classifier_leaves",
                                 data=np.frombuffer(buf.getvalue(), np.uint8))
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _galerkin_header_and_arrays(rom: LocalGalerkinROM):
    lb = rom.local
    inner = lb.inner
    header = {
        "format": "pdekit.rom.LocalGalerkinROM", "version": FORMAT_VERSION,
        "ranks": list(lb.ranks), "dissimilarity": type(lb.dissimilarity).__name__,
        "inner": inner.kind, "dtype": str(lb.bases.dtype),
        "classifier": _classifier_header(rom.classifier),
        "has_global": rom.global_basis is not None,
    }
    arrays = {"bases": lb.bases, "medoids": lb.medoids, "singular_values": lb.singular_values,
              "total_energy": lb.total_energy, "reduced": rom.reduced}
    arrays = {k: np.asarray(v) for k, v in arrays.items()}
    arrays.update(_csr_arrays(rom.A, "A_"))
    if inner.kind == "csr":
        arrays.update(_csr_arrays(inner.weights, "W_"))
    elif inner.kind in ("dense", "diagonal"):
        arrays["W"] = np.asarray(inner.weights)
    if rom.global_basis is not None:
        arrays["global_basis"] = np.asarray(rom.global_basis)
        arrays["global_reduced"] = np.asarray(rom.global_reduced)
    return header, arrays


def _load_classifier(header, a):
    if header["classifier"] is None:
        return None
    c = header["classifier"]
    # the skeleton's shapes only (no random initialisation to compile): the leaves are read
    skeleton = eqx.filter_eval_shape(
        lambda key: RomNetClassifier(c["in_size"], c["num_clusters"], width=c["width"],
                                     depth=c["depth"], key=key,
                                     dtype=jnp.dtype(header["dtype"])), jax.random.key(0))
    return eqx.tree_deserialise_leaves(io.BytesIO(a["classifier_leaves"].tobytes()), skeleton)


def load_local_rom(path):
    """Read a file written by :func:`save_local_rom` (arrays bit-identical): a
    :class:`LocalGalerkinROM`, :class:`LocalAffineROM` or :class:`LocalNonIntrusiveROM`,
    by the header's `format`.

    **Raises:** `ValueError` naming the file if it is not a local-ROM file (e.g. a
    :func:`save_rom` file), has a newer format version, or stores float64 arrays while
    x64 is off (they would be rounded: call ``pdekit.enable_x64()`` first).
    """
    import h5py

    with h5py.File(path, "r") as f:
        try:
            header = json.loads(f.attrs["header"])
            kind = header.get("format")
        except (KeyError, ValueError, AttributeError):
            raise ValueError(f"{path} is not a pdekit local-ROM file (no header; a "
                             "`save_rom` file is read by `load_rom`).") from None
        if kind not in _FORMATS:
            raise ValueError(f"{path} holds format {kind!r}, not a pdekit local ROM "
                             f"({', '.join(_FORMATS)}).")
        if int(header.get("version", 0)) > FORMAT_VERSION:
            raise ValueError(f"{path} is a {kind} of format version {header['version']}; "
                             f"this pdekit reads up to {FORMAT_VERSION}.")
        a = {}
        f.visititems(lambda name, obj: a.__setitem__(name, obj[()])
                     if isinstance(obj, h5py.Dataset) else None)
    if header.get("dtype") == "float64" and not jax.config.read("jax_enable_x64"):
        raise ValueError(f"{path} stores float64 arrays; call pdekit.enable_x64() (or drop "
                         "--float32) before loading it.")
    clf = _load_classifier(header, a)
    if kind == "pdekit.rom.LocalAffineROM":
        from ._local_affine import _from_arrays

        return _from_arrays(header, a, clf)
    if kind == "pdekit.rom.LocalNonIntrusiveROM":
        from ._local_nonintrusive import _from_arrays as _ni_from_arrays

        return _ni_from_arrays(header, a, clf)
    if header["inner"] == "csr":
        inner = InnerProduct(_csr_from(a, "W_"))
    elif header["inner"] in ("dense", "diagonal"):
        inner = InnerProduct(jnp.asarray(a["W"]))
    else:
        inner = InnerProduct(None)
    diss = _DISSIMILARITIES[header["dissimilarity"]](inner)
    lb = LocalBases(bases=jnp.asarray(a["bases"]), medoids=jnp.asarray(a["medoids"]),
                    singular_values=jnp.asarray(a["singular_values"]),
                    total_energy=jnp.asarray(a["total_energy"]), dissimilarity=diss,
                    ranks=tuple(int(r) for r in header["ranks"]))
    g = jnp.asarray(a["global_basis"]) if header["has_global"] else None
    gr = jnp.asarray(a["global_reduced"]) if header["has_global"] else None
    return LocalGalerkinROM(local=lb, reduced=jnp.asarray(a["reduced"]), A=_csr_from(a, "A_"),
                            classifier=clf, global_basis=g, global_reduced=gr)
