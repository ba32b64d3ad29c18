"""Algebraic multigrid (smoothed aggregation) preconditioner with in-JAX Galerkin coarse operators.

Set-up is split in two:

1. *Host, once per sparsity pattern* (:meth:`AMG.build`): a smoothed-aggregation hierarchy is
   built from a concrete reference matrix (pyamg's compiled strength/aggregation kernels, the
   rest vectorised numpy/scipy). We keep only the prolongators ``P_l`` and,
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
import scipy.linalg as sla
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
    if n_rows * n_cols >= 2**62:
        raise ValueError(f"AMG set-up: product of shape {(n_rows, n_cols)} too large to index.")
    # Triples (src entry e of X, output (i, j), weight) are generated grouped by output row i
    # (Gustavson order): for each entry (i, k) of `left`, each entry e = (k, l) of X, each
    # entry (l, j) of `right`. gl / p: the entry of `left` / `right` of each triple.
    # Triples per X row (`per_xrow`), then per output row (`tptr`: row pointers of triples).
    if right is None:
        per_xrow = np.diff(indptr)
    else:
        R = _canonical_csr(right)
        csum = np.zeros(cols.size + 1, dtype=np.int64)
        np.cumsum(np.diff(R.indptr)[cols], out=csum[1:])
        per_xrow = csum[indptr[1:]] - csum[indptr[:-1]]
    if left is None:
        e, per_row = None, per_xrow  # e = arange(nnz)
    else:
        L = _canonical_csr(left)
        gl, e = _expand(np.diff(indptr)[L.indices], indptr[L.indices], cols.size)
        csum = np.zeros(L.nnz + 1, dtype=np.int64)
        np.cumsum(per_xrow[L.indices], out=csum[1:])
        per_row = csum[L.indptr[1:]] - csum[L.indptr[:-1]]
    if right is None:
        j = cols if e is None else cols[e]
    else:
        l = cols if e is None else cols[e]
        g, p = _expand(np.diff(R.indptr)[l], R.indptr[l], R.nnz)
        del l
        j = R.indices[p]
        e = g if e is None else e[g]
        if left is not None:
            gl = gl[g]
        del g
    if e is None:
        e = np.arange(cols.size, dtype=_index_dtype(cols.size))
    total = e.size
    idx = _index_dtype(max(total, n_cols) + 1)
    tptr = np.zeros(n_rows + 1, dtype=idx)
    np.cumsum(per_row, out=tptr[1:])
    # Sort the triples of each output row by column (scipy's compiled per-row sort of a CSR
    # matrix holding the triple ids; rows are short, so this is far cheaper than a global
    # argsort of packed keys) and number the distinct (i, j) in order: the product's CSR.
    S = sps.csr_matrix((np.arange(total, dtype=idx), j.astype(idx, copy=False), tptr),
                       shape=(n_rows, n_cols), copy=False)
    del j
    S.has_sorted_indices = False
    S.sort_indices()
    order, js = S.data, S.indices
    new = np.empty(total, dtype=bool)
    new[:1] = True
    np.not_equal(js[1:], js[:-1], out=new[1:])
    starts = tptr[:-1][per_row > 0]
    new[starts] = True  # a row change starts a new entry even at an equal column
    dst = np.cumsum(new, dtype=idx)
    dst -= 1
    ucols = js[new]
    out_indptr = np.zeros(n_rows + 1, dtype=np.int64)
    out_indptr[1:] = dst[tptr[1:] - 1] + 1 if total else 0
    out_indptr[1:][per_row == 0] = 0
    np.maximum.accumulate(out_indptr, out=out_indptr)
    del new, js, S
    # weights in sorted order: left value * right value (1 for an identity side)
    weight = None if left is None else L.data[gl[order]]
    if right is not None:
        wr = R.data[p[order]]
        weight = wr if weight is None else weight * wr
    if weight is None:
        weight = np.ones(total)
    out = _HostCSR(out_indptr, ucols.astype(_index_dtype(n_cols), copy=False), (n_rows, n_cols))
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


# ------------------------------------------------------------------ host set-up
def _tentative(agg: np.ndarray, n_agg: int, B: np.ndarray):
    """Piecewise-constant prolongator fitting the near-null-space vector ``B`` exactly:
    ``T[i, agg[i]] = B[i] / |B on aggregate agg[i]|`` (unaggregated nodes, ``agg = -1``, get
    zero rows); returns ``(T, B_coarse)`` with ``T @ B_coarse = B`` on aggregated nodes."""
    n = agg.size
    mask = agg >= 0
    rows = np.flatnonzero(mask)
    cols = agg[mask]
    norms = np.sqrt(np.bincount(cols, weights=B[mask] ** 2, minlength=n_agg))
    T = sps.csr_matrix((B[mask] / norms[cols], (rows, cols)), shape=(n, n_agg))
    return T, norms


def _spectral_radius_dinv(A: sps.csr_matrix, steps: int = 12) -> float:
    """Largest eigenvalue of ``D^{-1} A`` for SPD ``A`` by `steps` Lanczos steps on the
    symmetric ``D^{-1/2} A D^{-1/2}`` (top Ritz value; seeded start vector)."""
    n = A.shape[0]
    s = 1.0 / np.sqrt(A.diagonal())
    v = np.random.default_rng(0).standard_normal(n)
    v /= np.linalg.norm(v)
    v_prev = np.zeros(n)
    alphas, betas = [], []
    beta = 0.0
    for _ in range(min(steps, n)):
        w = s * (A @ (s * v))
        w -= beta * v_prev
        alpha = float(w @ v)
        w -= alpha * v
        alphas.append(alpha)
        beta = float(np.linalg.norm(w))
        if beta <= 1e-12 * abs(alpha):
            break
        betas.append(beta)
        v_prev, v = v, w / beta
    k = len(alphas)
    return float(sla.eigvalsh_tridiagonal(np.array(alphas), np.array(betas[: k - 1]))[-1])


def _smoothed_aggregation(A: sps.csr_matrix, B: np.ndarray, theta: float, omega: float | None):
    """One coarsening step: ``(P, B_coarse)`` or None when nothing can be aggregated.

    Strength of connection and the greedy aggregation are pyamg's compiled kernels
    (``symmetric_strength_of_connection``, ``standard_aggregation``: O(nnz), ~10 ms at 1e6
    unknowns); the tentative prolongator, the Lanczos estimate of ``rho(D^{-1} A)`` and the
    Jacobi smoothing ``P = (I - omega / rho D^{-1} A) T`` are vectorised numpy / scipy.sparse
    (pyamg's own ``smoothed_aggregation_solver`` spends >90 % of its set-up in a restarted
    Arnoldi estimate of the same radius)."""
    from pyamg.aggregation.aggregate import standard_aggregation
    from pyamg.strength import symmetric_strength_of_connection

    C = symmetric_strength_of_connection(A, theta)
    agg_op, _ = standard_aggregation(sps.csr_array(C))
    if agg_op.shape[1] == 0 or agg_op.nnz == 0:
        return None
    agg_op = sps.csr_matrix(agg_op)
    agg = np.full(A.shape[0], -1, dtype=np.int64)
    agg[np.repeat(np.arange(A.shape[0]), np.diff(agg_op.indptr))] = agg_op.indices
    T, Bc = _tentative(agg, agg_op.shape[1], B)
    if omega is None:
        return T, Bc
    rho = _spectral_radius_dinv(A)
    DA = sps.csr_matrix(sps.diags(1.0 / A.diagonal()) @ A)
    P = sps.csr_matrix(T - (omega / rho) * (DA @ T))
    return P, Bc


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
        theta: float = 0.0,
        smooth: str | None = "jacobi",
        omega: float = 4.0 / 3.0,
    ) -> AMG:
        """Host-side set-up from a concrete SPD reference matrix.

        Smoothed aggregation as in pyamg's ``smoothed_aggregation_solver`` defaults: symmetric
        strength of connection, standard (greedy) aggregation, the constant vector improved by
        four symmetric Gauss-Seidel sweeps on ``A x = 0`` as near-null space on the finest
        level, Jacobi-smoothed prolongators. Host cost is O(nnz) per level (~1-2 s at 1e6
        unknowns, most of it building the Galerkin maps).

        **Arguments:**
        - `A_ref`: :class:`CSRMatrix` (concrete, not traced) or scipy sparse matrix, SPD.
        - `max_coarse`: coarsest size at most this (dense Cholesky there), in ``[1, 5000]``.
        - `max_levels`: maximum number of levels, ``>= 1``.
        - `degree`: Chebyshev smoother degree per pre/post sweep, ``>= 1``.
        - `lower_ratio`: smoother interval ``[lambda_max/lower_ratio, lambda_max]``, ``> 1``.
        - `theta`: strength threshold in ``[0, 1)``: ``j`` is a strong neighbour of ``i`` when
          ``|a_ij| >= theta sqrt(|a_ii a_jj|)``.
        - `smooth`: ``"jacobi"`` (prolongator ``(I - omega/rho D^{-1} A) T``) or ``None``
          (plain aggregation: cheaper coarse operators, weaker cycle).
        - `omega`: Jacobi prolongation-smoothing weight in ``(0, 2)``; ``rho`` is a Lanczos
          estimate of the spectral radius of ``D^{-1} A``.

        **Returns:** an :class:`AMG` preconditioner.

        **Raises:** `ValueError` for a non-square, non-finite or non-positive-diagonal
        `A_ref`, or an argument out of range.
        """
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
        if not 0.0 <= float(theta) < 1.0:
            raise ValueError(f"`theta` must be in [0, 1), got {theta}.")
        if smooth not in ("jacobi", None):
            raise ValueError(f'`smooth` must be "jacobi" or None, got {smooth!r}.')
        if not 0.0 < float(omega) < 2.0:
            raise ValueError(f"`omega` must be in (0, 2), got {omega}.")
        mat = sps.csr_matrix(mat, dtype=np.float64)
        if not np.all(mat.diagonal() > 0):
            raise ValueError("`A_ref` must have a positive diagonal (SPD).")
        from pyamg.relaxation.relaxation import gauss_seidel

        # near-null space: the constant, smoothed towards A B = 0 (pyamg's default
        # `improve_candidates` on the finest level: 4 symmetric Gauss-Seidel sweeps)
        B = np.ones(mat.shape[0])
        gauss_seidel(mat, B, np.zeros_like(B), iterations=4, sweep="symmetric")
        levels: list[_Level] = []
        host = _HostCSR(mat.indptr, mat.indices, mat.shape)  # == pattern (canonical)
        current = mat
        while len(levels) + 1 < max_levels and current.shape[0] > max_coarse:
            step = _smoothed_aggregation(current, B, float(theta),
                                         None if smooth is None else float(omega))
            if step is None or step[0].shape[1] >= current.shape[0]:
                break
            P, B = step
            P = _canonical_csr(P)
            PT = _canonical_csr(P.T)
            # Either one map P^T (.) P, or two: (.) P then P^T (.); keep the smaller.
            maps: tuple[_LinearMap, ...]
            one = _map_size(PT, host, P)
            two = _map_size(None, host, P)
            if one <= 2 * two:
                m, host = _triple_product_map(PT, host, P)
                maps = (m,)
            else:
                m1, ap_host = _triple_product_map(None, host, P)
                m2, host = _triple_product_map(PT, ap_host, None)
                maps = (m1, m2)
            # the coarse reference values for the next aggregation: scipy's numeric product
            # (exact zeros dropped, as pyamg's), 10x cheaper than the maps on the host
            current = _canonical_csr(PT @ (current @ P))
            levels.append(_Level(pattern, CSRMatrix.from_scipy(P), CSRMatrix.from_scipy(PT), maps))
            pattern = host.to_pattern()
        if current.shape[0] > max_coarse:
            raise ValueError(
                f"the aggregation stopped at a coarsest size {current.shape[0]} > "
                f"max_coarse={max_coarse}; increase `max_levels` or `max_coarse`."
            )
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
