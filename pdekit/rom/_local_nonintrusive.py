r"""Local non-intrusive ROMs: one POD + RBF model (:class:`NonIntrusiveROM`) per cluster of
snapshots, routed from the parameters.

Each cluster `k` of the training snapshots (k-medoids on an angle-based dissimilarity,
typically) gets its own POD basis ``U_k`` and an RBF interpolant of its reduced coefficients
over the cluster's parameters; a query ``mu`` is routed to a cluster without any full-order
work, by the trained :class:`RomNetClassifier` when one is given, else by the cluster of the
nearest training parameter (1-nearest neighbour in the parameter box scaled to ``[0, 1]^P``).
Then ``u(mu) ~ U_k c_k(mu)``. At a training parameter the model reproduces the snapshot's
projection onto its local basis (the RBF interpolates), so its training error is the local
projection error.
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from ._affine import check_params
from ._local_common import AbstractParamRoutedROM, check_classifier
from ._nonintrusive import NonIntrusiveMLP, NonIntrusiveROM

__all__ = ["LocalNonIntrusiveROM"]


class LocalNonIntrusiveROM(AbstractParamRoutedROM):
    """`K` non-intrusive models (:class:`NonIntrusiveROM` or :class:`NonIntrusiveMLP`), one
    per cluster, with parameter routing.

    **Fields:** `roms` (tuple of `K` models, sharing the parameter box), `centers` `(S, P)`
    training parameters scaled to ``[0, 1]^P``, `labels` `(S,)` their clusters,
    `classifier` (optional, on :meth:`features`), static `mu_min`, `mu_max`; optional
    `medoids` `(K, dofs)` (the medoid snapshots, kept for analysis) and the name of their
    `dissimilarity` (``"Sine"``, ``"Euclidean"``, ``"OneMinusCos"``).

    Build with :meth:`fit`; evaluate with :meth:`route` and :meth:`__call__`; save with
    :func:`pdekit.rom.save_local_rom`.
    """

    roms: tuple[NonIntrusiveROM | NonIntrusiveMLP, ...]
    centers: Float[Array, "S P"]
    labels: Int[Array, " S"]
    classifier: eqx.Module | None
    mu_min: tuple[float, ...] = eqx.field(static=True)
    mu_max: tuple[float, ...] = eqx.field(static=True)
    medoids: Float[Array, "K dofs"] | None = None
    dissimilarity: str | None = eqx.field(static=True, default=None)
    _dtype_of: ClassVar[str] = "centers"

    @staticmethod
    def fit(snapshots: Float[Array, "S dofs"], params: Float[Array, "S P"], clusters, *,
            rank: int | None = None, tol: float | None = None, mu_min=None, mu_max=None,
            product=None, kernel: str = "thin_plate_spline", classifier=None,
            dissimilarity=None, regressor: str = "rbf", mlp_options: dict | None = None,
            ) -> LocalNonIntrusiveROM:
        """Fit one POD + RBF (or POD + MLP) model per cluster.

        **Arguments:** `snapshots` `(S, dofs)` (rows, as in :func:`local_bases`), `params`
        `(S, P)`, `clusters` (:class:`ClusterResult` or `(S,)` labels; a k-medoids result's
        medoid snapshots are kept in `medoids`), `rank`/`tol` (each local POD),
        `mu_min`/`mu_max` (parameter box, default the training bounding box), `product`
        (POD inner product), `kernel` (see :class:`NonIntrusiveROM`), `classifier`
        (optional, trained on :meth:`features`), `dissimilarity` (optional, the one the
        clusters were made with: only its name is kept, with the medoids), `regressor`
        (``"rbf"``: :class:`NonIntrusiveROM`, default; ``"mlp"``: :class:`NonIntrusiveMLP`
        trained per cluster with `mlp_options`, e.g. ``{"epochs": 500, "hidden": (32,)}``).

        **Raises:** `ValueError` for mismatched shapes, an empty cluster, or a cluster with
        fewer than ``P + 1`` snapshots (the RBF's linear tail needs them).
        """
        from ._clustering import ClusterResult
        from ._local_bases import _check_labels

        X = jnp.asarray(snapshots)
        mu = np.asarray(params, dtype=np.float64)
        if X.ndim != 2 or mu.ndim != 2 or mu.shape[0] != X.shape[0]:
            raise ValueError(f"`snapshots` (S, dofs) and `params` (S, P) must have the same "
                             f"S, got {X.shape} and {mu.shape}.")
        labels, K = _check_labels(clusters, X.shape[0])
        P = mu.shape[1]
        sizes = np.bincount(labels, minlength=K)
        if sizes.min() < P + 1:
            raise ValueError(f"every cluster needs >= P + 1 = {P + 1} snapshots for the RBF "
                             f"fit; sizes {sizes.tolist()} (use fewer clusters).")
        check_classifier(classifier, K)
        if regressor not in ("rbf", "mlp"):
            raise ValueError(f"`regressor` must be 'rbf' or 'mlp', got {regressor!r}.")
        if mlp_options is not None and regressor != "mlp":
            raise ValueError("`mlp_options` goes with regressor='mlp'.")
        lo = mu.min(axis=0) if mu_min is None else np.asarray(mu_min, np.float64)
        hi = mu.max(axis=0) if mu_max is None else np.asarray(mu_max, np.float64)
        check_params(mu, tuple(lo), tuple(hi), "params")
        def fit_one(k):
            Xk, muk = X[np.nonzero(labels == k)[0]].T, mu[labels == k]
            box = {"rank": rank, "tol": tol, "mu_min": lo, "mu_max": hi, "product": product}
            if regressor == "mlp":
                return NonIntrusiveMLP.fit(Xk, muk, **box, **(mlp_options or {}))[0]
            return NonIntrusiveROM.fit(Xk, muk, kernel=kernel, **box)

        roms = tuple(fit_one(k) for k in range(K))
        centers = jnp.asarray((mu - lo) / (hi - lo), X.dtype)
        medoids = None
        if isinstance(clusters, ClusterResult) and clusters.medoids is not None:
            medoids = X[np.asarray(clusters.medoids)]
        return LocalNonIntrusiveROM(
            roms=roms, centers=centers, labels=jnp.asarray(labels, jnp.int32),
            classifier=classifier, mu_min=tuple(lo.tolist()), mu_max=tuple(hi.tolist()),
            medoids=medoids,
            dissimilarity=None if dissimilarity is None else type(dissimilarity).__name__)

    @property
    def num_clusters(self) -> int:
        return len(self.roms)


    @eqx.filter_jit
    def route(self, mu: Float[Array, " P"]) -> Int[Array, ""]:
        """Cluster for one parameter: the classifier's, else the nearest training
        parameter's."""
        if self.classifier is not None:
            return jnp.argmax(self.classifier(self.features(mu)))
        dtype = self.centers.dtype
        lo, hi = jnp.asarray(self.mu_min, dtype), jnp.asarray(self.mu_max, dtype)
        x = (mu.astype(dtype) - lo) / (hi - lo)
        return self.labels[jnp.argmin(jnp.sum((self.centers - x[None, :]) ** 2, axis=1))]

    @eqx.filter_jit
    def __call__(self, mu: Float[Array, " P"], k: Int[Array, ""] | None = None
                 ) -> Float[Array, " dofs"]:
        """The approximate field for one parameter, in cluster `k` (default: routed)."""
        k = self.route(mu) if k is None else k
        return jax.lax.switch(k, [lambda m, r=r: r(m) for r in self.roms], mu)


# ------------------------------------------------------------------------------ file I/O
# written and read by pdekit.rom.save_local_rom / load_local_rom (format in docs/rom_local.md)

FORMAT = "pdekit.rom.LocalNonIntrusiveROM"


def _header_and_arrays(rom: LocalNonIntrusiveROM) -> tuple[dict, dict]:
    from ._io import _split
    from ._romnet import _classifier_header

    models, arrays = [], {"centers": np.asarray(rom.centers), "labels": np.asarray(rom.labels)}
    for k, r in enumerate(rom.roms):
        a, static = _split(r)
        models.append({"kind": type(r).__name__, "static": static})
        arrays.update({f"roms/{k}/{name}": v for name, v in a.items()})
    if rom.medoids is not None:
        arrays["medoids"] = np.asarray(rom.medoids)
    header = {"format": FORMAT, "version": 1, "num_clusters": rom.num_clusters,
              "models": models, "mu_min": list(rom.mu_min), "mu_max": list(rom.mu_max),
              "dtype": str(rom.dtype), "classifier": _classifier_header(rom.classifier),
              "dissimilarity": rom.dissimilarity}
    return header, arrays


def _from_arrays(header: dict, a: dict, classifier) -> LocalNonIntrusiveROM:
    from ._io import _KINDS

    roms = []
    for k, m in enumerate(header["models"]):
        if m["kind"] not in ("NonIntrusiveROM", "NonIntrusiveMLP"):
            raise ValueError(f"cluster {k} holds an unknown model kind {m['kind']!r}.")
        kw = {name[len(f"roms/{k}/"):]: jnp.asarray(v) for name, v in a.items()
              if name.startswith(f"roms/{k}/")}
        kw.update({n: tuple(v) if isinstance(v, list) else v for n, v in m["static"].items()})
        roms.append(_KINDS[m["kind"]](**kw))
    return LocalNonIntrusiveROM(
        roms=tuple(roms), centers=jnp.asarray(a["centers"]), labels=jnp.asarray(a["labels"]),
        classifier=classifier, mu_min=tuple(float(v) for v in header["mu_min"]),
        mu_max=tuple(float(v) for v in header["mu_max"]),
        medoids=jnp.asarray(a["medoids"]) if "medoids" in a else None,
        dissimilarity=header.get("dissimilarity"))
