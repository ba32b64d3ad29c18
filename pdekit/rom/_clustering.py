"""Clustering of snapshots: k-medoids on a precomputed dissimilarity matrix (FasterPAM, from
the `kmedoids` package) and k-means in an inner product (Lloyd's iterations with k-means++
seeding, in JAX).

Why these choices: k-medoids works on *any* dissimilarity (the angle-based ones have no
meaningful mean: the average of ``u`` and ``-u`` is zero), and FasterPAM (Schubert &
Rousseeuw 2021, doi:10.1016/j.is.2021.101804) is the fastest exact-swap PAM variant, kept up
in the well-maintained Rust-backed `kmedoids` package; a hand-written PAM would be slower.
k-means only makes sense for the Euclidean distance; ours (greedy k-means++ seeds, Lloyd
passes through the Gram trick, so it runs in the problem's inner product) has two back-ends
running the same algorithm: numpy/BLAS on the CPU (XLA:CPU's float64 GEMM is slower than
OpenBLAS's) and a jitted JAX loop for GPU/sharded arrays and under `jit`; it replaces
`scipy.cluster.vq.kmeans2`, which is Euclidean only, has no restarts and plain k-means++
seeding. scikit-learn is not a dependency (it is the benchmark peer).

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

from .._misc import check_positive_int
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
    from ._pod import _check_finite

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
    _check_finite("D", Dn)   # one summation pass, not an isfinite mask of n^2 entries
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
#
# Both back-ends run one algorithm, all `n_init` restarts in lockstep (each pass over the
# snapshots serves every restart: one GEMM against all restarts' centres, the pass being
# memory-bound at 10^4 DOFs):
# 1. greedy k-means++ seeding (Arthur & Vassilvitskii 2007, sec. 6): each new centre is the
#    best of ``L = 2 + floor(ln k)`` candidates drawn with probability ~ D^2 (the one that
#    lowers the potential most); the uniforms come from numpy's Generator(seed), so the two
#    back-ends draw the same candidates;
# 2. Lloyd passes: assign every snapshot to its nearest centre by the GEMM form
#    ``||x||_W^2 - 2 <x, c>_W + ||c||_W^2`` and form the new centres in the same pass;
# 3. stop a restart when its labels did not change (exact convergence) or when the squared
#    W-norm shift of its centres, summed, is <= ``tol * mean per-DOF variance`` of the
#    snapshots (scikit-learn's convention for `tol`), then reassign once to the final
#    centres (unless exactly converged), so labels, centres and loss are consistent.


def _kmeanspp_draws(seed: int, n_init: int, k: int) -> np.ndarray:
    trials = 2 + int(np.log(k))
    return np.random.default_rng([int(seed), 0x6B6D]).random((n_init, k, trials))


def _host_rows(inner: InnerProduct, c: np.ndarray) -> np.ndarray:
    return inner.apply_host(c) if inner.kind != "identity" else c


def _kmeans_host(x, xw, x2, inner, u, k, max_iter, tol_abs):
    R, _, L = u.shape
    n, dofs = x.shape

    def to_rows(idx):  # ||x_i - x_j||_W^2 for all i and the snapshots idx, (n, m)
        d = xw @ x[idx].T
        d *= -2
        d += x2[:, None]
        d += x2[idx][None, :]
        return np.maximum(d, 0, out=d)

    # 1. greedy k-means++, every restart at once
    idx = np.empty((R, k), np.int64)
    idx[:, 0] = np.minimum((u[:, 0, 0] * n).astype(np.int64), n - 1)
    closest = to_rows(idx[:, 0])                                       # (n, R)
    ar = np.arange(R)
    for j in range(1, k):
        cum = np.cumsum(closest, axis=0)
        cand = np.stack([np.searchsorted(cum[:, r], u[r, j] * cum[-1, r]) for r in range(R)])
        cand = np.minimum(cand, n - 1)                                 # (R, L)
        new = np.minimum(closest[:, :, None], to_rows(cand.ravel()).reshape(n, R, L))
        best = np.argmin(new.sum(axis=0), axis=1)
        idx[:, j] = cand[ar, best]
        closest = new[:, ar, best]
    C = x[idx]                                                          # (R, k, dofs)

    # 2. Lloyd passes, chunks of ~2 MB of snapshots (in cache for the centre sums)
    rows = int(np.clip((1 << 21) // max(dofs * x.itemsize, 1), 8, 4096))

    def lloyd_pass(C, sums_too=True):
        Rr = C.shape[0]
        Cf = C.reshape(Rr * k, dofs)
        c2 = np.einsum("ij,ij->i", _host_rows(inner, Cf), Cf)
        off = (np.arange(Rr) * k)[None, :]
        labels = np.empty((Rr, n), np.int64)
        loss = np.zeros(Rr)
        sums = np.zeros((Rr * k, dofs), x.dtype) if sums_too else None
        counts = np.zeros(Rr * k)
        for s in range(0, n, rows):
            g = xw[s:s + rows] @ Cf.T
            g *= -2
            g += c2[None, :]
            g3 = g.reshape(g.shape[0], Rr, k)
            lab = np.argmin(g3, axis=2)                                  # (b, Rr)
            dmin = np.take_along_axis(g3, lab[:, :, None], axis=2)[:, :, 0]
            loss += np.maximum(dmin + x2[s:s + rows, None], 0).sum(axis=0)
            labels[:, s:s + rows] = lab.T
            if sums_too:
                M = np.zeros_like(g)
                np.put_along_axis(M, lab + off, 1, axis=1)
                sums += M.T @ x[s:s + rows]
                counts += M.sum(axis=0)
        return labels, loss, sums, counts

    labels = np.full((R, n), -1, np.int64)
    loss = np.zeros(R)
    n_iter = np.zeros(R, np.int64)
    active = np.arange(R)
    exact = np.zeros(R, bool)
    it = 0
    while active.size and it < max_iter:
        it += 1
        lab, ls, sums, counts = lloyd_pass(C[active])
        Ca = C[active]
        counts = counts.reshape(-1, k)
        Cn = np.where(counts[:, :, None] > 0,
                      sums.reshape(-1, k, dofs) / np.maximum(counts, 1)[:, :, None], Ca)
        dC = (Cn - Ca).reshape(-1, dofs)
        shift = np.einsum("ij,ij->i", _host_rows(inner, dC), dC).reshape(-1, k).sum(axis=1)
        same = np.all(lab == labels[active], axis=1)
        labels[active], loss[active], n_iter[active] = lab, ls, it
        exact[active] = same
        C[active[~same]] = Cn[~same]
        active = active[~same & (shift > tol_abs)]
    rest = np.flatnonzero(~exact)
    if rest.size:  # final reassignment to the final centres
        lab, ls, _, _ = lloyd_pass(C[rest], sums_too=False)
        labels[rest], loss[rest] = lab, ls
    return labels, C, loss, n_iter


@eqx.filter_jit
def _kmeans_jax(x, xw, x2, inner: InnerProduct, u, k: int, max_iter: int, tol_abs):
    R, _, L = u.shape
    n, dofs = x.shape
    dtype = x.dtype
    ar = jnp.arange(R)

    def to_rows(idx):
        return jnp.maximum(x2[:, None] - 2 * xw @ x[idx].T + x2[idx][None, :], 0)

    first = jnp.minimum((u[:, 0, 0] * n).astype(jnp.int32), n - 1)
    idx = jnp.zeros((R, k), jnp.int32).at[:, 0].set(first)

    def seed_step(j, carry):
        idx, closest = carry
        cum = jnp.cumsum(closest, axis=0)
        targets = lax.dynamic_index_in_dim(u, j, axis=1, keepdims=False) * cum[-1][:, None]
        cand = jax.vmap(jnp.searchsorted)(cum.T, targets)
        cand = jnp.minimum(cand, n - 1).astype(jnp.int32)
        new = jnp.minimum(closest[:, :, None], to_rows(cand.reshape(-1)).reshape(n, R, L))
        best = jnp.argmin(jnp.sum(new, axis=0), axis=1)
        return idx.at[:, j].set(cand[ar, best]), new[:, ar, best]

    idx, _ = lax.fori_loop(1, k, seed_step, (idx, to_rows(first)))
    C = x[idx]

    def wnorm2(c):  # (R, k, dofs) -> (R, k)
        cf = c.reshape(R * k, dofs)
        return jnp.sum(inner.apply(cf) * cf, axis=1).reshape(R, k)

    def assign(C):
        d = wnorm2(C)[:, None, :] - 2 * jnp.einsum("nd,rkd->rnk", xw, C)
        lab = jnp.argmin(d, axis=2)
        dmin = jnp.take_along_axis(d, lab[:, :, None], axis=2)[:, :, 0]
        return lab, jnp.sum(jnp.maximum(dmin + x2[None, :], 0), axis=1)

    def update(lab, C):
        onehot = jax.nn.one_hot(lab, k, dtype=dtype)                    # (R, n, k)
        counts = jnp.sum(onehot, axis=1)
        sums = jnp.einsum("rnk,nd->rkd", onehot, x)
        return jnp.where(counts[:, :, None] > 0,
                         sums / jnp.maximum(counts, 1)[:, :, None], C)

    def cond(state):
        it, _, _, _, _, active, _ = state
        return (it < max_iter) & jnp.any(active)

    def body(state):
        it, C, labels, loss, n_iter, active, exact = state
        lab, ls = assign(C)
        Cn = update(lab, C)
        shift = jnp.sum(wnorm2(Cn - C), axis=1)
        same = jnp.all(lab == labels, axis=1)
        a = active
        labels = jnp.where(a[:, None], lab, labels)
        loss = jnp.where(a, ls, loss)
        n_iter = jnp.where(a, it + 1, n_iter)
        exact = jnp.where(a, same, exact)
        C = jnp.where((a & ~same)[:, None, None], Cn, C)
        active = a & ~same & (shift > tol_abs)
        return it + 1, C, labels, loss, n_iter, active, exact

    int_ = jax.dtypes.canonicalize_dtype(jnp.int64)  # argmin's dtype
    state = (jnp.asarray(0, jnp.int32), C, jnp.full((R, n), -1, int_), jnp.zeros(R, dtype),
             jnp.zeros(R, jnp.int32), jnp.ones(R, bool), jnp.zeros(R, bool))
    _, C, labels, loss, n_iter, _, exact = lax.while_loop(cond, body, state)
    lab, ls = assign(C)
    labels = jnp.where(exact[:, None], labels, lab)
    loss = jnp.where(exact, loss, ls)
    return labels, C, loss, n_iter


def kmeans(
    x: Float[Array, "n dofs"],
    k: int,
    *,
    inner=None,
    seed: int = 0,
    n_init: int = 4,
    max_iter: int = 300,
    tol: float = 1e-4,
    backend: str = "auto",
) -> ClusterResult:
    """k-means clustering of snapshots (rows of `x`) in the norm of `inner`.

    Lloyd's iterations from greedy k-means++ seeds, `n_init` restarts run together (the
    seeds' uniforms from ``numpy.random.default_rng(seed)``), the lowest sum of squared
    distances kept. A restart stops when its labels no longer change, or when its centres
    move by less than `tol` (the sum of squared `W`-norm shifts, relative to the mean
    per-DOF variance of `x`: scikit-learn's convention), or after `max_iter` passes.

    **Arguments:**
    - `x`: `(n, dofs)` snapshots.
    - `k`: number of clusters, ``1 <= k <= n``.
    - `inner`: :class:`InnerProduct` or its weights (default Euclidean).
    - `seed`, `n_init` (>= 1), `max_iter` (>= 1), `tol` (>= 0, default ``1e-4``).
    - `backend`: ``"auto"`` (numpy/BLAS for a numpy array or a concrete JAX array on one
      CPU device, XLA otherwise), ``"numpy"`` or ``"jax"``; both run the same algorithm
      with the same random draws.

    **Returns:** a :class:`ClusterResult` with `labels`, `centers`, `loss` and `n_iter`
    (Lloyd passes of the best restart).

    **Raises:** `ValueError` for bad shapes, non-finite `x`, or bad `k`, `n_init`,
    `max_iter`, `tol`, `backend`.
    """
    from ._dissimilarity import _host_snapshots, _weights_traced
    from ._pod import _check_finite, _on_host

    host = _on_host(x, backend)
    inner = _as_inner(inner)
    host = host and (backend == "numpy" or not _weights_traced(inner))
    x = _host_snapshots("x", x) if host else _check_snapshots("x", x)
    n = x.shape[0]
    k = check_positive_int("k", k)
    if k > n:
        raise ValueError(f"`k` must be <= the number of snapshots {n}, got {k}.")
    n_init = check_positive_int("n_init", n_init)
    max_iter = check_positive_int("max_iter", max_iter)
    if not (tol >= 0):
        raise ValueError(f"`tol` must be >= 0, got {tol}.")
    _check_finite("x", x)
    inner.check("x", x.shape[1])
    u = _kmeanspp_draws(seed, n_init, k)
    if host:
        xw = _host_rows(inner, x)
        x2 = np.einsum("ij,ij->i", xw, x)
        xbar = x.mean(axis=0)
        var = (x2.sum() - n * float(_host_rows(inner, xbar[None])[0] @ xbar)) / x.size
        labels, centers, loss, n_iter = _kmeans_host(x, xw, x2, inner, u.astype(x.dtype), k,
                                                     max_iter, tol * max(var, 0.0))
    else:
        xw = inner.apply(x)
        x2 = jnp.sum(xw * x, axis=1)
        xbar = jnp.mean(x, axis=0)
        var = (jnp.sum(x2) - n * jnp.sum(inner.apply(xbar[None])[0] * xbar)) / x.size
        tol_abs = jnp.asarray(tol, x.dtype) * jnp.maximum(var, 0)
        out = _kmeans_jax(x, xw, x2, inner, jnp.asarray(u, x.dtype), k, max_iter, tol_abs)
        labels, centers, loss, n_iter = (np.asarray(a) for a in out)
    r = int(np.argmin(loss))
    lab = np.asarray(labels[r], dtype=np.int64)
    perm = _canonical(lab, k)
    out_centers = np.empty_like(np.asarray(centers[r]))
    out_centers[perm] = centers[r]
    return ClusterResult(labels=perm[lab], medoids=None, centers=out_centers,
                         loss=float(loss[r]), n_iter=int(n_iter[r]))
