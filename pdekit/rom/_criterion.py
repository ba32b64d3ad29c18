r"""A-priori efficiency criterion for local reduced bases: from the training snapshots alone,
before any reduced model is built, estimate whether `K` local bases beat one global basis
and pick `K`.

**Source and what is derived here.** Daniel, Casenave, Akkari, Ketata, Ryckelynck (2021,
"Physics-informed cluster analysis and a priori efficiency criterion for the construction of
local reduced-order bases", arXiv:2103.13683; ROM-net: AMSES 7(16), 2020) introduce an
a-priori criterion that compares the expected accuracy of the local bases of a clustering
with that of a global basis, computed from training data, to decide whether a ROM-net is
worth building and to calibrate its number of clusters under a training budget. We could not
read the paper's exact formula, so the criterion below is **derived** from the same
projection-error / basis-size trade-off, and tested (``tests/rom/test_local_criterion.py``)
against the empirical optimum on held-out data:

1. Cluster the `S` training snapshots for each candidate ``K`` (angle-based k-medoids on one
   precomputed dissimilarity matrix, so the cost is one pairwise matrix plus cheap FasterPAM
   runs).
2. Expected accuracy, by `F`-fold cross-validation *within* the training set: for each fold
   ``f`` and cluster ``k``, the POD ``V_k^{(-f)}`` of the cluster's snapshots outside the fold;
   each held-out snapshot ``x_i`` is projected on the basis of its own cluster ``k(i)``:

   .. math:: \hat e_K(n) = \frac1S \sum_f \sum_{i \in f}
       \frac{\| x_i - V^{(-f)}_{k(i),n} V^{(-f)\,T}_{k(i),n} W x_i \|_W}{\| x_i \|_W}

   for every basis size ``n`` at once (nested truncations). ``K = 1`` is the global basis.
   The in-sample POD tail (the N-width proxy) cannot serve here: it decreases monotonically
   in ``K`` (in the limit, one snapshot per cluster has zero error) and ignores that each
   local basis is learnt from ``~S/K`` snapshots; cross-validation charges exactly that.
   Routing is assumed correct (the held-out snapshot goes to its own cluster); the classifier
   is measured separately (``≥ 95 %`` target).
3. Expected cost: the online cost of a Galerkin ROM of size ``n`` is modelled as
   ``c(n) = n^p`` (``p = 3``: the dense reduced solve; routing costs a small constant). At a
   target accuracy ``ε`` each ``K`` needs ``n_K(ε) = min{n : \hat e_K(n) <= ε}``, and the
   *efficiency* of ``K`` local bases is the expected online speed-up at equal expected
   accuracy, ``η_K = c(n_1(ε)) / c(n_K(ε))``.
4. Choice: at a fixed basis size `n`, ``K* = argmin_K \hat e_K(n)`` (ties, i.e. values
   within the estimate's resolution ``10 sqrt(eps)`` of the minimum, go to the smaller
   ``K``); local bases pay off when ``\hat e_{K*}(n) < \hat e_1(n)`` (equivalently
   ``η_{K*} > 1`` at ``ε = \hat e_{K*}(n)``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._misc import check_positive_int
from ._clustering import kmedoids
from ._dissimilarity import AbstractDissimilarity, Sine, _check_snapshots, pairwise
from ._local_bases import _bucket, pod_rows, relative_tail

__all__ = ["CriterionResult", "efficiency_criterion", "nested_projection_errors"]


@dataclasses.dataclass(frozen=True)
class CriterionResult:
    """Output of :func:`efficiency_criterion` (host numpy arrays).

    **Fields:**
    - `Ks`: `(m,)` candidate numbers of clusters (``1`` = global basis, always included).
    - `cv_error`: `(m, n_max + 1)` cross-validated mean relative projection error
      ``\\hat e_K(n)`` for ``n = 0..n_max``.
    - `in_sample_tail`: `(m, n_max + 1)` energy-weighted in-sample POD tail (N-width proxy).
    - `basis_size`: the ``n`` at which `best_K` is chosen.
    - `best_K`: ``argmin_K \\hat e_K(n)``; `pays_off`: ``\\hat e_{best}(n) < \\hat e_1(n)``.
    - `labels`: ``{K: (S,) cluster labels}`` of the clusterings used.
    - `cost_exponent`: ``p`` of the cost model ``c(n) = n^p``.
    """

    Ks: np.ndarray
    cv_error: np.ndarray
    in_sample_tail: np.ndarray
    basis_size: int
    best_K: int
    pays_off: bool
    labels: dict
    cost_exponent: float

    def size_for(self, eps: float) -> np.ndarray:
        """``n_K(eps)`` for each candidate (``-1`` where `n_max` modes do not reach `eps`)."""
        ok = self.cv_error <= eps
        return np.where(ok.any(axis=1), np.argmax(ok, axis=1), -1)

    def efficiency(self, eps: float) -> np.ndarray:
        """Expected online speed-up over the global basis at accuracy `eps`,
        ``η_K = c(n_1)/c(n_K)`` (NaN where a size is not reached)."""
        n = self.size_for(eps).astype(np.float64)
        n[n < 0] = np.nan
        n = np.maximum(n, 1.0)
        g = n[list(self.Ks).index(1)]
        return (g / n) ** self.cost_exponent

    def summary(self) -> str:
        """A short table: K, CV error and in-sample tail at `basis_size`."""
        n = self.basis_size
        rows = [f"{'K':>3} {'cv error':>10} {'in-sample':>10}"]
        for K, e, t in zip(self.Ks, self.cv_error[:, n], self.in_sample_tail[:, n]):
            mark = "  <- best" if K == self.best_K else ""
            rows.append(f"{K:>3} {e:>10.3e} {t:>10.3e}{mark}")
        return "\n".join(rows)


def nested_projection_errors(
    basis: Float[Array, "dofs r"], x: Float[Array, "B dofs"], inner
) -> Float[Array, "B r1"]:
    """Relative projection errors of the rows of `x` onto the first ``n`` columns of a
    ``W``-orthonormal `basis`, for every ``n = 0..r`` at once: shape `(B, r + 1)`.

    Uses ``||u - V_n V_n^T W u||_W^2 = ||u||_W^2 - sum_{j<=n} c_j^2``, accurate to about
    ``sqrt(eps)`` relative (fine for estimates above ~1e-7 in float64)."""
    wx = inner.apply(x)
    c = wx @ basis
    nx2 = jnp.sum(wx * x, axis=1)
    cum = jnp.concatenate([jnp.zeros_like(nx2)[:, None], jnp.cumsum(c**2, axis=1)], axis=1)
    tiny = jnp.finfo(x.dtype).tiny
    rel = jnp.maximum(nx2[:, None] - cum, 0) / jnp.maximum(nx2, tiny)[:, None]
    return jnp.sqrt(rel)


def _nested_padded(V, x, rows, inner, bucket) -> np.ndarray:
    # pad the rows to the bucket so that the folds share compiled shapes
    m = rows.shape[0]
    idx = np.zeros(bucket, dtype=np.int32)
    idx[:m] = rows
    return np.asarray(_nested_rows(V, x, jnp.asarray(idx), inner))[:m]


@eqx.filter_jit
def _nested_rows(V, x, idx, inner):
    return nested_projection_errors(V, x[idx], inner)


def efficiency_criterion(
    snapshots: Float[Array, "S dofs"],
    Ks: Sequence[int],
    *,
    basis_size: int,
    max_size: int | None = None,
    dissimilarity: AbstractDissimilarity | None = None,
    D: Float[Array, "S S"] | None = None,
    folds: int = 5,
    seed: int = 0,
    cost_exponent: float = 3.0,
) -> CriterionResult:
    """Evaluate the a-priori efficiency criterion (module docstring) for candidate `Ks`.

    **Arguments:**
    - `snapshots`: `(S, dofs)` training snapshots (rows).
    - `Ks`: candidate cluster counts (each ``1 <= K <= S``); ``1`` is added if missing.
    - `basis_size`: the online basis size ``n`` at which `K` is chosen, ``>= 1``.
    - `max_size`: largest ``n`` evaluated (default `basis_size`); the curves cover
      ``0..max_size``.
    - `dissimilarity`: clustering dissimilarity and inner product (default :class:`Sine`).
    - `D`: the precomputed `(S, S)` dissimilarity matrix (computed if omitted).
    - `folds`: cross-validation folds ``F >= 2``; `seed`: k-medoids and fold seed.
    - `cost_exponent`: ``p`` in ``c(n) = n^p`` (default 3).

    **Returns:** a :class:`CriterionResult`.

    **Raises:** `ValueError` for bad `Ks`, sizes, folds, or a `D` of the wrong shape.
    """
    x = _check_snapshots("snapshots", snapshots)
    S = x.shape[0]
    basis_size = check_positive_int("basis_size", basis_size)
    max_size = basis_size if max_size is None else check_positive_int("max_size", max_size)
    if max_size < basis_size:
        raise ValueError(f"`max_size` must be >= basis_size ({basis_size}), got {max_size}.")
    folds = check_positive_int("folds", folds, minimum=2)
    if folds > S:
        raise ValueError(f"`folds` must be <= the number of snapshots {S}, got {folds}.")
    Ks = sorted({1, *(check_positive_int("Ks", int(k)) for k in Ks)})
    if Ks[-1] > S:
        raise ValueError(f"`Ks` must be <= the number of snapshots {S}, got {Ks[-1]}.")
    dissimilarity = Sine() if dissimilarity is None else dissimilarity
    if not isinstance(dissimilarity, AbstractDissimilarity):
        raise ValueError("`dissimilarity` must be a dissimilarity (Sine(), Euclidean(), ...).")
    inner = dissimilarity.inner
    inner.check("snapshots", x.shape[1])
    if D is None:
        D = pairwise(dissimilarity, x)
    D = np.asarray(D)
    if D.shape != (S, S):
        raise ValueError(f"`D` must have shape ({S}, {S}), got {D.shape}.")
    fold_of = np.random.default_rng(seed).permutation(S) % folds
    cv = np.zeros((len(Ks), max_size + 1))
    tail = np.zeros((len(Ks), max_size + 1))
    all_labels = {}
    for a, K in enumerate(Ks):
        labels = (np.zeros(S, dtype=np.int64) if K == 1
                  else kmedoids(D, K, seed=seed).labels)
        all_labels[K] = labels
        err = np.zeros((S, max_size + 1))
        energy, tails = [], []
        bucket = _bucket(int(np.bincount(labels).max()))  # one compiled shape per K
        for k in range(K):
            members = np.nonzero(labels == k)[0]
            p = pod_rows(x, members, rank=1, inner=inner, bucket=bucket)  # values only
            energy.append(float(p.total_energy))
            tails.append(np.pad(relative_tail(p.all_singular_values, p.total_energy),
                                (0, max_size + 1))[: max_size + 1])
            for f in range(folds):
                test = members[fold_of[members] == f]
                train = members[fold_of[members] != f]
                if test.size == 0:
                    continue
                if train.size == 0:  # nothing to learn from: the error is 1
                    err[test] = 1.0
                    continue
                V = pod_rows(x, train, rank=max_size, inner=inner, bucket=bucket).modes
                e = _nested_padded(V, x, test, inner, bucket)
                # a basis with fewer than n modes (tiny cluster) stays at its last error
                e = np.concatenate([e, np.repeat(e[:, -1:], max_size + 1 - e.shape[1], 1)], 1)
                err[test] = e
        cv[a] = err.mean(axis=0)
        E = np.asarray(energy)
        tail[a] = np.sqrt(np.sum(E[:, None] * np.stack(tails) ** 2, axis=0) / E.sum())
    col = cv[:, basis_size]
    # ties go to the smaller K (fewer ROMs to build and route); the nested errors resolve
    # about sqrt(eps), so estimates within 10 sqrt(eps) of the minimum are ties
    resolution = 10 * float(np.sqrt(np.finfo(np.dtype(x.dtype)).eps))
    best = int(np.nonzero(col <= col.min() * (1 + 1e-6) + resolution)[0][0])
    return CriterionResult(
        Ks=np.asarray(Ks), cv_error=cv, in_sample_tail=tail, basis_size=basis_size,
        best_K=int(Ks[best]), pays_off=bool(col[best] < col[0]), labels=all_labels,
        cost_exponent=float(cost_exponent),
    )
