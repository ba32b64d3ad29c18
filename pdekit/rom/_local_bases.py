r"""Local reduced bases: one POD basis per cluster of snapshots, projection errors, N-width
proxies and their figures.

Given snapshots ``x_1..x_S`` (rows) partitioned into clusters ``C_1..C_K`` (by
:func:`~pdekit.rom.kmedoids` on an angle-based dissimilarity, typically), the local basis
``V_k`` is the POD (:func:`pdekit.rom.pod`, in the problem's inner product ``W``) of the
snapshots of ``C_k``, optionally enlarged by overlap: the ``ceil(overlap |C_k|)`` snapshots of
other clusters closest to the medoid of ``C_k`` (Amsallem, Zahr, Farhat 2012,
doi:10.1002/nme.4371), which smooths the transition between clusters. A snapshot ``u``
assigned to cluster ``k`` is approximated by its ``W``-orthogonal projection
``V_k V_k^T W u``; its relative projection error is ``||u - V_k V_k^T W u||_W / ||u||_W``.

Convention: snapshots are *rows* here (shape `(S, dofs)`, as in datasets and
:func:`pairwise`); :func:`pdekit.rom.pod` takes them as columns, so they are transposed on the
way in. Local bases of different ranks are stored zero-padded to the largest rank (zero
columns add nothing to a projection), so every operation is one fixed-shape vmapped call.
"""

from __future__ import annotations

import dataclasses
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from .._misc import check_finite_scalar
from ._clustering import ClusterResult
from ._dissimilarity import (
    AbstractDissimilarity,
    InnerProduct,
    Sine,
    _check_snapshots,
    pairwise,
)

__all__ = [
    "LocalBases",
    "local_bases",
    "global_basis",
    "projection_errors",
    "relative_tail",
    "plot_singular_values",
    "plot_error_vs_size",
]


def _bucket(m: int) -> int:
    return 1 << max(int(m - 1).bit_length(), 2)


def pod_rows(x: Float[Array, "S dofs"], members=None, *, rank=None, tol=None,
             inner: InnerProduct, bucket: int | None = None):
    """:func:`pdekit.rom.pod` of the rows ``x[members]`` (all rows if None), zero-padded to
    a power-of-two number of snapshots: zero snapshots change no mode or singular value
    (they are dropped as round-off), and clusters of any size then share a few compiled
    shapes instead of recompiling the gather and the SVD for every cluster size (pass one
    `bucket` >= every cluster size for a single compiled shape)."""
    idx = np.arange(x.shape[0]) if members is None else np.asarray(members)
    m = idx.shape[0]
    bucket = _bucket(m) if bucket is None else max(int(bucket), m)
    pad_idx = np.zeros(bucket, dtype=np.int32)
    pad_idx[:m] = idx
    mask = np.zeros(bucket, dtype=bool)
    mask[:m] = True
    xp = _gather_rows(x, jnp.asarray(pad_idx), jnp.asarray(mask))
    # the POD of ROM I (issue #12), imported here so that this module (and pdekit.rom)
    # imports even where that branch has not been merged yet
    from ._pod import pod

    return pod(xp.T, rank=rank, tol=tol, product=_pod_product(inner))


@jax.jit
def _gather_rows(x, idx, mask):
    return jnp.where(mask[:, None], x[idx], jnp.zeros((), x.dtype))


def _pod_product(inner: InnerProduct):
    """The inner product in the form :func:`pdekit.rom.pod` takes (``product=``)."""
    if inner.kind == "identity":
        return None
    if inner.kind in ("dense", "csr"):
        return inner.weights
    w = inner.weights
    return lambda x: x * (w[:, None] if x.ndim == 2 else w).astype(x.dtype)


class LocalBases(eqx.Module):
    """A dictionary of `K` local reduced bases with their cluster representatives.

    **Fields:**
    - `bases`: `(K, dofs, r_max)`, basis ``k`` in its first `ranks[k]` columns
      (``W``-orthonormal), zeros after.
    - `medoids`: `(K, dofs)` representative snapshot of each cluster (medoid, or centroid
      for k-means clusters), used by :meth:`route_nearest`.
    - `singular_values`: `(K, s_max)` all POD singular values of each cluster (zero-padded),
      for N-width plots; `total_energy`: `(K,)` ``||X_k||_W^2``.
    - `dissimilarity`: the :class:`AbstractDissimilarity` (and so the inner product ``W``).
    - `ranks`: static tuple of the basis sizes.
    """

    bases: Float[Array, "K dofs r"]
    medoids: Float[Array, "K dofs"]
    singular_values: Float[Array, "K s"]
    total_energy: Float[Array, " K"]
    dissimilarity: AbstractDissimilarity
    ranks: tuple[int, ...] = eqx.field(static=True)

    @property
    def num_clusters(self) -> int:
        return len(self.ranks)

    @property
    def inner(self) -> InnerProduct:
        return self.dissimilarity.inner

    def truncate(self, rank: int) -> LocalBases:
        """The same bases cut to at most `rank` modes each."""
        ranks = tuple(min(r, int(rank)) for r in self.ranks)
        keep = max(ranks)
        mask = (np.arange(keep)[None, :] < np.asarray(ranks)[:, None]).astype(np.float64)
        bases = self.bases[:, :, :keep] * jnp.asarray(mask, self.bases.dtype)[:, None, :]
        return dataclasses.replace(self, bases=bases, ranks=ranks)

    @eqx.filter_jit
    def errors(self, x: Float[Array, "B dofs"]) -> Float[Array, "B K"]:
        """Relative projection error of every snapshot onto every local basis."""
        return jax.vmap(lambda V: projection_errors(V, x, self.inner), out_axes=1)(self.bases)

    def best(self, x: Float[Array, "B dofs"]) -> Int[Array, " B"]:
        """Index of the basis with the smallest projection error, for each snapshot."""
        return jnp.argmin(self.errors(x), axis=1)

    @eqx.filter_jit
    def errors_assigned(self, x: Float[Array, "B dofs"], labels: Int[Array, " B"]
                        ) -> Float[Array, " B"]:
        """Relative projection error of each snapshot onto the basis of its `labels`."""
        def one(u, k):
            return projection_errors(self.bases[k], u[None], self.inner)[0]

        return jax.vmap(one)(x, labels)

    @eqx.filter_jit
    def route_nearest(self, x: Float[Array, "B dofs"]) -> Int[Array, " B"]:
        """Cluster of the nearest representative in the clustering dissimilarity (needs the
        full field: `K` inner products of `dofs` entries per snapshot)."""
        return jnp.argmin(pairwise(self.dissimilarity, x, self.medoids), axis=1)


def projection_errors(
    basis: Float[Array, "dofs r"], x: Float[Array, "B dofs"], inner=None
) -> Float[Array, " B"]:
    """Relative ``W``-norm projection errors ``||u - V V^T W u||_W / ||u||_W`` of the rows
    of `x` onto a ``W``-orthonormal `basis` (columns); 0 for a zero snapshot."""
    inner = inner if isinstance(inner, InnerProduct) else InnerProduct(inner)
    wx = inner.apply(x)
    c = wx @ basis                       # (B, r) coefficients V^T W u
    r = x - c @ basis.T
    nr2 = jnp.sum(inner.apply(r) * r, axis=1)
    nx2 = jnp.sum(wx * x, axis=1)
    tiny = jnp.finfo(x.dtype).tiny
    return jnp.where(nx2 > tiny, jnp.sqrt(jnp.maximum(nr2, 0) / jnp.maximum(nx2, tiny)),
                     jnp.zeros((), x.dtype))


def relative_tail(singular_values, total_energy=None) -> np.ndarray:
    """N-width proxy: ``e(n) = sqrt(sum_{j>n} s_j^2 / sum_j s_j^2)`` for ``n = 0..len(s)``
    (the relative POD projection error of the snapshot set with ``n`` modes), host array."""
    s = np.asarray(singular_values, dtype=np.float64)
    total = float(np.sum(s**2)) if total_energy is None else float(total_energy)
    tail = total - np.concatenate([[0.0], np.cumsum(s**2)])
    return np.sqrt(np.maximum(tail, 0) / max(total, np.finfo(np.float64).tiny))


def _check_labels(clusters, S):
    if isinstance(clusters, ClusterResult):
        labels = clusters.labels
        K = clusters.num_clusters
    else:
        labels = np.asarray(clusters)
        if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
            raise ValueError("`clusters` must be a ClusterResult or a (S,) integer label array.")
        K = int(labels.max()) + 1 if labels.size else 0
    if labels.shape != (S,):
        raise ValueError(f"`clusters` has {labels.shape[0]} labels for {S} snapshots.")
    if labels.min() < 0:
        raise ValueError("`clusters` labels must be >= 0.")
    sizes = np.bincount(labels, minlength=K)
    if np.any(sizes == 0):
        raise ValueError(f"`clusters` has empty clusters: {np.nonzero(sizes == 0)[0].tolist()}.")
    return labels, K


def local_bases(
    snapshots: Float[Array, "S dofs"],
    clusters: ClusterResult | Int[Array, " S"],
    *,
    rank: int | None = None,
    tol: float | None = None,
    dissimilarity: AbstractDissimilarity | None = None,
    overlap: float = 0.0,
) -> LocalBases:
    """Build one POD basis per cluster.

    **Arguments:**
    - `snapshots`: `(S, dofs)` training snapshots (rows).
    - `clusters`: a :class:`ClusterResult` (its medoids become the representatives; for
      k-means, the centroids) or `(S,)` integer labels (representative: the member closest to
      the others, i.e. the medoid under `dissimilarity`).
    - `rank`, `tol`: truncation of each local POD, as in :func:`pdekit.rom.pod` (rank cap,
      relative projection error of the cluster's snapshots); neither: all modes.
    - `dissimilarity`: defines the inner product ``W`` of the PODs and the routing
      (default :class:`Sine` in the Euclidean product).
    - `overlap`: fraction ``>= 0`` of extra snapshots per cluster (nearest other-cluster
      snapshots to the representative, in `dissimilarity`), default 0.

    **Returns:** a :class:`LocalBases`.

    **Raises:** `ValueError` for bad shapes, labels that do not match `snapshots` or leave a
    cluster empty, a negative `overlap`, or invalid `rank`/`tol` (from :func:`pod`).
    """
    x = _check_snapshots("snapshots", snapshots)
    S = x.shape[0]
    labels, K = _check_labels(clusters, S)
    overlap = check_finite_scalar("overlap", overlap, nonnegative=True)
    dissimilarity = Sine() if dissimilarity is None else dissimilarity
    if not isinstance(dissimilarity, AbstractDissimilarity):
        raise ValueError(f"`dissimilarity` must be a dissimilarity (Sine(), Euclidean(), ...), "
                         f"got {type(dissimilarity).__name__}.")
    dissimilarity.inner.check("snapshots", x.shape[1])
    if isinstance(clusters, ClusterResult) and clusters.medoids is not None:
        reps = x[jnp.asarray(clusters.medoids)]
    elif isinstance(clusters, ClusterResult) and clusters.centers is not None:
        reps = jnp.asarray(clusters.centers, x.dtype)
    else:
        idx = []
        for k in range(K):
            members = np.nonzero(labels == k)[0]
            Dk = np.asarray(pairwise(dissimilarity, x[members]))
            idx.append(members[int(np.argmin(Dk.sum(axis=1)))])
        reps = x[jnp.asarray(np.asarray(idx))]
    to_reps = np.asarray(pairwise(dissimilarity, x, reps)) if overlap > 0 else None
    groups = []
    for k in range(K):
        members = np.nonzero(labels == k)[0]
        if overlap > 0:
            extra = math.ceil(overlap * members.size)
            others = np.nonzero(labels != k)[0]
            near = others[np.argsort(to_reps[others, k], kind="stable")[:extra]]
            members = np.concatenate([members, near])
        groups.append(members)
    bucket = _bucket(max(g.size for g in groups))  # one compiled POD shape for all clusters
    pods = [pod_rows(x, g, rank=rank, tol=tol, inner=dissimilarity.inner, bucket=bucket)
            for g in groups]
    ranks = tuple(p.rank for p in pods)
    r_max, s_max = max(ranks), max(p.all_singular_values.shape[0] for p in pods)
    bases = jnp.stack([jnp.pad(p.modes, ((0, 0), (0, r_max - p.rank))) for p in pods])
    svs = jnp.stack([jnp.pad(p.all_singular_values,
                             (0, s_max - p.all_singular_values.shape[0])) for p in pods])
    total = jnp.stack([p.total_energy for p in pods])
    return LocalBases(bases=bases.astype(x.dtype), medoids=reps, singular_values=svs,
                      total_energy=total, dissimilarity=dissimilarity, ranks=ranks)


def global_basis(snapshots: Float[Array, "S dofs"], *, rank: int | None = None,
                 tol: float | None = None, inner=None) -> LocalBases:
    """One global POD basis, as a one-cluster :class:`LocalBases` (same interface)."""
    x = _check_snapshots("snapshots", snapshots)
    inner = inner if isinstance(inner, InnerProduct) else InnerProduct(inner)
    return local_bases(x, np.zeros(x.shape[0], dtype=np.int64), rank=rank, tol=tol,
                       dissimilarity=Sine(inner))


# ----------------------------------------------------------------------------- figures


def plot_singular_values(curves: dict, *, max_modes: int | None = None, ax=None,
                         colors: dict | None = None):
    """N-width proxies: relative POD tail ``e(n)`` (:func:`relative_tail`) against ``n``.

    **Arguments:** `curves`: ``{label: LocalBases}``; for a `LocalBases` with several
    clusters the per-cluster curves are drawn thin and their snapshot-weighted mean
    (``sqrt(sum_k E_k e_k(n)^2 / sum_k E_k)``, ``E_k`` the cluster energy) thick;
    `colors`: optional ``{label: color}``. **Returns:** the matplotlib `Figure`.
    """
    import matplotlib.pyplot as plt

    fig, ax = (plt.subplots(figsize=(6, 4)) if ax is None else (ax.figure, ax))
    for i, (label, lb) in enumerate(curves.items()):
        color = (colors or {}).get(label, f"C{i}")
        sv = np.asarray(lb.singular_values)
        E = np.asarray(lb.total_energy, dtype=np.float64)
        tails = [relative_tail(sv[k], E[k]) for k in range(lb.num_clusters)]
        n = min(len(t) for t in tails) if max_modes is None else max_modes + 1
        tails = np.stack([np.pad(t, (0, max(0, n - len(t))))[:n] for t in tails])
        mean = np.sqrt(np.sum(E[:, None] * tails**2, axis=0) / E.sum())
        if lb.num_clusters > 1:
            for t in tails:
                ax.semilogy(np.arange(n), np.maximum(t, 1e-16), color=color, lw=0.5, alpha=0.4)
        ax.semilogy(np.arange(n), np.maximum(mean, 1e-16), color=color, lw=2, label=label)
    ax.set_xlabel("modes n")
    ax.set_ylabel("relative POD tail  e(n)")
    ax.set_title("N-width proxy (singular value decay)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def plot_error_vs_size(sizes, curves: dict, *, ax=None, title=None):
    """Mean held-out projection error against basis size; `curves`: ``{label: errors}``
    with one error per entry of `sizes`. **Returns:** the matplotlib `Figure`."""
    import matplotlib.pyplot as plt

    fig, ax = (plt.subplots(figsize=(6, 4)) if ax is None else (ax.figure, ax))
    for label, err in curves.items():
        ax.semilogy(np.asarray(sizes), np.asarray(err), "o-", label=label)
    ax.set_xlabel("basis size n (per local basis)")
    ax.set_ylabel("mean relative projection error (held out)")
    ax.set_title(title or "local vs global reduced bases")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig
