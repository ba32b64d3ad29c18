"""Clustering of snapshots: k-medoids on a precomputed dissimilarity matrix (FasterPAM, from
the `kmedoids` package) and k-means in an inner product (Lloyd's iterations with k-means++
seeding, in JAX).

Why these choices: k-medoids works on *any* dissimilarity (the angle-based ones have no
meaningful mean: the average of ``u`` and ``-u`` is zero), and FasterPAM (Schubert &
Rousseeuw 2021, doi:10.1016/j.is.2021.101804) is the fastest exact-swap PAM variant, kept up
in the well-maintained Rust-backed `kmedoids` package; a hand-written PAM would be slower.
k-means only makes sense for the Euclidean distance; ours is a jitted JAX Lloyd loop (one
matmul per iteration through the Gram trick, so it runs in the problem's inner product and on
GPU) rather than `scipy.cluster.vq.kmeans2`, which is Euclidean only, has no restarts and
runs numpy on the host. scikit-learn is not a dependency (it is the benchmark peer).

Both are deterministic for a given `seed` and return clusters in a canonical order (by the
smallest snapshot index in each cluster), so the same input gives bit-identical labels.
"""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax
import jax.lax as lax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._misc import check_finite_array, check_positive_int
from ._dissimilarity import InnerProduct, _as_inner, _check_snapshots

__all__ = ["ClusterResult", "kmedoids", "kmeans"]


@dataclasses.dataclass(frozen=True)
class ClusterResult:
    """A partition of `n` snapshots into `K` clusters (host numpy arrays).

    **Fields:**
    - `labels`: `(n,)` int, cluster of each snapshot, in ``0..K-1``; clusters are numbered
      by their smallest member index.
    - `medoids`: `(K,)` int indices of the medoid snapshots (k-medoids), or None.
    - `centers`: `(K, dofs)` centroids (k-means), or None.
    - `loss`: the objective (sum of dissimilarities to the medoid; sum of squared distances
      to the centroid).
    - `n_iter`: iterations of the best run.
    """

    labels: np.ndarray
    medoids: np.ndarray | None
    centers: np.ndarray | None
    loss: float
    n_iter: int

    @property
    def num_clusters(self) -> int:
        return int(self.medoids.shape[0] if self.medoids is not None else self.centers.shape[0])

    def sizes(self) -> np.ndarray:
        """Number of snapshots in each cluster, `(K,)`."""
        return np.bincount(self.labels, minlength=self.num_clusters)


def _canonical(labels: np.ndarray, k: int) -> np.ndarray:
    """Permutation `perm` with new label = perm[old], ordering clusters by first member."""
    first = np.full(k, labels.size, dtype=np.int64)
    np.minimum.at(first, labels, np.arange(labels.size))
    order = np.argsort(first, kind="stable")
    perm = np.empty(k, dtype=np.int64)
    perm[order] = np.arange(k)
    return perm


def kmedoids(
    D: Float[Array, "n n"],
    k: int,
    *,
    seed: int = 0,
    n_init: int = 4,
    max_iter: int = 100,
) -> ClusterResult:
    """k-medoids clustering of a precomputed dissimilarity matrix by FasterPAM.

    Runs FasterPAM from `n_init` random initialisations (seeds ``seed, seed+1, ...``, one
    thread each, so the result is reproducible) and keeps the lowest loss.

    **Arguments:**
    - `D`: `(n, n)` symmetric dissimilarities with zero diagonal (e.g. from
      :func:`pdekit.rom.pairwise`); numpy or JAX, float32/float64.
    - `k`: number of clusters, ``1 <= k <= n``.
    - `seed`, `n_init` (>= 1), `max_iter` (>= 1).

    **Returns:** a :class:`ClusterResult` with `labels` and `medoids`.

    **Raises:** `ValueError` for a non-square, non-finite or negative `D`, or a bad `k`.
    `ImportError` naming the package if `kmedoids` is missing.
    """
    try:
        import kmedoids as _km
    except ImportError as err:  # pragma: no cover - a declared dependency
        raise ImportError("pdekit.rom.kmedoids needs the `kmedoids` package "
                          "(pip install kmedoids).") from err
    Dn = np.asarray(D)
    if Dn.ndim != 2 or Dn.shape[0] != Dn.shape[1]:
        raise ValueError(f"`D` must be a square (n, n) matrix, got shape {Dn.shape}.")
    n = Dn.shape[0]
    k = check_positive_int("k", k)
    if k > n:
        raise ValueError(f"`k` must be <= the number of snapshots {n}, got {k}.")
    n_init = check_positive_int("n_init", n_init)
    max_iter = check_positive_int("max_iter", max_iter)
    check_finite_array("D", Dn)
    if Dn.size and Dn.min() < 0:
        raise ValueError(f"`D` must be >= 0, got a minimum of {Dn.min()}.")
    Dn = np.ascontiguousarray(Dn, dtype=np.float64 if Dn.dtype == np.float64 else np.float32)
    best = None
    for r in range(n_init):
        res = _km.fasterpam(Dn, k, max_iter=max_iter, init="random",
                            random_state=int(seed) + r, n_cpu=1)
        if best is None or float(res.loss) < float(best.loss) * (1 - 1e-12):
            best = res
    labels = np.asarray(best.labels, dtype=np.int64)
    medoids = np.asarray(best.medoids, dtype=np.int64)
    # FasterPAM labels points by nearest medoid, medoid j <-> label j
    perm = _canonical(labels, k)
    out_medoids = np.empty_like(medoids)
    out_medoids[perm] = medoids
    return ClusterResult(labels=perm[labels], medoids=out_medoids, centers=None,
                         loss=float(best.loss), n_iter=int(best.n_iter))


# ----------------------------------------------------------------------------- k-means


def _sqdist(xw, x2, c, inner):
    # ||x - c||_W^2 = x W x - 2 x W c + c W c, for all rows x and centroids c
    c2 = jnp.sum(inner.apply(c) * c, axis=1)
    return jnp.maximum(x2[:, None] - 2 * xw @ c.T + c2[None, :], 0)


@eqx.filter_jit
def _kmeans_run(x, xw, x2, inner: InnerProduct, key, k: int, max_iter: int, tol):
    n = x.shape[0]
    dtype = x.dtype

    # k-means++ seeding (Arthur & Vassilvitskii 2007): next centre drawn with prob ~ D^2
    key0, key = jax.random.split(key)
    i0 = jax.random.randint(key0, (), 0, n)
    centers = jnp.zeros((k, x.shape[1]), dtype).at[0].set(x[i0])
    d2 = _sqdist(xw, x2, x[i0][None], inner)[:, 0]

    def seed_step(j, carry):
        centers, d2, key = carry
        key, sub = jax.random.split(key)
        tot = jnp.sum(d2)
        p = jnp.where(tot > 0, d2 / jnp.where(tot > 0, tot, 1), jnp.full_like(d2, 1.0 / n))
        i = jax.random.choice(sub, n, p=p)
        centers = centers.at[j].set(x[i])
        d2 = jnp.minimum(d2, _sqdist(xw, x2, x[i][None], inner)[:, 0])
        return centers, d2, key

    centers, _, _ = lax.fori_loop(1, k, seed_step, (centers, d2, key))

    def assign(centers):
        d = _sqdist(xw, x2, centers, inner)
        labels = jnp.argmin(d, axis=1)
        return labels, jnp.sum(jnp.min(d, axis=1))

    def update(labels, centers):
        onehot = jax.nn.one_hot(labels, k, dtype=dtype)
        counts = jnp.sum(onehot, axis=0)
        sums = onehot.T @ x
        # an emptied cluster keeps its previous centre
        return jnp.where(counts[:, None] > 0, sums / jnp.maximum(counts, 1)[:, None], centers)

    def cond(state):
        it, _, _, loss, prev = state
        return (it < max_iter) & ((it == 0) | (prev - loss > tol * jnp.abs(prev)))

    def body(state):
        # the labels of the current centres are carried over from the previous assignment:
        # one assignment (one pass over x) and one update per iteration
        it, centers, labels, loss, _ = state
        centers = update(labels, centers)
        labels, new_loss = assign(centers)
        return it + 1, centers, labels, new_loss, loss

    labels0, loss0 = assign(centers)
    inf = jnp.asarray(jnp.inf, dtype)
    it, centers, labels, loss, _ = lax.while_loop(
        cond, body, (jnp.asarray(0), centers, labels0, loss0, inf))
    return labels, centers, loss, it


def kmeans(
    x: Float[Array, "n dofs"],
    k: int,
    *,
    inner=None,
    seed: int = 0,
    n_init: int = 4,
    max_iter: int = 300,
    tol: float = 1e-10,
) -> ClusterResult:
    """k-means clustering of snapshots (rows of `x`) in the norm of `inner`.

    Lloyd's iterations from k-means++ seeds, `n_init` restarts (keys from `seed`), the lowest
    sum of squared distances kept; stops when the loss decreases by less than `tol`
    (relative) or after `max_iter` iterations.

    **Arguments:**
    - `x`: `(n, dofs)` snapshots.
    - `k`: number of clusters, ``1 <= k <= n``.
    - `inner`: :class:`InnerProduct` or its weights (default Euclidean).
    - `seed`, `n_init` (>= 1), `max_iter` (>= 1), `tol` (>= 0).

    **Returns:** a :class:`ClusterResult` with `labels` and `centers`.

    **Raises:** `ValueError` for bad shapes, non-finite `x`, or bad `k`, `n_init`,
    `max_iter`, `tol`.
    """
    x = _check_snapshots("x", x)
    n = x.shape[0]
    k = check_positive_int("k", k)
    if k > n:
        raise ValueError(f"`k` must be <= the number of snapshots {n}, got {k}.")
    n_init = check_positive_int("n_init", n_init)
    max_iter = check_positive_int("max_iter", max_iter)
    if not (tol >= 0):
        raise ValueError(f"`tol` must be >= 0, got {tol}.")
    check_finite_array("x", x)
    inner = _as_inner(inner)
    inner.check("x", x.shape[1])
    xw = inner.apply(x)
    x2 = jnp.sum(xw * x, axis=1)
    best = None
    for r in range(n_init):
        key = jax.random.key(int(seed) * 7919 + r)
        labels, centers, loss, it = _kmeans_run(x, xw, x2, inner, key, k, max_iter,
                                                jnp.asarray(tol, x.dtype))
        loss = float(loss)
        if best is None or loss < best[2] * (1 - 1e-12):
            best = (labels, centers, loss, int(it))
    labels = np.asarray(best[0], dtype=np.int64)
    centers = np.asarray(best[1])
    perm = _canonical(labels, k)
    out_centers = np.empty_like(centers)
    out_centers[perm] = centers
    return ClusterResult(labels=perm[labels], medoids=None, centers=out_centers,
                         loss=best[2], n_iter=best[3])
