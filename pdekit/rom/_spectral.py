r"""Spectral clustering of a precomputed dissimilarity matrix (the optional clustering of
issue #14), with scipy's symmetric eigensolvers only.

Ng, Jordan & Weiss (NIPS 2001) with the self-tuning affinity of Zelnik-Manor & Perona
(NIPS 2004): ``W_ij = exp(-D_ij^2 / (s_i s_j))``, ``s_i`` the dissimilarity of snapshot
`i` to its `n_neighbors`-th nearest neighbour (a local scale, so clusters of different
spreads need no global bandwidth); the `k` leading eigenvectors of
``S^{-1/2} W S^{-1/2}`` (``S`` the degrees), rows normalised to unit length, are clustered by
:func:`kmeans`. Each cluster's representative is its medoid in `D` (the member with the
smallest summed dissimilarity to the others), so the result feeds :func:`local_bases` and
nearest-medoid routing like a k-medoids one.

Why: k-medoids minimises the summed dissimilarity to one representative, so it prefers
compact, "round" clusters; spectral clustering follows chains of near neighbours and can
separate elongated clusters (a moving structure's snapshots along its path). Dense
``scipy.linalg.eigh`` up to 2000 snapshots, ``scipy.sparse.linalg.eigsh`` (Lanczos) above;
scikit-learn is not a dependency.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .._misc import check_positive_int
from ._clustering import ClusterResult, _canonical, kmeans

__all__ = ["spectral_clustering"]


def spectral_clustering(D, k: int, *, n_neighbors: int = 7, seed: int = 0,
                        n_init: int = 4) -> ClusterResult:
    """Spectral clustering of a precomputed `(n, n)` dissimilarity matrix (module docstring).

    **Arguments:**
    - `D`: `(n, n)` symmetric, non-negative, finite dissimilarities (e.g.
      :func:`pairwise` of :class:`Sine`).
    - `k`: number of clusters, ``1 <= k <= n``.
    - `n_neighbors`: neighbour rank of the local scale ``s_i`` (>= 1, < n; default 7).
    - `seed`, `n_init`: k-means on the spectral embedding (deterministic for a `seed`).

    **Returns:** a :class:`ClusterResult` with `labels`, `medoids` (medoid in `D` of each
    cluster) and `loss` (summed dissimilarity to the medoids, as for k-medoids).

    **Raises:** `ValueError` for a non-square, asymmetric, negative or non-finite `D`, or a
    bad `k` / `n_neighbors`.
    """
    import scipy.linalg
    import scipy.sparse.linalg

    d = np.asarray(D, dtype=np.float64)
    if d.ndim != 2 or d.shape[0] != d.shape[1]:
        raise ValueError(f"`D` must be a square (n, n) matrix, got shape {d.shape}.")
    n = d.shape[0]
    if not np.all(np.isfinite(d)) or d.min() < 0:
        raise ValueError("`D` must be finite and non-negative.")
    if not np.allclose(d, d.T, rtol=1e-6, atol=1e-12 * max(d.max(), 1e-300)):
        raise ValueError("`D` must be symmetric.")
    k = check_positive_int("k", k)
    if k > n:
        raise ValueError(f"`k` must be <= the number of snapshots {n}, got {k}.")
    n_neighbors = check_positive_int("n_neighbors", n_neighbors)
    if n_neighbors >= n:
        raise ValueError(f"`n_neighbors` must be < n = {n}, got {n_neighbors}.")
    d = 0.5 * (d + d.T)
    scale = np.sort(d, axis=1)[:, n_neighbors]  # column 0 is the snapshot itself
    scale = np.maximum(scale, np.finfo(np.float64).tiny ** 0.25)  # duplicates: no 0/0
    W = np.exp(-(d**2) / np.outer(scale, scale))
    np.fill_diagonal(W, 0.0)
    deg = np.maximum(W.sum(axis=1), np.finfo(np.float64).tiny)
    M = W / np.sqrt(np.outer(deg, deg))
    if n <= 2000:
        _, V = scipy.linalg.eigh(M, subset_by_index=[n - k, n - 1])
    else:  # Lanczos for the k algebraically largest, from a seeded start vector
        v0 = np.random.default_rng(seed).standard_normal(n)
        _, V = scipy.sparse.linalg.eigsh(M, k=k, which="LA", v0=v0)
    V = V / np.maximum(np.linalg.norm(V, axis=1, keepdims=True), 1e-300)
    emb = kmeans(jnp.asarray(V, jnp.asarray(D).dtype), k, seed=seed, n_init=n_init)
    labels = emb.labels
    medoids = np.empty(k, dtype=np.int64)
    loss = 0.0
    for j in range(k):
        members = np.nonzero(labels == j)[0]
        if members.size == 0:  # k-means keeps emptied clusters' centres: never empty here
            raise ValueError(f"spectral clustering left cluster {j} empty; use a smaller `k`.")
        cost = d[np.ix_(members, members)].sum(axis=1)
        medoids[j] = members[np.argmin(cost)]
        loss += float(cost.min())
    perm = _canonical(labels, k)
    out = np.empty_like(medoids)
    out[perm] = medoids
    return ClusterResult(labels=perm[labels], medoids=out, centers=None, loss=loss,
                         n_iter=emb.n_iter)
