r"""Proper orthogonal decomposition: thin SVD, method of snapshots, randomized SVD and
incremental POD, with one truncation convention.

**Convention.** A snapshot matrix ``X`` has shape `(n, S)`: one snapshot per *column*. With
an inner product ``W`` (an SPD `(n, n)` matrix, e.g. the FEM mass or H1 matrix; Euclidean if
None) the modes ``U`` are ``W``-orthonormal, ``U^T W U = I``, and ``sigma`` are the singular
values of ``W^{1/2} X``.

**Tolerance convention (one for every method).** `tol` is the *relative projection error of
the snapshot set* in the ``W``-Frobenius norm: the rank kept is the smallest ``r`` with

    sqrt(sum_{i>r} sigma_i^2 / sum_i sigma_i^2) <= tol,

i.e. ``||X - U U^T W X||_{W,F} <= tol ||X||_{W,F}``. (pyMOR's ``pod(rtol=...)`` instead
cuts singular values below ``rtol * sigma_1``; its ``l2_err`` is our ``tol * ||X||_F``.)
`rank` caps the number of modes; with both, the smaller rank wins. Modes whose singular value
is at round-off level (below ``sqrt(eps) sigma_1`` for the Gram-based methods, ``eps * max(n,
S) * sigma_1`` otherwise) are always dropped.

**Backends.** Every function takes ``backend="auto" | "numpy" | "jax"``. ``"auto"`` computes
with numpy/scipy (OpenBLAS/LAPACK) when the snapshots are a numpy array or a concrete JAX
array on a single CPU device, and with XLA otherwise (GPU/TPU arrays, sharded arrays). The
products are GEMM-bound and XLA:CPU's float64 GEMM is ~3x slower than OpenBLAS's, so host
inputs on CPU go to BLAS; both backends run the same algorithm (tested equal up to signs)
and return JAX arrays.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._misc import check_positive_int, is_tracer

BACKENDS = ("auto", "numpy", "jax")


class POD(eqx.Module):
    """A truncated POD basis.

    **Fields:**
    - `modes`: shape `(n, r)`, orthonormal in the inner product used to build it.
    - `singular_values`: shape `(r,)`, descending.
    - `total_energy`: scalar, ``sum_i sigma_i^2`` over *all* singular values (``||X||_{W,F}^2``).
    - `all_singular_values`: every singular value the method computed (for decay plots).
    """

    modes: Float[Array, "n r"]
    singular_values: Float[Array, " r"]
    total_energy: Float[Array, ""]
    all_singular_values: Float[Array, " m"]

    @property
    def rank(self) -> int:
        return int(self.modes.shape[1])

    def relative_error(self) -> Float[Array, ""]:
        """Predicted relative projection error of the snapshot set (the quantity `tol` bounds)."""
        # computed-but-dropped values, plus whatever energy the method did not resolve
        # (exact tail for the SVD; avoids the cancellation of `total - kept`)
        r = self.singular_values.shape[0]
        tail = jnp.sum(self.all_singular_values[r:] ** 2)
        unresolved = self.total_energy - jnp.sum(self.all_singular_values**2)
        eps = jnp.finfo(self.total_energy.dtype).eps
        unresolved = jnp.where(unresolved > 100 * eps * self.total_energy, unresolved, 0.0)
        return jnp.sqrt((tail + unresolved) / self.total_energy)

    def project(self, u: Float[Array, "n ..."], product=None) -> Float[Array, "r ..."]:
        """Coefficients ``U^T W u`` of `u` (shape `(n,)` or `(n, k)`)."""
        return self.modes.T @ _apply(product, u)

    def reconstruct(self, coefficients: Float[Array, "r ..."]) -> Float[Array, "n ..."]:
        """``U c`` (shape `(n,)` or `(n, k)`)."""
        return self.modes @ coefficients


def _apply(product, x):
    """``W @ x`` for W None (identity), a dense array, a `CSRMatrix`, or a callable."""
    if product is None:
        return x
    if callable(product) and not hasattr(product, "matvec"):
        return product(x)
    if hasattr(product, "matvec"):
        if x.ndim == 1:
            return product.matvec(x)
        return jax.vmap(product.matvec, in_axes=1, out_axes=1)(x)
    return jnp.asarray(product) @ x


def _apply_host(product, x: np.ndarray) -> np.ndarray:
    """``W @ x`` on the host (numpy/scipy) for the same kinds of `product` as :func:`_apply`."""
    if product is None:
        return x
    if hasattr(product, "to_scipy"):  # CSRMatrix: scipy's sparse x dense kernel
        return np.asarray(product.to_scipy().astype(x.dtype) @ x)
    if callable(product) and not hasattr(product, "matvec"):
        return np.asarray(product(jnp.asarray(x)), dtype=x.dtype)
    if hasattr(product, "matvec"):
        return np.asarray(_apply(product, jnp.asarray(x)), dtype=x.dtype)
    return np.asarray(product, dtype=x.dtype) @ x


def _on_host(X, backend: str) -> bool:
    if backend not in BACKENDS:
        raise ValueError(f"`backend` must be one of {BACKENDS}, got {backend!r}.")
    if backend != "auto":
        return backend == "numpy"
    if isinstance(X, np.ndarray):
        return True
    if is_tracer(X) or not isinstance(X, jax.Array):
        return False
    devices = X.devices()
    return len(devices) == 1 and next(iter(devices)).platform == "cpu"


def _check_finite(name, X) -> None:
    """Non-finite entries make the sum non-finite: one cheap pass instead of an `isfinite`
    mask (the exact count is computed only when the sum is suspicious)."""
    if is_tracer(X):
        return
    if not np.isfinite(float(X.sum())):
        bad = int(np.size(X) - np.count_nonzero(np.isfinite(np.asarray(X))))
        if bad:
            raise ValueError(f"`{name}` contains {bad} non-finite value(s) (NaN or inf).")


def _check_matrix(X, name="snapshots", host: bool = False):
    """Shape/dtype/finiteness check; returns a numpy array (`host`) or a JAX array, in the
    dtype JAX would use (float64 only under x64)."""
    if host:
        X = np.asarray(X)
        if X.dtype.kind == "f":
            X = X.astype(jax.dtypes.canonicalize_dtype(X.dtype), copy=False)
    else:
        X = jnp.asarray(X)
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"`{name}` must be a non-empty (n, S) matrix (one snapshot per column), "
                         f"got shape {X.shape}.")
    if not jnp.issubdtype(X.dtype, jnp.floating):
        raise ValueError(f"`{name}` must be a float array, got {X.dtype}.")
    _check_finite(name, X)
    return X


def _gram_host(A, WA, product):
    """``A^T W A`` on the host (numpy detects ``A.T @ A`` and calls BLAS ``syrk``)."""
    G = A.T @ A if product is None else A.T @ WA
    return 0.5 * (G + G.T)


def _inner_host(A, B) -> float:
    """``sum(A * B)`` without the `A * B` temporary (800 MB for a 1e5 x 1e3 matrix)."""
    return float(np.einsum("ij,ij->", A, B))


def _eigh_desc(C, xp):
    if xp is np:
        import scipy.linalg

        lam, V = scipy.linalg.eigh(C, driver="evd")
    else:
        lam, V = jnp.linalg.eigh(C)
    return lam[::-1], V[:, ::-1]


def _cholesky_qr_host(U, product):
    """One W-re-orthonormalisation pass (Cholesky QR) on the host, skipped when ``U`` is
    already orthonormal to ``1e3 eps`` (checking costs one small ``syrk``)."""
    import scipy.linalg

    G = _gram_host(U, _apply_host(product, U), product)
    eps = np.finfo(U.dtype).eps
    if np.max(np.abs(G - np.eye(G.shape[0], dtype=G.dtype)), initial=0.0) <= 1e3 * eps:
        return U
    L = np.linalg.cholesky(G)
    return scipy.linalg.solve_triangular(L, U.T, lower=True).T


def _eigh_top_host(C, rank, tol, total, floor):
    """All eigenvalues of the Gram matrix `C` (descending, as singular values: the decay
    plots and local-basis criteria use them all) and the eigenvectors of the kept ones only,
    by LAPACK ``syevr`` (values, then a subset)."""
    import scipy.linalg

    m = C.shape[0]
    lam = scipy.linalg.eigh(C, eigvals_only=True, driver="evr")[::-1]
    s = np.sqrt(np.maximum(lam, 0.0))
    r = truncation_rank(s, rank=rank, tol=tol, total_energy=total, floor=floor)
    _, V = scipy.linalg.eigh(C, subset_by_index=[m - r, m - 1], driver="evr")
    return s, np.ascontiguousarray(V[:, ::-1]), r


def _to_pod(U, s, total, all_s) -> POD:
    return POD(jnp.asarray(U), jnp.asarray(s), jnp.asarray(total, s.dtype), jnp.asarray(all_s))


def _check_truncation(rank, tol):
    if rank is not None:
        rank = check_positive_int("rank", rank)
    if tol is not None:
        tol = float(tol)
        if not (math.isfinite(tol) and 0 <= tol < 1):
            raise ValueError(f"`tol` must be in [0, 1) (relative projection error), got {tol}.")
    return rank, tol


def truncation_rank(singular_values, *, rank: int | None = None, tol: float | None = None,
                    total_energy: float | None = None, floor: float = 0.0) -> int:
    """Number of modes kept under the module's convention (host computation).

    **Arguments:** `singular_values` (descending), `rank` (cap), `tol` (relative projection
    error), `total_energy` (``||X||^2``, default ``sum sigma^2``), `floor` (relative
    round-off cut: modes with ``sigma <= floor * sigma_1`` are dropped).
    """
    rank, tol = _check_truncation(rank, tol)
    s = np.asarray(singular_values, dtype=np.float64)
    total = float(np.sum(s**2)) if total_energy is None else float(total_energy)
    if s.size == 0 or total == 0.0:
        return 0
    r = int(np.count_nonzero(s > floor * s[0]))
    if tol is not None:
        # tail[i] = energy discarded when keeping i modes
        tail = total - np.concatenate([[0.0], np.cumsum(s**2)])
        ok = np.nonzero(tail <= tol**2 * total * (1 + 1e-12))[0]
        r = min(r, int(ok[0]) if ok.size else s.size)
    if rank is not None:
        r = min(r, rank)
    return max(r, 1)


def _finish(U, s, total, rank, tol, floor) -> POD:
    r = truncation_rank(s, rank=rank, tol=tol, total_energy=float(total), floor=floor)
    return POD(U[:, :r], s[:r], jnp.asarray(total, s.dtype), s)


@jax.jit
def _svd(X):
    U, s, _ = jnp.linalg.svd(X, full_matrices=False)
    return U, s, jnp.sum(X * X)


def pod(snapshots: Float[Array, "n S"], *, rank: int | None = None, tol: float | None = None,
        product=None, backend: str = "auto") -> POD:
    """POD of a snapshot matrix: thin SVD (Euclidean) or, with `product`, the method of
    snapshots (:func:`pod_snapshots`).

    **Arguments:**
    - `snapshots`: shape `(n, S)`, one snapshot per column.
    - `rank`, `tol`: truncation (module docstring); neither: keep all non-negligible modes.
    - `product`: inner-product matrix ``W`` `(n, n)` (dense, `CSRMatrix`, or callable
      ``x -> W x``), or None for Euclidean.
    - `backend`: ``"auto"``, ``"numpy"`` or ``"jax"`` (module docstring).

    **Returns:** a :class:`POD`. **Raises:** `ValueError` for a malformed or non-finite matrix
    or an invalid `rank`/`tol`/`backend`.
    """
    host = _on_host(snapshots, backend)
    X = _check_matrix(snapshots, host=host)
    _check_truncation(rank, tol)
    if product is not None:
        return pod_snapshots(X, rank=rank, tol=tol, product=product, backend=backend)
    eps = float(jnp.finfo(X.dtype).eps)
    if host:
        import scipy.linalg

        U, s, _ = scipy.linalg.svd(X, full_matrices=False, lapack_driver="gesdd")
        total = _inner_host(X, X)
        r = truncation_rank(s, rank=rank, tol=tol, total_energy=total, floor=eps * max(X.shape))
        return _to_pod(U[:, :r], s[:r], total, s)
    U, s, total = _svd(X)
    return _finish(U, s, total, rank, tol, eps * max(X.shape))


@eqx.filter_jit
def _gram_eig(X, product):
    WX = _apply(product, X)
    C = X.T @ WX
    C = 0.5 * (C + C.T)
    lam, V = jnp.linalg.eigh(C)
    lam, V = lam[::-1], V[:, ::-1]
    return lam, V, jnp.trace(C)


def pod_snapshots(snapshots: Float[Array, "n S"], *, rank: int | None = None,
                  tol: float | None = None, product=None, backend: str = "auto") -> POD:
    r"""Method of snapshots (Sirovich): eigen-decompose the `(S, S)` Gram matrix
    ``C = X^T W X = V Lambda V^T``; ``sigma = sqrt(lambda)``, modes ``U = X V / sigma``,
    re-orthonormalised once (Cholesky QR in ``W``).

    Cheapest when ``S << n`` (cost ``n S^2``, a BLAS ``syrk`` on the host backend), but
    singular values below ``sqrt(eps) sigma_1`` are lost to round-off (they are dropped).
    Arguments as in :func:`pod`.
    """
    host = _on_host(snapshots, backend)
    X = _check_matrix(snapshots, host=host)
    rank, tol = _check_truncation(rank, tol)
    eps = float(jnp.finfo(X.dtype).eps)
    floor = math.sqrt(eps * X.shape[1])
    if host:
        C = _gram_host(X, _apply_host(product, X), product)
        total = float(np.trace(C))
        s, V, r = _eigh_top_host(C, rank, tol, total, floor)
        U = _cholesky_qr_host((X @ V) / s[None, :r], product)
        return _to_pod(U, s[:r], total, s)
    lam, V, total = _gram_eig(X, product)
    s = jnp.sqrt(jnp.maximum(lam, 0.0))
    r = truncation_rank(s, rank=rank, tol=tol, total_energy=float(total), floor=floor)
    U = _modes_from_gram(X, V[:, :r], s[:r], product)
    return POD(U, s[:r], total, s)


@eqx.filter_jit
def _modes_from_gram(X, V, s, product):
    U = (X @ V) / s[None, :]
    # one re-orthonormalisation pass (Cholesky QR in W) removes the O(eps * cond) loss
    G = U.T @ _apply(product, U)
    L = jnp.linalg.cholesky(0.5 * (G + G.T))
    return jax.scipy.linalg.solve_triangular(L, U.T, lower=True).T


def _orthonormalize(Y, product):
    """W-orthonormal basis of the columns of Y (Cholesky QR twice)."""
    for _ in range(2):
        G = Y.T @ _apply(product, Y)
        L = jnp.linalg.cholesky(0.5 * (G + G.T))
        Y = jax.scipy.linalg.solve_triangular(L, Y.T, lower=True).T
    return Y


def _randomized_host(X, product, Omega, power_iterations):
    """The same algorithm as :func:`_randomized` with numpy/scipy (same sketch `Omega`)."""
    import scipy.linalg

    def orth(Y):  # W-orthonormal basis of the columns (Cholesky QR twice)
        for _ in range(2):
            L = np.linalg.cholesky(_gram_host(Y, _apply_host(product, Y), product))
            Y = scipy.linalg.solve_triangular(L, Y.T, lower=True).T
        return Y

    Y = X @ Omega
    if product is None:
        Q = np.linalg.qr(Y)[0]
        for _ in range(power_iterations):
            Q = np.linalg.qr(X @ np.linalg.qr(X.T @ Q)[0])[0]
        B = Q.T @ X
    else:
        Q = orth(Y)
        for _ in range(power_iterations):
            Q = orth(X @ (X.T @ _apply_host(product, Q)))
        B = Q.T @ _apply_host(product, X)
    Ub, s, _ = scipy.linalg.svd(B, full_matrices=False, lapack_driver="gesdd")
    total = _inner_host(X, _apply_host(product, X))
    return Q @ Ub, s, total


@eqx.filter_jit
def _randomized(X, product, key, k, power_iterations):
    Omega = jax.random.normal(key, (X.shape[1], k), X.dtype)
    Y = X @ Omega
    if product is None:
        Q = jnp.linalg.qr(Y)[0]
        for _ in range(power_iterations):
            Q = jnp.linalg.qr(X @ jnp.linalg.qr(X.T @ Q)[0])[0]
        B = Q.T @ X
    else:
        Q = _orthonormalize(Y, product)
        for _ in range(power_iterations):
            Q = _orthonormalize(X @ (X.T @ _apply(product, Q)), product)
        B = Q.T @ _apply(product, X)
    Ub, s, _ = jnp.linalg.svd(B, full_matrices=False)
    total = jnp.sum(X * _apply(product, X))
    return Q @ Ub, s, total


def randomized_pod(snapshots: Float[Array, "n S"], rank: int, *, key, oversampling: int = 10,
                   power_iterations: int = 2, tol: float | None = None, product=None,
                   backend: str = "auto") -> POD:
    """Randomized range finder + SVD of the projected matrix (Halko, Martinsson & Tropp
    2011, doi:10.1137/090771806), in the `product` inner product.

    Computes ``rank + oversampling`` candidate modes from a Gaussian sketch refined by
    `power_iterations` subspace iterations, then keeps `rank` (or fewer, by `tol`; the
    energy of the unsampled tail is known exactly from ``||X||_{W,F}^2``). The error in
    ``sigma_i`` decays like ``(sigma_{k+1}/sigma_i)^(2q+1)``; with the defaults the leading
    modes match the exact SVD to ~1e-10 for fast-decaying spectra (tested).

    **Arguments:** as :func:`pod`, plus `key` (a PRNG key; both backends draw the same
    sketch from it), `oversampling >= 0`, `power_iterations >= 0`.
    """
    host = _on_host(snapshots, backend)
    X = _check_matrix(snapshots, host=host)
    rank, tol = _check_truncation(rank, tol)
    if rank is None:
        raise ValueError("`rank` is required for randomized_pod (the sketch size).")
    oversampling = check_positive_int("oversampling", oversampling, minimum=0)
    power_iterations = check_positive_int("power_iterations", power_iterations, minimum=0)
    k = min(rank + oversampling, *X.shape)
    eps = float(jnp.finfo(X.dtype).eps)
    if host:
        Omega = np.asarray(jax.random.normal(key, (X.shape[1], k), X.dtype))
        U, s, total = _randomized_host(X, product, Omega, power_iterations)
        r = truncation_rank(s, rank=rank, tol=tol, total_energy=total, floor=eps * max(X.shape))
        return _to_pod(U[:, :r], s[:r], total, s)
    U, s, total = _randomized(X, product, key, k, power_iterations)
    return _finish(U, s, total, rank, tol, eps * max(X.shape))


class IncrementalPOD:
    """POD of snapshots arriving in batches, never holding more than the current basis and
    one batch.

    Two update rules (`method`):

    - ``"gram"`` (default; the HAPOD rule of Himpe, Leibner & Rave 2018,
      doi:10.1137/16M1085413, as pyMOR's ``inc_vectorarray_hapod``): the state is the
      weighted basis ``Z = U diag(sigma)``; each :meth:`update` takes the method of
      snapshots of ``[Z, B]`` (one ``syrk`` of ``n (r + b)^2``, an ``(r + b)`` eigenproblem
      and one GEMM). Singular values below ``sqrt(eps) sigma_1`` are lost, as for
      :func:`pod_snapshots`.
    - ``"svd"`` (incremental SVD, Brand 2002, doi:10.1007/3-540-47969-4_47): project the
      batch on the basis, orthonormalise the remainder (QR), SVD of the small
      ``[[diag(sigma), C], [0, R]]`` core. About 3x the flops of ``"gram"``, accurate to
      ``eps sigma_1``.

    Both truncate each update with a *working* tolerance `tol / sqrt(2)` relative to the
    energy seen so far (so the discarded energy stays below ``tol^2 / 2`` of the total,
    leaving the other half to the final truncation). :meth:`result` then truncates with the
    requested `rank`/`tol`; its ``total_energy`` is exact (accumulated), so
    ``relative_error()`` is an upper estimate.

    **Arguments:** `tol` (relative, as in :func:`pod`; 0 keeps everything non-negligible),
    `max_rank` (cap on the working basis), `product` (inner product, as in :func:`pod`),
    `method` (``"gram"`` or ``"svd"``), `backend` (as in :func:`pod`, decided by the first
    batch).
    """

    def __init__(self, *, tol: float = 0.0, max_rank: int | None = None, product=None,
                 method: str = "gram", backend: str = "auto"):
        self.max_rank, self.tol = _check_truncation(max_rank, tol)
        if method not in ("gram", "svd"):
            raise ValueError(f"`method` must be 'gram' or 'svd', got {method!r}.")
        if backend not in BACKENDS:
            raise ValueError(f"`backend` must be one of {BACKENDS}, got {backend!r}.")
        self.product, self.method, self.backend = product, method, backend
        self._host = None  # decided by the first batch
        self._basis = None  # (n, r): Z = U diag(sigma) ("gram") or U ("svd")
        self.singular_values = None
        self.total_energy = 0.0
        self.discarded_energy = 0.0
        self.num_snapshots = 0

    def update(self, batch: Float[Array, "n b"]) -> IncrementalPOD:
        """Add a batch of snapshots (shape `(n, b)`). Returns self."""
        host = _on_host(batch, self.backend) if self._host is None else self._host
        B = _check_matrix(batch, "batch", host=host)
        if self._basis is not None and B.shape[0] != self._basis.shape[0]:
            raise ValueError(f"`batch` must have {self._basis.shape[0]} rows, got "
                             f"{B.shape[0]}.")
        self._host = host
        xp = np if host else jnp
        if self._basis is None:
            Z = xp.zeros((B.shape[0], 0), B.dtype)
            s = xp.zeros((0,), B.dtype)
        else:
            Z, s = self._basis, self.singular_values
        eps = float(jnp.finfo(B.dtype).eps)
        if self.method == "gram":
            lam, V, Y, energy = (_gram_update_host if host else _gram_update_jax)(
                Z, B, self.product)
            snew = np.sqrt(np.maximum(np.asarray(lam, np.float64), 0.0))
            floor = math.sqrt(eps * Y.shape[1])
        else:
            Unew, snew_a, energy = (_svd_update_host if host else _svd_update_jax)(
                Z, s, B, self.product)
            snew = np.asarray(snew_a, np.float64)
            floor = eps * max(B.shape)
        self.total_energy += float(energy)
        self.num_snapshots += B.shape[1]
        allowed = (self.tol**2 / 2) * self.total_energy - self.discarded_energy
        tail = np.sum(snew**2) - np.concatenate([[0.0], np.cumsum(snew**2)])
        ok = np.nonzero(tail <= max(allowed, 0.0))[0]
        r = int(ok[0]) if ok.size else snew.size
        r = min(max(r, 1), int(np.count_nonzero(snew > floor * snew[0])) or 1)
        if self.max_rank is not None:
            r = min(r, self.max_rank)
        self.discarded_energy += float(tail[r])
        if self.method == "gram":
            self._basis = Y @ V[:, :r]  # = U_new diag(sigma_new)
            self.singular_values = xp.asarray(snew[:r], B.dtype)
        else:
            self._basis, self.singular_values = Unew[:, :r], snew_a[:r]
        return self

    @property
    def modes(self):
        """The current orthonormal modes `(n, r)` (None before the first batch)."""
        if self._basis is None:
            return None
        return self.result().modes

    def result(self, *, rank: int | None = None, tol: float | None = None) -> POD:
        """The POD of everything seen so far, truncated by `rank`/`tol`."""
        if self._basis is None:
            raise ValueError("IncrementalPOD.result: no batch was added yet.")
        s = self.singular_values
        r = truncation_rank(s, rank=rank, tol=tol, total_energy=self.total_energy)
        if self.method == "svd":
            U, s = self._basis, s
        elif self._host:  # Z = U diag(sigma): exact diagonalisation, then Cholesky QR
            G = _gram_host(self._basis, _apply_host(self.product, self._basis), self.product)
            lam, V = _eigh_desc(G, np)
            s = np.sqrt(np.maximum(lam, 0.0))
            U = _cholesky_qr_host((self._basis @ V[:, :r]) / s[None, :r], self.product)
        else:
            U, s = _gram_modes_jax(self._basis, self.product, r)
        total = jnp.asarray(self.total_energy, s.dtype)
        return POD(jnp.asarray(U[:, :r]), jnp.asarray(s[:r]), total, jnp.asarray(s))


def _gram_update_host(Z, B, product):
    WB = _apply_host(product, B)
    energy = _inner_host(B, WB)
    Y = np.concatenate([Z, B], axis=1)
    WY = None if product is None else np.concatenate([_apply_host(product, Z), WB], axis=1)
    lam, V = _eigh_desc(_gram_host(Y, WY, product), np)
    return lam, V, Y, energy


@eqx.filter_jit
def _gram_update_jax(Z, B, product):
    Y = jnp.concatenate([Z, B], axis=1)
    WY = _apply(product, Y)
    C = Y.T @ WY
    lam, V = _eigh_desc(0.5 * (C + C.T), jnp)
    return lam, V, Y, jnp.sum(B * _apply(product, B))


@eqx.filter_jit
def _gram_modes_jax(Z, product, r):
    C = Z.T @ _apply(product, Z)
    lam, V = _eigh_desc(0.5 * (C + C.T), jnp)
    s = jnp.sqrt(jnp.maximum(lam, 0.0))
    return _modes_from_gram(Z, V[:, :r], s[:r], product), s


def _svd_update(U, s, B, product, xp, apply):
    WB = apply(product, B)
    energy = xp.sum(B * WB)
    C = U.T @ WB
    Rm = B - U @ C
    # re-project once (classical Gram-Schmidt twice) for orthogonality to round-off
    C2 = U.T @ apply(product, Rm)
    Rm, C = Rm - U @ C2, C + C2
    Q, Rr = _qr_w(Rm, product, xp, apply)
    r = s.shape[0]
    K = xp.block([[xp.diag(s), C], [xp.zeros((Rr.shape[0], r), B.dtype), Rr]])
    Uk, sk, _ = xp.linalg.svd(K, full_matrices=False)
    return xp.concatenate([U, Q], axis=1) @ Uk, sk, energy


def _svd_update_host(U, s, B, product):
    return _svd_update(U, s, B, product, np, _apply_host)


_svd_update_jax = eqx.filter_jit(lambda U, s, B, product: _svd_update(U, s, B, product, jnp,
                                                                       _apply))


def _qr_w(Y, product, xp=jnp, apply=_apply):
    """``Y = Q R`` with Q W-orthonormal (robust to rank deficiency: eigen-based, dropped
    directions get zero columns)."""
    if product is None:
        return xp.linalg.qr(Y)
    G = Y.T @ apply(product, Y)
    lam, V = xp.linalg.eigh(0.5 * (G + G.T))
    sq = xp.sqrt(xp.maximum(lam, 0.0))
    keep = sq > xp.finfo(Y.dtype).eps * Y.shape[0] * xp.max(sq)
    inv = xp.where(keep, 1.0 / xp.where(keep, sq, 1.0), 0.0)
    Q = (Y @ V) * inv[None, :]
    return Q, (V * sq[None, :]).T
