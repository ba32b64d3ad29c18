"""Algebraic multigrid (smoothed aggregation) preconditioner with in-JAX Galerkin coarse operators.

Set-up is split in two:

1. *Host, once per sparsity pattern* (:meth:`AMG.build`): pyamg builds a smoothed-aggregation
   hierarchy from a concrete reference matrix. We keep only the prolongators ``P_l`` and,
   for every level, the sparse **linear map** ``A_l.data -> A_{l+1}.data`` of the Galerkin
   product ``A_{l+1} = P_l^T A_l P_l`` (linear in ``A_l.data`` for fixed patterns), stored as
   gather/scale/segment-sum triples.
2. *JAX, per matrix* (:meth:`AMG.operator`, called inside ``solve``): coarse
   operators are re-derived from the actual fine matrix through those maps, then smoother
   bounds and a dense Cholesky factor of the coarsest operator are computed. The V-cycle is
   therefore an exact Galerkin V-cycle for *any* values on the fine pattern (any coefficient
   field), and is jit/vmap friendly.

The V-cycle uses the same Chebyshev polynomial smoother (in ``D^{-1} A``) before and after the
coarse correction, so it is a symmetric positive definite operator and a valid CG
preconditioner.
"""

from __future__ import annotations

from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import numpy as np
import scipy.sparse as sps

from ..._misc import check_positive_int, is_tracer
from ._base import AbstractPreconditioner
from ._chebyshev import chebyshev_smoother
from ._sparse import CSRMatrix, SparsityPattern, matvec_operator


class _LinearMap(eqx.Module):
    """``out = segment_sum(weight * x[src], dst)``: a sparse linear map between data arrays."""

    src: jnp.ndarray
    dst: jnp.ndarray
    weight: jnp.ndarray
    size: int = eqx.field(static=True)

    @staticmethod
    def from_sorted_triples(src, dst, weight, size):
        """Triples ``(src, dst, weight)`` already sorted by ``dst`` (host arrays)."""
        idx = np.int32 if max(size, src.max(initial=0) + 1) < 2**31 - 1 else np.int64
        # host casts + device_put: jnp.asarray would compile a copy per new shape
        return _LinearMap(
            jax.device_put(src.astype(idx, copy=False)),
            jax.device_put(dst.astype(idx, copy=False)),
            jax.device_put(np.asarray(weight)), int(size),
        )

    def __call__(self, x):
        w = self.weight.astype(x.dtype)
        return _segsum(w * x[self.src], self.dst, self.size)

    @property
    def nnz(self) -> int:
        return int(self.src.shape[0])


def _segsum(values, ids, n):
    return jnp.zeros((n,), values.dtype).at[ids].add(values, indices_are_sorted=True)


def _canonical_csr(matrix) -> sps.csr_matrix:
    csr = sps.csr_matrix(matrix, dtype=np.float64)
    csr.sum_duplicates()
    csr.sort_indices()
    return csr


def _index_dtype(n: int):
    return np.int32 if n < 2**31 - 1 else np.int64


def _expand(counts, base, size):
    """``(g, q)``: group ``g`` repeated ``counts[g]`` times and ``q = base[g] + 0..counts[g]-1``
    (positions into a CSR array of ``size`` entries when ``base`` are row starts)."""
    total = int(counts.sum())
    g = np.repeat(np.arange(counts.size, dtype=_index_dtype(counts.size)), counts)
    idx = _index_dtype(max(total, size))
    shift = (base - (np.cumsum(counts) - counts)).astype(idx)
    q = shift[g]
    q += np.arange(total, dtype=idx)
    return g, q


class _HostCSR(NamedTuple):
    """Host (numpy) copy of a row-sorted CSR pattern, used during the set-up only."""

    indptr: np.ndarray
    cols: np.ndarray
    shape: tuple[int, int]

    @staticmethod
    def of(pattern: SparsityPattern) -> _HostCSR:
        return _HostCSR(np.asarray(pattern.indptr), np.asarray(pattern.cols), pattern.shape)

    @property
    def rows(self) -> np.ndarray:
        n = self.shape[0]
        return np.repeat(np.arange(n, dtype=_index_dtype(n)), np.diff(self.indptr))

    def to_pattern(self) -> SparsityPattern:
        return SparsityPattern._from_unique(self.rows, self.cols, self.shape)


def _triple_product_map(left, pattern: _HostCSR, right):
    """Linear map ``X.data -> (left @ X @ right).data`` for constant scipy ``left``/``right``
    (``None``: identity) and a variable ``X`` with the given pattern; returns
    ``(map, pattern_of_product)``. The structural pattern of the product is kept (stored
    zeros of ``left``/``right`` included, no cancellation)."""
    indptr = pattern.indptr.astype(np.int64)
    cols = pattern.cols
    n_rows = pattern.shape[0] if left is None else left.shape[0]
    n_cols = pattern.shape[1] if right is None else right.shape[1]
    # Triples (src entry e of X, output (i, j), weight) are generated grouped by output row i
    # (Gustavson order): for each entry (i, k) of `left`, each entry e = (k, l) of X, each
    # entry (l, j) of `right`. gl / p: the entry of `left` / `right` of each triple.
    if left is None:
        e, i = None, pattern.rows  # e = arange(nnz)
    else:
        L = _canonical_csr(left)
        gl, e = _expand(np.diff(indptr)[L.indices], indptr[L.indices], cols.size)
        i = np.repeat(np.arange(L.shape[0], dtype=_index_dtype(L.shape[0])), np.diff(L.indptr))[gl]
    if right is None:
        j = cols if e is None else cols[e]
    else:
        R = _canonical_csr(right)
        l = cols if e is None else cols[e]
        g, p = _expand(np.diff(R.indptr)[l], R.indptr[l], R.nnz)
        del l
        i, j = i[g], R.indices[p]
        e = g if e is None else e[g]
        if left is not None:
            gl = gl[g]
        del g
    if e is None:
        e = np.arange(cols.size, dtype=_index_dtype(cols.size))
    # Sort by destination (rows are already grouped, so this is mostly within-row work) and
    # number the distinct (i, j) in sorted order: that is the CSR layout of the product.
    if n_rows * n_cols >= 2**62:
        raise ValueError(f"AMG set-up: product of shape {(n_rows, n_cols)} too large to index.")
    key = i.astype(np.int64)
    key *= n_cols
    key += j
    del i, j
    order = np.argsort(key, kind="stable")
    key = key[order]
    new = np.empty(key.size, dtype=bool)
    new[:1] = True
    np.not_equal(key[1:], key[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    urows, ucols = np.divmod(key[starts], n_cols)
    del key
    del new
    dst = np.repeat(
        np.arange(starts.size, dtype=_index_dtype(starts.size)), np.diff(starts, append=e.size)
    )
    # weights in sorted order: left value * right value (1 for an identity side)
    weight = None if left is None else L.data[gl[order]]
    if right is not None:
        wr = R.data[p[order]]
        weight = wr if weight is None else weight * wr
    if weight is None:
        weight = np.ones(e.size)
    out_indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(urows, minlength=n_rows), out=out_indptr[1:])
    out = _HostCSR(out_indptr, ucols.astype(_index_dtype(n_cols)), (n_rows, n_cols))
    return _LinearMap.from_sorted_triples(e[order], dst, weight, ucols.size), out


def _map_size(left, pattern: _HostCSR, right) -> int:
    """Number of triples of :func:`_triple_product_map` (``None``: identity)."""
    counts = np.ones(pattern.cols.size, dtype=np.int64)
    if right is not None:
        counts = np.diff(_canonical_csr(right).indptr)[pattern.cols]
    if left is not None:
        lt = _canonical_csr(left.T)
        counts = counts * np.diff(lt.indptr)[pattern.rows]
    return int(np.sum(counts))


class _Level(eqx.Module):
    pattern: SparsityPattern  # pattern of A_l
    P: CSRMatrix  # prolongator, n_l x n_{l+1}
    R: CSRMatrix  # P^T, row-sorted for a fast restriction
    maps: tuple[_LinearMap, ...]  # applied in order: A_l.data -> ... -> A_{l+1}.data


class AMG(AbstractPreconditioner):
    """Smoothed-aggregation algebraic multigrid V-cycle, for CG on SPD matrices.

    Build it once per sparsity pattern with :meth:`AMG.build` from a concrete reference
    matrix; then use it for any matrix with the same pattern (e.g. another coefficient
    field, inside ``jit``/``vmap``/``grad``): coarse operators are recomputed from the matrix
    given to ``solve`` (exact Galerkin products), only the aggregation/prolongators are fixed.

    **Fields:** `levels` (all but the coarsest), `coarse_pattern` (pattern of the coarsest
    operator, solved by dense Cholesky), `degree` (Chebyshev smoother degree, static),
    `lower_ratio` (smoother targets eigenvalues in ``[lambda_max/lower_ratio, lambda_max]``
    of ``D^{-1}A``, static).
    """

    levels: tuple[_Level, ...]
    coarse_pattern: SparsityPattern
    degree: int = eqx.field(static=True)
    lower_ratio: float = eqx.field(static=True)

    @staticmethod
    def build(
        A_ref,
        *,
        max_coarse: int = 100,
        max_levels: int = 12,
        degree: int = 2,
        lower_ratio: float = 30.0,
        strength="symmetric",
        aggregate="standard",
        smooth=("jacobi", {"omega": 4.0 / 3.0}),
    ) -> AMG:
        """Host-side set-up from a concrete SPD reference matrix.

        **Arguments:**
        - `A_ref`: :class:`CSRMatrix` (concrete, not traced) or scipy sparse matrix, SPD.
        - `max_coarse`: coarsest size at most this (dense Cholesky there), in ``[1, 5000]``.
        - `max_levels`: maximum number of levels, ``>= 1``.
        - `degree`: Chebyshev smoother degree per pre/post sweep, ``>= 1``.
        - `lower_ratio`: smoother interval ``[lambda_max/lower_ratio, lambda_max]``, ``> 1``.
        - `strength`, `aggregate`, `smooth`: passed to
          ``pyamg.smoothed_aggregation_solver``; ``smooth=None`` gives plain aggregation
          (cheaper coarse operators, weaker cycle).

        **Returns:** an :class:`AMG` preconditioner.
        """
        import pyamg

        if isinstance(A_ref, CSRMatrix):
            pattern = A_ref.pattern
            mat = A_ref.to_scipy()
        elif sps.issparse(A_ref):
            mat = sps.csr_matrix(A_ref, dtype=np.float64)
            mat.sum_duplicates()
            mat.sort_indices()
            pattern = SparsityPattern.from_scipy(mat)
            mat = sps.csr_matrix(mat)
        else:
            raise ValueError(
                f"`A_ref` must be a CSRMatrix or a scipy sparse matrix, got {type(A_ref).__name__}."
            )
        if mat.shape[0] != mat.shape[1]:
            raise ValueError(f"`A_ref` must be square, got shape {mat.shape}.")
        if not np.all(np.isfinite(mat.data)):
            raise ValueError("`A_ref` contains non-finite values.")
        max_coarse = check_positive_int("max_coarse", max_coarse)
        if max_coarse > 5000:
            raise ValueError(f"`max_coarse` must be <= 5000 (dense Cholesky), got {max_coarse}.")
        max_levels = check_positive_int("max_levels", max_levels)
        degree = check_positive_int("degree", degree)
        if not float(lower_ratio) > 1:
            raise ValueError(f"`lower_ratio` must be > 1, got {lower_ratio}.")
        mat = sps.csr_matrix(mat, dtype=np.float64)
        # pyamg draws random start vectors (spectral radius estimates for the prolongation
        # smoother) from numpy's global generator: seed it so that the set-up is reproducible.
        state = np.random.get_state()
        try:
            np.random.seed(0)
            ml = pyamg.smoothed_aggregation_solver(
                mat, strength=strength, aggregate=aggregate, smooth=smooth,
                max_coarse=max_coarse, max_levels=max_levels, keep=False,
            )
        finally:
            np.random.set_state(state)
        if ml.levels[-1].A.shape[0] > max_coarse:
            raise ValueError(
                f"pyamg stopped at a coarsest size {ml.levels[-1].A.shape[0]} > "
                f"max_coarse={max_coarse}; increase `max_levels` or `max_coarse`."
            )
        levels = []
        host = _HostCSR(mat.indptr, mat.indices, mat.shape)  # == pattern (canonical)
        for lev in ml.levels[:-1]:
            P = _canonical_csr(lev.P)
            PT = _canonical_csr(P.T)
            # Either one map P^T (.) P, or two: (.) P then P^T (.); keep the smaller.
            one = _map_size(PT, host, P)
            two = _map_size(None, host, P)
            if one <= 2 * two:
                m, host = _triple_product_map(PT, host, P)
                maps = (m,)
            else:
                m1, ap_host = _triple_product_map(None, host, P)
                m2, host = _triple_product_map(PT, ap_host, None)
                maps = (m1, m2)
            levels.append(_Level(pattern, CSRMatrix.from_scipy(P), CSRMatrix.from_scipy(PT), maps))
            pattern = host.to_pattern()
        return AMG(tuple(levels), pattern, degree, float(lower_ratio))

    # ------------------------------------------------------------------ in JAX
    def check(self, A):
        fine = self.levels[0].pattern if self.levels else self.coarse_pattern
        if A.pattern is fine:
            return
        same = A.shape == fine.shape and A.pattern.nnz == fine.nnz
        arrays = (A.pattern.indptr, A.pattern.cols, fine.indptr, fine.cols)
        if same and not any(is_tracer(x) for x in arrays):
            same = np.array_equal(np.asarray(A.pattern.indptr), np.asarray(fine.indptr)) and (
                np.array_equal(np.asarray(A.pattern.cols), np.asarray(fine.cols))
            )
        if not same:
            raise ValueError(
                f"AMG was built for a matrix of shape {fine.shape} with {fine.nnz} stored "
                f"entries, but `A` has shape {A.shape} with {A.pattern.nnz} entries or a "
                "different sparsity pattern. Build it with `AMG.build(A_ref)` from a matrix "
                "with the same pattern."
            )

    @property
    def num_levels(self) -> int:
        return len(self.levels) + 1

    def sizes(self) -> list[int]:
        """Number of unknowns per level, finest first."""
        return [lev.pattern.shape[0] for lev in self.levels] + [self.coarse_pattern.shape[0]]

    def operator_nnz(self) -> list[int]:
        """Stored entries of ``A_l`` per level (operator complexity = sum / first)."""
        return [lev.pattern.nnz for lev in self.levels] + [self.coarse_pattern.nnz]

    def prolongators(self) -> list[sps.csr_matrix]:
        """The prolongators ``P_l`` (scipy CSR, ``n_l x n_{l+1}``), finest first."""
        return [lev.P.to_scipy() for lev in self.levels]

    def coarse_operators(self, A: CSRMatrix) -> list[CSRMatrix]:
        """The Galerkin hierarchy ``[A_0 = A, A_1, ..., A_L]`` for the matrix ``A``."""
        ops = [A]
        patterns = [lev.pattern for lev in self.levels[1:]] + [self.coarse_pattern]
        for lev, pattern in zip(self.levels, patterns):
            data = ops[-1].data
            for m in lev.maps:
                data = m(data)
            ops.append(CSRMatrix(pattern, data))
        return ops

    def operator(self, A: CSRMatrix):
        ops = self.coarse_operators(A)
        degree, ratio = self.degree, self.lower_ratio
        matvecs = [matvec_operator(op) for op in ops[:-1]]  # DIA diagonals extracted once
        smoothers = [
            chebyshev_smoother(mv, op.diagonal(),
                               _segsum(jnp.abs(op.data), op.pattern.rows, op.shape[0]),
                               degree=degree, lower_ratio=ratio)
            for mv, op in zip(matvecs, ops[:-1])
        ]
        coarse = ops[-1].todense()
        chol = jnp.linalg.cholesky(coarse)

        def vcycle(level, r):
            if level == len(self.levels):
                return jsl.cho_solve((chol, True), r)
            lev, smooth = self.levels[level], smoothers[level]
            P = CSRMatrix(lev.P.pattern, lev.P.data.astype(r.dtype))
            R = CSRMatrix(lev.R.pattern, lev.R.data.astype(r.dtype))
            x = smooth(None, r)
            rc = R.matvec(r - matvecs[level](x))
            x = x + P.matvec(vcycle(level + 1, rc))
            return smooth(x, r)

        return lambda r: vcycle(0, r)
