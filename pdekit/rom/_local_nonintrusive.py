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

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from ._affine import check_params
from ._nonintrusive import NonIntrusiveROM

__all__ = ["LocalNonIntrusiveROM"]


class LocalNonIntrusiveROM(eqx.Module):
    """`K` :class:`NonIntrusiveROM` models, one per cluster, with parameter routing.

    **Fields:** `roms` (tuple of `K` models, sharing the parameter box), `centers` `(S, P)`
    training parameters scaled to ``[0, 1]^P``, `labels` `(S,)` their clusters,
    `classifier` (optional, on :meth:`features`), static `mu_min`, `mu_max`.

    Build with :meth:`fit`; evaluate with :meth:`route` and :meth:`__call__`.
    """

    roms: tuple[NonIntrusiveROM, ...]
    centers: Float[Array, "S P"]
    labels: Int[Array, " S"]
    classifier: eqx.Module | None
    mu_min: tuple[float, ...] = eqx.field(static=True)
    mu_max: tuple[float, ...] = eqx.field(static=True)

    @staticmethod
    def fit(snapshots: Float[Array, "S dofs"], params: Float[Array, "S P"], clusters, *,
            rank: int | None = None, tol: float | None = None, mu_min=None, mu_max=None,
            product=None, kernel: str = "thin_plate_spline", classifier=None,
            ) -> LocalNonIntrusiveROM:
        """Fit one POD + RBF model per cluster.

        **Arguments:** `snapshots` `(S, dofs)` (rows, as in :func:`local_bases`), `params`
        `(S, P)`, `clusters` (:class:`ClusterResult` or `(S,)` labels), `rank`/`tol` (each
        local POD), `mu_min`/`mu_max` (parameter box, default the training bounding box),
        `product` (POD inner product), `kernel` (see :class:`NonIntrusiveROM`),
        `classifier` (optional, trained on :meth:`features`).

        **Raises:** `ValueError` for mismatched shapes, an empty cluster, or a cluster with
        fewer than ``P + 1`` snapshots (the RBF's linear tail needs them).
        """
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
        if classifier is not None and classifier.num_clusters != K:
            raise ValueError(f"`classifier` has {classifier.num_clusters} classes for {K} "
                             "clusters.")
        lo = mu.min(axis=0) if mu_min is None else np.asarray(mu_min, np.float64)
        hi = mu.max(axis=0) if mu_max is None else np.asarray(mu_max, np.float64)
        check_params(mu, tuple(lo), tuple(hi), "params")
        roms = tuple(
            NonIntrusiveROM.fit(X[np.nonzero(labels == k)[0]].T, mu[labels == k], rank=rank,
                                tol=tol, mu_min=lo, mu_max=hi, kernel=kernel, product=product)
            for k in range(K))
        centers = jnp.asarray((mu - lo) / (hi - lo), X.dtype)
        return LocalNonIntrusiveROM(roms=roms, centers=centers,
                                    labels=jnp.asarray(labels, jnp.int32), classifier=classifier,
                                    mu_min=tuple(lo.tolist()), mu_max=tuple(hi.tolist()))

    @property
    def num_clusters(self) -> int:
        return len(self.roms)

    def check_params(self, mu, name: str = "mu") -> np.ndarray:
        return check_params(mu, self.mu_min, self.mu_max, name)

    def features(self, mu: Float[Array, "... P"]) -> Float[Array, "... P"]:
        """Parameters scaled to ``[-1, 1]^P`` (the classifier's inputs)."""
        mu = mu.astype(self.centers.dtype)
        lo = jnp.broadcast_to(jnp.asarray(self.mu_min, mu.dtype), mu.shape)
        hi = jnp.broadcast_to(jnp.asarray(self.mu_max, mu.dtype), mu.shape)
        return 2 * (mu - lo) / (hi - lo) - 1

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
