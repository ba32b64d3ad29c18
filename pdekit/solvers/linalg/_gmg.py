"""Geometric multigrid for matrices on structured 2D node grids, built from shifted stencils.

The fine matrix is read as a stencil on an ``ny x nx`` node grid numbered lexicographically
(``x`` fastest): row ``i + j nx`` couples to ``(i + dx, j + dy)`` with ``|dx|, |dy| <= 1``
(e.g. P1 on ``fem.rectangle_mesh``: 7 diagonals; 5- and 9-point finite differences). The
pattern must have been recognised as banded (``SparsityPattern.dia_offsets``).

Every operation is a dense array operation on ``(ny, nx)`` grids — shifted slices, strided
reshapes, elementwise products — with no gather or scatter, so it vectorises over the grid
and over a ``vmap`` batch axis:

- coarsening by 2 of the node grid (``ny = 2 nyc - 1``), down to at most ``max_coarse`` nodes;
- prolongation ``P``: for a 7-point stencil of the ``(1, 1)``-diagonal type, the nested P1
  interpolation (midpoints of the coarse edges ``x``, ``y`` and ``(1, 1)``; the coarse P1
  space of the mesh with twice the spacing is a subspace of the fine one, so the Galerkin
  operator is the coarse P1 discretisation itself and stays 7-point); otherwise bilinear
  interpolation (Galerkin operators are 9-point). Restriction ``R = P^T``;
- Galerkin operators ``A_{l+1} = P^T A_l P`` computed *per matrix, in JAX* by probing: the
  coarse stencil has at most ``C`` (7 or 9) entries per row whose columns have distinct
  colours, so ``C`` products ``P^T A_l P e_c`` with colour-class indicator vectors ``e_c``
  give every coarse entry exactly;
- Chebyshev smoothing in ``D^{-1} A`` (same polynomial before and after the coarse
  correction: a symmetric positive definite V-cycle, valid for CG), with the Gershgorin bound
  of the spectrum per level;
- the coarsest operator densified and inverted (Cholesky) once per matrix.

Dirichlet rows eliminated symmetrically (unit diagonal, zero couplings) need no special care:
the Galerkin hierarchy of the eliminated matrix stays SPD and its coarse space contains the
coarse Dirichlet space.
"""

from __future__ import annotations

import functools

import equinox as eqx
import jax.lax as lax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import numpy as np

from ..._misc import check_finite_scalar, check_positive_int, is_tracer
from ._base import AbstractPreconditioner
from ._chebyshev import chebyshev_smoother
from ._sparse import CSRMatrix, _dia_values

# stencil offsets (dy, dx): the 7-point stencil of P1 on the (1,1)-diagonal triangulation
_HEX = ((-1, -1), (-1, 0), (0, -1), (0, 0), (0, 1), (1, 0), (1, 1))
_NINE = tuple((dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1))


def _stencil_offsets(dia_offsets, nx: int):
    """Map flat diagonal offsets ``col - row`` to grid offsets ``(dy, dx)``, or None."""
    out = []
    for o in dia_offsets:
        dy = int(np.round(o / nx))
        dx = o - dy * nx
        if abs(dy) > 1 or abs(dx) > 1:
            return None
        out.append((dy, dx))
    return tuple(out)


def _colouring(offsets, shape):
    """Colours of the grid nodes such that the neighbours ``(j + dy, i + dx)`` of any node
    have distinct colours, and the constant ``(K, C, ny, nx)`` selection mask
    ``mask[k, c, j, i] = [colour(j + dy_k, i + dx_k) == c and the neighbour is inside]``."""
    ny, nx = shape
    j, i = np.meshgrid(np.arange(ny), np.arange(nx), indexing="ij")

    def colour(jj, ii):
        if offsets == _HEX:  # dx + 2 dy takes 7 distinct values mod 7 on the stencil
            return (ii + 2 * jj) % 7, 7
        return (ii % 3) + 3 * (jj % 3), 9

    base, ncol = colour(j, i)
    mask = np.zeros((len(offsets), ncol, ny, nx))
    for k, (dy, dx) in enumerate(offsets):
        inside = (j + dy >= 0) & (j + dy < ny) & (i + dx >= 0) & (i + dx < nx)
        c, _ = colour(j + dy, i + dx)
        for col in range(ncol):
            mask[k, col] = (c == col) & inside
    probes = np.stack([(base == col).astype(np.float64) for col in range(ncol)])
    return probes, mask


def _stencil_apply(offsets, S, x):
    """``y[j, i] = sum_k S[k, j, i] x[j + dy_k, i + dx_k]`` (outside read as 0); ``x`` may
    carry leading batch axes."""
    ny, nx = x.shape[-2:]
    pad = [(0, 0)] * (x.ndim - 2) + [(1, 1), (1, 1)]
    xp = jnp.pad(x, pad)
    lead = (None,) * (x.ndim - 2)
    y = None
    for k, (dy, dx) in enumerate(offsets):
        term = S[k][lead] * lax.slice_in_dim(
            lax.slice_in_dim(xp, 1 + dy, 1 + dy + ny, axis=-2), 1 + dx, 1 + dx + nx, axis=-1
        )
        y = term if y is None else y + term
    return y


def _shift(a, axis, forward):
    """``a`` shifted by one along ``axis`` (``forward``: ``out[k] = a[k + 1]``, else
    ``out[k] = a[k - 1]``), zero filled."""
    axis = a.ndim + axis
    pad = [(0, 0)] * a.ndim
    n = a.shape[axis]
    if forward:
        pad[axis] = (0, 1)
        return lax.slice_in_dim(jnp.pad(a, pad), 1, n + 1, axis=axis)
    pad[axis] = (1, 0)
    return lax.slice_in_dim(jnp.pad(a, pad), 0, n, axis=axis)


def _prolong(x, bilinear: bool):
    """Coarse ``(..., nyc, nxc)`` -> fine ``(..., 2 nyc - 1, 2 nxc - 1)`` interpolation: the
    four parity classes of fine nodes computed on the coarse grid, then interleaved.
    (Interior padding plus a constant stencil is equivalent but fuses worse on XLA-CPU.)"""
    nyc, nxc = x.shape[-2:]
    right = _shift(x, -1, True)
    up = _shift(x, -2, True)
    diag = _shift(right, -2, True)
    half = jnp.asarray(0.5, x.dtype)
    eo = half * (x + right)
    oe = half * (x + up)
    oo = (x + right + up + diag) * half * half if bilinear else half * (x + diag)
    even = jnp.stack([x, eo], axis=-1)  # (..., nyc, nxc, 2)
    odd = jnp.stack([oe, oo], axis=-1)
    fine = jnp.stack([even, odd], axis=-3)  # (..., nyc, 2, nxc, 2)
    fine = fine.reshape(x.shape[:-2] + (2 * nyc, 2 * nxc))
    return fine[..., : 2 * nyc - 1, : 2 * nxc - 1]


def _restrict(r, bilinear: bool):
    """Fine ``(..., 2 nyc - 1, 2 nxc - 1)`` -> coarse ``(..., nyc, nxc)``: exactly ``P^T``."""
    nyf, nxf = r.shape[-2:]
    nyc, nxc = (nyf + 1) // 2, (nxf + 1) // 2
    rp = jnp.pad(r, [(0, 0)] * (r.ndim - 2) + [(0, 1), (0, 1)])
    rp = rp.reshape(r.shape[:-2] + (nyc, 2, nxc, 2))
    ee, eo = rp[..., :, 0, :, 0], rp[..., :, 0, :, 1]
    oe, oo = rp[..., :, 1, :, 0], rp[..., :, 1, :, 1]
    half = jnp.asarray(0.5, r.dtype)
    out = ee + half * (eo + _shift(eo, -1, False)) + half * (oe + _shift(oe, -2, False))
    oo_left = _shift(oo, -1, False)
    oo_diag = _shift(oo_left, -2, False)
    if bilinear:
        return out + half * half * (oo + oo_left + _shift(oo, -2, False) + oo_diag)
    return out + half * (oo + oo_diag)


def _dense_from_stencil(offsets, S):
    """The ``(N, N)`` matrix of a stencil on an ``ny x nx`` grid (out-of-grid entries of `S`
    must be zero)."""
    _, ny, nx = S.shape
    n = ny * nx
    out = jnp.zeros((n, n), S.dtype)
    for k, (dy, dx) in enumerate(offsets):
        out = out + S[k].reshape(n, 1) * jnp.eye(n, n, dy * nx + dx, dtype=S.dtype)
    return out


class GMG(AbstractPreconditioner):
    """Geometric multigrid V-cycle for SPD matrices on a structured 2D node grid.

    A configuration object; all set-up (Galerkin coarse operators, smoother bounds, the
    coarsest inverse) happens per matrix inside ``solve``, in dense stencil arithmetic that
    vectorises under ``jax.vmap`` (see the module docstring). Use it with CG:
    ``linalg.CG(rtol, preconditioner=linalg.GMG(grid_shape))``.

    **Arguments:**
    - `grid_shape`: `(ny, nx)` nodes of the grid, numbered ``i + j nx`` (``x`` fastest);
      for P1 on ``fem.rectangle_mesh(nx - 1, ny - 1)`` use ``fem.grid_shape(space)``.
      Each coarsening needs odd ``ny`` and ``nx`` (an even number of cells per side).
    - `max_coarse`: coarsen until at most this many nodes remain (dense solve there), in
      ``[1, 2000]`` (default 30).
    - `degree`: Chebyshev smoother degree per pre/post sweep, ``>= 1`` (default 2).
    - `lower_ratio`: smoother interval ``[lambda_max / lower_ratio, lambda_max]`` of
      ``D^{-1} A``, ``> 1`` (default 8).
    - `dtype`: precision of the whole hierarchy and V-cycle, e.g. ``jnp.float32`` inside a
      float64 CG (mixed precision: cheaper, same CG accuracy since CG's residuals stay in
      float64); default `None`: the solve's dtype.

    **Raises:** `ValueError` for a grid that cannot be coarsened to `max_coarse` nodes, and,
    when used, for a matrix whose size or sparsity pattern does not fit the grid.
    """

    grid_shape: tuple[int, int] = eqx.field(static=True)
    max_coarse: int = eqx.field(static=True)
    degree: int = eqx.field(static=True)
    lower_ratio: float = eqx.field(static=True)
    dtype: np.dtype | None = eqx.field(static=True)

    def __init__(self, grid_shape, *, max_coarse=30, degree=2, lower_ratio=8.0, dtype=None):
        shape = tuple(grid_shape) if np.ndim(grid_shape) == 1 else None
        if shape is None or len(shape) != 2:
            raise ValueError(f"`grid_shape` must be a pair (ny, nx), got {grid_shape!r}.")
        ny, nx = (check_positive_int("grid_shape", s) for s in shape)
        if min(ny, nx) < 2:
            raise ValueError(f"`grid_shape` needs at least 2 nodes per side, got {(ny, nx)}.")
        self.grid_shape = (ny, nx)
        self.max_coarse = check_positive_int("max_coarse", max_coarse)
        if self.max_coarse > 2000:
            raise ValueError(f"`max_coarse` must be <= 2000 (dense solve), got {max_coarse}.")
        self.degree = check_positive_int("degree", degree)
        self.lower_ratio = check_finite_scalar("lower_ratio", lower_ratio)
        if not self.lower_ratio > 1:
            raise ValueError(f"`lower_ratio` must be > 1, got {lower_ratio}.")
        if dtype is not None:
            dtype = jnp.dtype(dtype)
            if not jnp.issubdtype(dtype, jnp.floating):
                raise ValueError(f"`dtype` must be a real floating dtype or None, got {dtype}.")
        self.dtype = dtype
        shapes = self.level_shapes()
        if shapes[-1][0] * shapes[-1][1] > self.max_coarse:
            raise ValueError(
                f"the grid {self.grid_shape} coarsens by 2 only down to {shapes[-1]} "
                f"({shapes[-1][0] * shapes[-1][1]} nodes > max_coarse={self.max_coarse}): "
                "coarsening needs an odd number of nodes (even number of cells) per side. "
                "Use n divisible by a power of 2 (e.g. 64 cells per side) or raise `max_coarse`."
            )

    def level_shapes(self) -> list[tuple[int, int]]:
        """Node-grid shape of every level, finest first."""
        shapes = [self.grid_shape]
        while True:
            ny, nx = shapes[-1]
            if ny * nx <= self.max_coarse or ny % 2 == 0 or nx % 2 == 0 or min(ny, nx) < 3:
                return shapes
            shapes.append(((ny + 1) // 2, (nx + 1) // 2))

    @property
    def num_levels(self) -> int:
        return len(self.level_shapes())

    # ------------------------------------------------------------------ checks
    def _offsets(self, A: CSRMatrix):
        ny, nx = self.grid_shape
        if A.shape != (ny * nx, ny * nx):
            raise ValueError(
                f"GMG(grid_shape={self.grid_shape}) needs a matrix of shape "
                f"{(ny * nx, ny * nx)}, got {A.shape}."
            )
        offsets = None
        if A.pattern.dia_offsets is not None:
            offsets = _stencil_offsets(A.pattern.dia_offsets, nx)
        if offsets is None:
            raise ValueError(
                "GMG needs a matrix whose entries couple grid neighbours only (a banded "
                "pattern with offsets col - row in {dy * nx + dx : |dx|, |dy| <= 1}, nodes "
                "numbered i + j * nx); this pattern is not (an unstructured or renumbered "
                "mesh, or the wrong `grid_shape`). Use AMG.build(A) instead."
            )
        return offsets

    def check(self, A: CSRMatrix) -> None:
        self._offsets(A)
        if is_tracer(A.pattern.rows) or is_tracer(A.pattern.cols):
            return
        nx = self.grid_shape[1]
        rows, cols = np.asarray(A.pattern.rows), np.asarray(A.pattern.cols)
        if np.any(np.abs(cols % nx - rows % nx) > 1):
            raise ValueError(
                f"the matrix couples nodes that are not neighbours on the grid "
                f"{self.grid_shape} (wraps around a grid row): wrong `grid_shape` or a mesh "
                "that is not a structured grid numbered i + j * nx. Use AMG.build(A) instead."
            )

    # ------------------------------------------------------------------ in JAX
    def coarse_operators(self, A: CSRMatrix):
        """The Galerkin hierarchy as stencils: a list of ``(offsets, S)`` with `S` of shape
        `(K, ny_l, nx_l)` (``S[k, j, i]`` couples node ``(i, j)`` to
        ``(i + dx_k, j + dy_k)``), finest first."""
        offsets = self._offsets(A)
        shapes = self.level_shapes()
        S = _dia_values(A.pattern, A.data).reshape((len(offsets),) + shapes[0])
        bilinear = not set(offsets) <= set(_HEX)
        coarse_offsets = _NINE if bilinear else _HEX
        ops = [(offsets, S)]
        for shape in shapes[1:]:
            probes, mask = _colouring(coarse_offsets, shape)
            probes = jnp.asarray(probes, S.dtype)
            fine = _prolong(probes, bilinear)
            v = _restrict(_stencil_apply(ops[-1][0], ops[-1][1], fine), bilinear)
            # pick, for every coarse entry, the probe of its column's colour; as a
            # contraction (not a sum of masked copies, which XLA-CPU fuses into one loop
            # that recomputes `v` for every term)
            Sc = jnp.einsum("kcji,cji->kji", jnp.asarray(mask, v.dtype), v)
            ops.append((coarse_offsets, Sc))
        return ops

    def operator(self, A: CSRMatrix):
        if self.dtype is not None:
            A = CSRMatrix(A.pattern, A.data.astype(self.dtype))
        ops = self.coarse_operators(A)
        bilinear = not set(ops[0][0]) <= set(_HEX)
        degree, ratio = self.degree, self.lower_ratio
        smoothers = []
        for off, S in ops[:-1]:
            abs_row_sum = jnp.abs(S[0])
            for k in range(1, len(off)):  # in order, as the stencil sum
                abs_row_sum = abs_row_sum + jnp.abs(S[k])
            smoothers.append(chebyshev_smoother(
                functools.partial(_stencil_apply, off, S), S[off.index((0, 0))],
                abs_row_sum, degree=degree, lower_ratio=ratio))
        dense = _dense_from_stencil(*ops[-1])
        chol = jnp.linalg.cholesky(dense)
        inv = jsl.cho_solve((chol, True), jnp.eye(dense.shape[0], dtype=dense.dtype))
        inv = 0.5 * (inv + inv.T)

        def vcycle(level, r):
            if level == len(ops) - 1:
                return (inv @ r.reshape(-1)).reshape(r.shape)
            off, S = ops[level]
            smooth = smoothers[level]
            x = smooth(None, r)
            rc = _restrict(r - _stencil_apply(off, S, x), bilinear)
            x = x + _prolong(vcycle(level + 1, rc), bilinear)
            return smooth(x, r)

        def precondition(r):
            z = vcycle(0, r.reshape(self.grid_shape).astype(dense.dtype))
            return z.reshape(-1).astype(r.dtype)

        return precondition
