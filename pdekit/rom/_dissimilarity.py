r"""Dissimilarities between snapshots and distances between reduced bases.

Snapshots are rows ``x_i`` of a `(n, dofs)` array. Every dissimilarity is measured in the
problem's inner product ``<u, v>_W = u^T W v`` (:class:`InnerProduct`: the identity, diagonal
quadrature/lumped-mass weights, a dense SPD matrix or a FEM mass/H1 matrix as a
:class:`pdekit.solvers.linalg.CSRMatrix`):

- :class:`Euclidean`: ``||u - v||_W``;
- :class:`Sine`: ``sin angle(u, v) = sqrt(1 - c^2)`` with ``c = <u,v>_W / (||u||_W ||v||_W)``;
- :class:`OneMinusCos`: ``1 - |c|``.

The two angle-based ones depend on the lines ``span(u)``, ``span(v)`` only (insensitive to
amplitude and sign), which is what a linear reduced basis sees: ``sin^2 angle(u, v)`` is the
squared relative projection error of ``u`` onto ``span(v)`` (Daniel, Casenave, Akkari,
Ryckelynck 2021, doi:10.1016/j.jcp.2022.111120, who call it the sine dissimilarity).

Pairwise matrices go through the Gram matrix ``X W Y^T``: on the host by one BLAS call
(``syrk`` for ``X X^T``) then in-place row blocks, or under ``jit`` row tile by row tile
(``lax.map``); memory is ``O(n m + m dofs)`` whatever the tile size and 10^4 snapshots of
10^4 DOFs fit (:func:`pairwise`, ``backend``). Accuracy: from the Gram matrix, a Euclidean
distance ``d`` between vectors of norm ``~s`` carries an absolute error ``~sqrt(eps) s`` and a
sine ``~sqrt(eps)`` (eps the dtype's epsilon); small values are therefore resolved to ~1e-8
in float64, ~3e-4 in float32, enough for clustering (the single-pair ``__call__`` uses the
direct, accurate formulas).

:func:`grassmann_distance` compares subspaces (``W``-orthonormal bases) through their
principal angles (Björck & Golub 1973), computed from cosines and sines so that small angles
keep full accuracy (Knyazev & Argentati 2002): geodesic ``||theta||_2``, chordal
``||sin theta||_2``, projection ``max sin theta``, Binet-Cauchy ``sqrt(1 - prod cos^2 theta)``,
Asimov ``max theta``, Fubini-Study ``arccos prod cos theta``, Martin, Procrustes
``2 ||sin(theta/2)||_2`` (Ye & Lim 2016, doi:10.1137/15M1054201).
"""

from __future__ import annotations

from typing import Literal

import equinox as eqx
import jax
import jax.lax as lax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._misc import check_positive_int, is_tracer
from ..solvers.linalg import CSRMatrix

__all__ = [
    "InnerProduct",
    "AbstractDissimilarity",
    "Euclidean",
    "Sine",
    "OneMinusCos",
    "pairwise",
    "principal_angles",
    "grassmann_distance",
    "grassmann_pairwise",
    "GRASSMANN_DISTANCES",
]


class InnerProduct(eqx.Module):
    """The inner product ``<u, v>_W = u^T W v`` of the problem's function space.

    **Arguments:**
    - `weights`: `None` (Euclidean, ``W = I``), a `(dofs,)` array of positive weights (grid
      quadrature weights, a lumped mass matrix), a `(dofs, dofs)` symmetric positive definite
      array, or a symmetric positive definite :class:`~pdekit.solvers.linalg.CSRMatrix`
      (FEM mass matrix ``fem.assemble_mass(space)``, or mass + stiffness for H1).

    **Raises:** `ValueError` if `weights` has the wrong rank, is not square/symmetric, or has
    non-positive (diagonal) entries (checked on concrete arrays).
    """

    weights: Float[Array, " dofs"] | Float[Array, "dofs dofs"] | CSRMatrix | None
    kind: str = eqx.field(static=True)

    def __init__(self, weights: ArrayLike | CSRMatrix | None = None):
        if weights is None:
            self.weights, self.kind = None, "identity"
        elif isinstance(weights, CSRMatrix):
            n0, n1 = weights.shape
            if n0 != n1:
                raise ValueError(
                    f"`weights` (CSRMatrix) must be square, got shape {weights.shape}.")
            if not is_tracer(weights.data) and np.any(np.asarray(weights.diagonal()) <= 0):
                raise ValueError("`weights` (CSRMatrix) must be SPD: it has a diagonal entry <= 0.")
            self.weights, self.kind = weights, "csr"
        else:
            w = jnp.asarray(weights)
            if not jnp.issubdtype(w.dtype, jnp.floating):
                raise ValueError(f"`weights` must be a floating array, got dtype {w.dtype}.")
            if w.ndim == 1:
                if not is_tracer(w) and not np.all(np.asarray(w) > 0):
                    raise ValueError("`weights` (diagonal) must be > 0 everywhere.")
                self.weights, self.kind = w, "diagonal"
            elif w.ndim == 2:
                if w.shape[0] != w.shape[1]:
                    raise ValueError(f"`weights` must be square, got shape {w.shape}.")
                if not is_tracer(w):
                    wn = np.asarray(w)
                    scale = max(float(np.abs(wn).max()), np.finfo(wn.dtype).tiny)
                    if np.abs(wn - wn.T).max() > 1e3 * np.finfo(wn.dtype).eps * scale:
                        raise ValueError("`weights` (dense) must be symmetric.")
                    if np.any(np.diag(wn) <= 0):
                        raise ValueError("`weights` (dense) must be SPD: a diagonal entry is <= 0.")
                self.weights, self.kind = w, "dense"
            else:
                raise ValueError(
                    "`weights` must be None, a (dofs,) weight vector, a (dofs, dofs) matrix or "
                    f"a CSRMatrix, got an array of shape {w.shape}."
                )

    @property
    def size(self) -> int | None:
        """Number of DOFs the inner product acts on (None for the identity)."""
        if self.kind == "identity":
            return None
        if self.kind == "csr":
            return int(self.weights.shape[0])
        return int(self.weights.shape[0])

    def apply(self, x: Float[Array, "n dofs"]) -> Float[Array, "n dofs"]:
        """``x W`` for a batch of row vectors (``W`` is symmetric)."""
        if self.kind == "identity":
            return x
        if self.kind == "diagonal":
            return x * self.weights.astype(x.dtype)[None, :]
        if self.kind == "dense":
            return x @ self.weights.astype(x.dtype)
        A = CSRMatrix(self.weights.pattern, self.weights.data.astype(x.dtype))
        return jax.vmap(A.matvec)(x)

    def apply_host(self, x: np.ndarray) -> np.ndarray:
        """:meth:`apply` on the host (numpy/scipy BLAS), for a numpy `(n, dofs)` array."""
        if self.kind == "identity":
            return x
        if self.kind == "diagonal":
            return x * np.asarray(self.weights, dtype=x.dtype)[None, :]
        if self.kind == "dense":
            return x @ np.asarray(self.weights, dtype=x.dtype)
        W = self.weights.to_scipy().astype(x.dtype)
        return np.ascontiguousarray((W @ x.T).T)   # W symmetric: (W x^T)^T = x W

    def check(self, name: str, dofs: int) -> None:
        """Raise ``ValueError`` naming `name` if `dofs` does not match the inner product."""
        if self.size is not None and self.size != dofs:
            raise ValueError(
                f"`{name}` has {dofs} DOFs per snapshot but the inner product acts on "
                f"{self.size}."
            )


def _as_inner(inner) -> InnerProduct:
    return inner if isinstance(inner, InnerProduct) else InnerProduct(inner)


class AbstractDissimilarity(eqx.Module):
    """A dissimilarity ``d(u, v) >= 0`` between snapshots, in an :class:`InnerProduct`.

    Subclasses define :meth:`from_gram` (the dissimilarity from ``<u,v>``, ``||u||^2``,
    ``||v||^2``, used by :func:`pairwise`) and :meth:`__call__` (one accurate pair).
    """

    inner: InnerProduct

    def from_gram(self, g: Array, nu2: Array, nv2: Array) -> Array:
        raise NotImplementedError

    def from_gram_host(self, g: np.ndarray, nu2: np.ndarray, nv2: np.ndarray,
                       tmp: np.ndarray) -> None:
        """:meth:`from_gram` on a numpy block `g`, in place (`tmp`: scratch of g's shape)."""
        raise NotImplementedError

    def __call__(self, u: Float[Array, " dofs"], v: Float[Array, " dofs"]) -> Float[Array, ""]:
        raise NotImplementedError

    @property
    def scale_invariant(self) -> bool:
        """True when ``d(a u, b v) = d(u, v)`` for all nonzero scalars ``a, b``."""
        return False


def _init_inner(self, inner):
    self.inner = _as_inner(inner)


class Euclidean(AbstractDissimilarity):
    """``d(u, v) = ||u - v||_W`` (`inner`: an :class:`InnerProduct` or its `weights`)."""

    inner: InnerProduct

    def __init__(self, inner=None):
        _init_inner(self, inner)

    def from_gram(self, g, nu2, nv2):
        return jnp.sqrt(jnp.maximum(nu2[:, None] + nv2[None, :] - 2 * g, 0))

    def from_gram_host(self, g, nu2, nv2, tmp):
        # in place on the numpy block g; (nu2_i + nv2_j) first, so D(x, x) stays symmetric
        np.add(nu2[:, None], nv2[None, :], out=tmp)
        g *= -2
        g += tmp
        np.maximum(g, 0, out=g)
        np.sqrt(g, out=g)

    def __call__(self, u, v):
        d = (u - v)[None]
        return jnp.sqrt(jnp.sum(self.inner.apply(d) * d))


def _cosine(g, nu2, nv2):
    # zero snapshots have no direction: cos = 0 (maximal dissimilarity) rather than NaN
    den = jnp.sqrt(nu2[:, None] * nv2[None, :])
    tiny = jnp.finfo(g.dtype).tiny
    return jnp.where(den > tiny, g / jnp.maximum(den, tiny), jnp.zeros((), g.dtype))


def _inv_norm_host(n2):
    tiny = np.finfo(n2.dtype).tiny
    with np.errstate(divide="ignore"):
        return np.where(n2 > tiny, 1 / np.sqrt(np.maximum(n2, tiny)), 0).astype(n2.dtype)


def _cosine_host(g, nu2, nv2, tmp):
    # |c| clipped to [0, 1], in place on g; zero snapshots get c = 0 as in `_cosine`. The
    # scale 1/(|u||v|) is formed first (a commutative product), so D(x, x) stays symmetric
    np.multiply(_inv_norm_host(nu2)[:, None], _inv_norm_host(nv2)[None, :], out=tmp)
    g *= tmp
    np.abs(g, out=g)
    np.minimum(g, 1, out=g)


class Sine(AbstractDissimilarity):
    r"""Sine of the angle between ``span(u)`` and ``span(v)``: ``sqrt(1 - c^2)``, ``c`` the
    ``W``-cosine; in ``[0, 1]``, scale and sign invariant. ``sin^2`` is the squared relative
    projection error of ``u`` onto ``span(v)``."""

    inner: InnerProduct

    def __init__(self, inner=None):
        _init_inner(self, inner)

    def from_gram(self, g, nu2, nv2):
        c = jnp.clip(jnp.abs(_cosine(g, nu2, nv2)), 0, 1)
        return jnp.sqrt((1 - c) * (1 + c))

    def from_gram_host(self, g, nu2, nv2, tmp):
        _cosine_host(g, nu2, nv2, tmp)
        np.add(g, 1, out=tmp)
        np.subtract(1, g, out=g)
        g *= tmp
        np.sqrt(g, out=g)

    def __call__(self, u, v):
        # direct formula: ||u - (u.v̂) v̂||_W / ||u||_W, accurate for small angles
        uv = jnp.stack([u, v])
        wuv = self.inner.apply(uv)
        nv2 = jnp.sum(wuv[1] * v)
        nu2 = jnp.sum(wuv[0] * u)
        tiny = jnp.finfo(u.dtype).tiny
        r = u - (jnp.sum(wuv[1] * u) / jnp.maximum(nv2, tiny)) * v
        nr2 = jnp.sum(self.inner.apply(r[None])[0] * r)
        ok = (nu2 > tiny) & (nv2 > tiny)
        return jnp.where(ok, jnp.sqrt(jnp.clip(nr2 / jnp.maximum(nu2, tiny), 0, 1)),
                         jnp.ones((), u.dtype))

    @property
    def scale_invariant(self) -> bool:
        return True


class OneMinusCos(AbstractDissimilarity):
    """``1 - |c|``, ``c`` the ``W``-cosine of the angle between `u` and `v`; in ``[0, 1]``,
    scale and sign invariant."""

    inner: InnerProduct

    def __init__(self, inner=None):
        _init_inner(self, inner)

    def from_gram(self, g, nu2, nv2):
        return 1 - jnp.clip(jnp.abs(_cosine(g, nu2, nv2)), 0, 1)

    def from_gram_host(self, g, nu2, nv2, tmp):
        _cosine_host(g, nu2, nv2, tmp)
        np.subtract(1, g, out=g)

    def __call__(self, u, v):
        uv = jnp.stack([u, v])
        g = uv @ self.inner.apply(uv).T
        return self.from_gram(g[:1, 1:], g[:1, 0], g[1:, 1])[0, 0]

    @property
    def scale_invariant(self) -> bool:
        return True


def _check_snapshots(name: str, x) -> Array:
    x = jnp.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"`{name}` must have shape (n, dofs), got {x.shape}.")
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"`{name}` must be a floating array, got dtype {x.dtype}.")
    return x


@eqx.filter_jit
def _pairwise(dissimilarity, x, y, tile_size: int):
    n = x.shape[0]
    wy = dissimilarity.inner.apply(y)
    ny2 = jnp.sum(wy * y, axis=1)
    num_tiles = -(-n // tile_size)
    pad = num_tiles * tile_size - n
    xt = jnp.pad(x, ((0, pad), (0, 0))).reshape(num_tiles, tile_size, x.shape[1])

    def tile(xb):
        nx2 = jnp.sum(dissimilarity.inner.apply(xb) * xb, axis=1)
        return dissimilarity.from_gram(xb @ wy.T, nx2, ny2)

    out = lax.map(tile, xt)
    return out.reshape(num_tiles * tile_size, y.shape[0])[:n]


@eqx.filter_jit
def _pairwise_symmetric(dissimilarity, x, tile_size: int):
    # D(x, x) is symmetric: only the tiles (i, j), i <= j, of the Gram matrix x W x^T are
    # computed (half the flops, as BLAS syrk does for x x^T), then mirrored
    n, dofs = x.shape
    nb = -(-n // tile_size)
    xp = jnp.pad(x, ((0, nb * tile_size - n), (0, 0)))
    wx = dissimilarity.inner.apply(xp)
    n2 = jnp.sum(wx * xp, axis=1)
    I, J = np.triu_indices(nb)

    def block(ij):
        i, j = ij[0] * tile_size, ij[1] * tile_size
        xa = lax.dynamic_slice_in_dim(xp, i, tile_size)
        wb = lax.dynamic_slice_in_dim(wx, j, tile_size)
        return dissimilarity.from_gram(xa @ wb.T, lax.dynamic_slice_in_dim(n2, i, tile_size),
                                       lax.dynamic_slice_in_dim(n2, j, tile_size))

    blocks = lax.map(block, jnp.asarray(np.stack([I, J], axis=1), jnp.int32))
    grid = jnp.zeros((nb, nb, tile_size, tile_size), x.dtype)
    grid = grid.at[J, I].set(jnp.swapaxes(blocks, 1, 2)).at[I, J].set(blocks)
    D = jnp.swapaxes(grid, 1, 2).reshape(nb * tile_size, nb * tile_size)[:n, :n]
    return D * (1 - jnp.eye(n, dtype=D.dtype))


def _host_snapshots(name: str, x) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype.kind == "f":  # the dtype JAX would use (float64 only under x64)
        x = x.astype(jax.dtypes.canonicalize_dtype(x.dtype), copy=False)
    if x.ndim != 2:
        raise ValueError(f"`{name}` must have shape (n, dofs), got {x.shape}.")
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"`{name}` must be a floating array, got dtype {x.dtype}.")
    return x


def _aligned_empty(shape: tuple[int, int], dtype) -> np.ndarray:
    """An uninitialised numpy array on a 64-byte boundary: JAX's CPU client then wraps it
    without a copy (:func:`_to_jax`), which saves a pass over the `(n, m)` result."""
    dtype = np.dtype(dtype)
    nbytes = shape[0] * shape[1] * dtype.itemsize
    buf = np.empty(nbytes + 64, np.uint8)
    off = (-buf.ctypes.data) % 64
    return buf[off:off + nbytes].view(dtype).reshape(shape)


def _to_jax(a: np.ndarray) -> Array:
    try:  # zero-copy for an aligned host buffer (the array keeps `a` alive)
        return jnp.from_dlpack(a)
    except Exception:  # noqa: BLE001 - any DLPack refusal: an ordinary copy
        return jnp.asarray(a)


def _pairwise_host(dissimilarity, x: np.ndarray, y: np.ndarray | None,
                   tile_size: int) -> np.ndarray:
    """:func:`pairwise` with numpy/scipy BLAS: the Gram matrix in one BLAS call (``syrk``
    for ``x x^T``), then the dissimilarity in place, `tile_size`-row blocks at a time."""
    inner = dissimilarity.inner
    symmetric = y is None
    if symmetric and inner.kind in ("identity", "diagonal"):
        # numpy recognises a @ a.T and calls BLAS syrk (half the flops, exactly symmetric);
        # W = diag(w): the same on x sqrt(w)
        xs = x if inner.kind == "identity" else x * np.sqrt(np.asarray(
            inner.weights, dtype=x.dtype))[None, :]
        G = np.matmul(xs, xs.T, out=_aligned_empty((x.shape[0], x.shape[0]), x.dtype))
        n2 = np.einsum("ij,ij->i", xs, xs)
    elif symmetric:
        # x W x^T for a dense or sparse W: the tiles on and above the diagonal, mirrored
        wx = inner.apply_host(x)
        n = x.shape[0]
        G = _aligned_empty((n, n), x.dtype)
        for i in range(0, n, tile_size):
            blk = x[i:i + tile_size] @ wx[i:].T
            t = blk.shape[0]
            blk[:, :t] = 0.5 * (blk[:, :t] + blk[:, :t].T)   # the diagonal tile, symmetric
            G[i:i + tile_size, i:] = blk
            G[i:, i:i + tile_size] = blk.T
        n2 = np.einsum("ij,ij->i", wx, x)
    else:
        wy = inner.apply_host(y)
        G = np.matmul(x, wy.T, out=_aligned_empty((x.shape[0], y.shape[0]), x.dtype))
        n2 = np.einsum("ij,ij->i", inner.apply_host(x), x)
        ny2 = np.einsum("ij,ij->i", wy, y)
    if symmetric:
        ny2 = n2
    # the elementwise part in row blocks of ~2 MB (cache resident), in place on G
    m = G.shape[1]
    rows = max(1, min(tile_size, (1 << 18) // max(m, 1)))
    tmp = np.empty((rows, m), G.dtype)
    for i in range(0, G.shape[0], rows):
        g = G[i:i + rows]
        dissimilarity.from_gram_host(g, n2[i:i + rows], ny2, tmp[:g.shape[0]])
    if symmetric:
        np.fill_diagonal(G, 0)
    return G


def pairwise(
    dissimilarity: AbstractDissimilarity,
    x: Float[Array, "n dofs"],
    y: Float[Array, "m dofs"] | None = None,
    *,
    tile_size: int = 512,
    backend: str = "auto",
) -> Float[Array, "n m"]:
    """All dissimilarities ``D[i, j] = d(x_i, y_j)`` (``y = x`` when omitted).

    Two back-ends compute the same thing from the Gram matrix ``x W y^T``:

    - ``"jax"`` (jitted; any device, under `jit`/`vmap`): rows of `x` go `tile_size` at a
      time (``lax.map`` over tiles), so peak memory is the `(n, m)` result plus one `(m, dofs)`
      copy of ``y W`` and a `(tile_size, m)` tile. With ``y`` omitted only the tiles on and
      above the diagonal are computed (half the work) and mirrored.
    - ``"numpy"`` (host BLAS): the Gram matrix by one BLAS call (``syrk`` for ``x x^T``: half
      the flops), turned into `D` in place in cache-sized row blocks; peak memory is the
      `(n, m)` result (plus ``x W`` for a non-diagonal `W`). XLA:CPU's float64 GEMM is slower
      than OpenBLAS's, so this is the faster path on CPU.
    - ``"auto"`` (default): ``"numpy"`` for a numpy array or a concrete JAX array on one CPU
      device, ``"jax"`` otherwise (tracers, GPU/TPU, sharded arrays), as :func:`pod`.

    The result does not depend on `tile_size` or the back-end beyond round-off; with ``y``
    omitted `D` is exactly symmetric with a zero diagonal, as k-medoids expects.

    **Arguments:**
    - `dissimilarity`: :class:`Euclidean`, :class:`Sine` or :class:`OneMinusCos` (with its
      inner product).
    - `x`, `y`: snapshots as rows, shapes `(n, dofs)`, `(m, dofs)`, same dtype.
    - `tile_size`: rows per tile, ``>= 1`` (default 512).
    - `backend`: ``"auto"``, ``"numpy"`` or ``"jax"``.

    **Returns:** `D`, a JAX array of shape `(n, m)`, dtype of `x`.

    **Raises:** `ValueError` for a non-dissimilarity, wrong shapes, mismatched DOFs (between
    `x`, `y` and the inner product) or dtypes, or a bad `tile_size` or `backend`.
    """
    from ._pod import _on_host

    if not isinstance(dissimilarity, AbstractDissimilarity):
        raise ValueError(
            "`dissimilarity` must be Euclidean(...), Sine(...) or OneMinusCos(...), got "
            f"{type(dissimilarity).__name__}."
        )
    tile_size = check_positive_int("tile_size", tile_size)
    host = _on_host(x, backend) and (y is None or _on_host(y, backend)) and (
        backend == "numpy" or not _weights_traced(dissimilarity.inner))
    check = _host_snapshots if host else _check_snapshots
    x = check("x", x)
    symmetric = y is None
    y = x if symmetric else check("y", y)
    if y.shape[1] != x.shape[1]:
        raise ValueError(f"`x` and `y` must have the same DOFs, got {x.shape[1]} and "
                         f"{y.shape[1]}.")
    if y.dtype != x.dtype:
        raise ValueError(f"`x` and `y` must have the same dtype, got {x.dtype} and {y.dtype}.")
    dissimilarity.inner.check("x", x.shape[1])
    tile_size = min(tile_size, max(x.shape[0], 1))
    if host:
        return _to_jax(_pairwise_host(dissimilarity, x, None if symmetric else y, tile_size))
    if symmetric:
        return _pairwise_symmetric(dissimilarity, x, tile_size)
    return _pairwise(dissimilarity, x, y, tile_size)


def _weights_traced(inner: InnerProduct) -> bool:
    w = inner.weights
    return w is not None and is_tracer(w.data if isinstance(w, CSRMatrix) else w)


@jax.jit
def _symmetrise(D):
    D = 0.5 * (D + D.T)
    return D * (1 - jnp.eye(D.shape[0], dtype=D.dtype))


# ------------------------------------------------------------------ Grassmann distances

GRASSMANN_DISTANCES = ("geodesic", "chordal", "projection", "binet_cauchy", "asimov",
                       "fubini_study", "martin", "procrustes")


def _angles(U, V, inner: InnerProduct):
    # V has the fewer columns (swapped by the caller); principal angles from both cosines
    # (accurate for large angles) and sines of the residual (accurate for small ones)
    WV = inner.apply(V.T).T
    M = U.T @ WV                                     # (p, q)
    cos = jnp.clip(jnp.linalg.svd(M, compute_uv=False), 0, 1)          # descending
    R = V - U @ M                                    # W-orthogonal residual of V against U
    # W-norm singular values of R: svd of L^T R with R^T W R = (L^T R)^T (L^T R); use the
    # eigenvalues of the small q x q matrix R^T W R instead (no factorisation of W)
    G = R.T @ inner.apply(R.T).T
    G = 0.5 * (G + G.T)
    sin = jnp.sqrt(jnp.clip(jnp.linalg.eigvalsh(G), 0, 1))              # ascending
    theta_c = jnp.arccos(cos)
    theta_s = jnp.arcsin(sin)
    return jnp.where(cos > 0.5**0.5, theta_s, theta_c)


def principal_angles(
    U: Float[Array, "dofs p"], V: Float[Array, "dofs q"], *, inner=None
) -> Float[Array, " r"]:
    """Principal angles ``0 <= theta_1 <= ... <= theta_r <= pi/2`` (``r = min(p, q)``)
    between ``span(U)`` and ``span(V)``, both `inner`-orthonormal bases (columns).

    **Raises:** `ValueError` for non-2-D bases or different DOFs.
    """
    inner = _as_inner(inner)
    U, V = jnp.asarray(U), jnp.asarray(V)
    if U.ndim != 2 or V.ndim != 2:
        raise ValueError(f"`U` and `V` must be (dofs, p) bases, got {U.shape} and {V.shape}.")
    if U.shape[0] != V.shape[0]:
        raise ValueError(f"`U` and `V` must have the same DOFs, got {U.shape[0]} and "
                         f"{V.shape[0]}.")
    inner.check("U", U.shape[0])
    if V.shape[1] > U.shape[1]:
        U, V = V, U
    return _angles_jit(U, V, inner)


_angles_jit = eqx.filter_jit(_angles)


def _distance_from_angles(theta, kind):
    if kind == "geodesic":
        return jnp.sqrt(jnp.sum(theta**2))
    if kind == "chordal":
        return jnp.sqrt(jnp.sum(jnp.sin(theta) ** 2))
    if kind == "projection":
        return jnp.max(jnp.sin(theta))
    if kind == "binet_cauchy":
        return jnp.sqrt(jnp.clip(1 - jnp.prod(jnp.cos(theta) ** 2), 0, 1))
    if kind == "asimov":
        return jnp.max(theta)
    if kind == "fubini_study":
        return jnp.arccos(jnp.clip(jnp.prod(jnp.cos(theta)), 0, 1))
    if kind == "martin":
        c2 = jnp.maximum(jnp.cos(theta) ** 2, jnp.finfo(theta.dtype).tiny)
        return jnp.sqrt(jnp.sum(-jnp.log(c2)))
    return 2 * jnp.sqrt(jnp.sum(jnp.sin(theta / 2) ** 2))  # procrustes


def _check_kind(kind):
    if kind not in GRASSMANN_DISTANCES:
        raise ValueError(f"`kind` must be one of {GRASSMANN_DISTANCES}, got {kind!r}.")


def grassmann_distance(
    U: Float[Array, "dofs p"],
    V: Float[Array, "dofs q"],
    kind: Literal["geodesic", "chordal", "projection", "binet_cauchy", "asimov",
                  "fubini_study", "martin", "procrustes"] = "geodesic",
    *,
    inner=None,
) -> Float[Array, ""]:
    """Distance between ``span(U)`` and ``span(V)`` from their principal angles (see the
    module docstring for the formulas); `U`, `V` `inner`-orthonormal, shapes `(dofs, p)`,
    `(dofs, q)` (for ``p != q`` the ``min(p, q)`` angles are used, as in Ye & Lim 2016).

    **Raises:** `ValueError` for an unknown `kind` or bad bases.
    """
    _check_kind(kind)
    inner = _as_inner(inner)
    U, V = jnp.asarray(U), jnp.asarray(V)
    return _distance_from_angles(principal_angles(U, V, inner=inner), kind)


def grassmann_pairwise(
    bases: Float[Array, "B dofs p"],
    kind: str = "geodesic",
    *,
    inner=None,
) -> Float[Array, "B B"]:
    """All distances between a stack of `B` bases of equal size, shape `(B, dofs, p)`
    (vmapped, jitted); returns `(B, B)` with zeros on the diagonal."""
    _check_kind(kind)
    bases = jnp.asarray(bases)
    if bases.ndim != 3:
        raise ValueError(f"`bases` must have shape (B, dofs, p), got {bases.shape}.")
    inner = _as_inner(inner)
    inner.check("bases", bases.shape[1])
    D = _grassmann_pairwise(bases, inner, kind)
    return _symmetrise(D)


@eqx.filter_jit
def _grassmann_pairwise(bases, inner, kind):
    def row(U):
        return jax.vmap(lambda V: _distance_from_angles(_angles(U, V, inner), kind))(bases)

    return lax.map(row, bases)
