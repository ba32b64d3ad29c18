"""Vectorised assembly of ``-div(a grad u) + c u = f`` into a fixed CSR pattern.

Element kernels are written for one cell and ``jax.vmap``-ed over all cells; the element
matrices are summed into the CSR data in one pass,
``jax.ops.segment_sum(local.ravel(), space.scatter, nnz)``, with the scatter map computed once
per :class:`FunctionSpace`. Only values are recomputed for a new coefficient, so assembly is
jit/vmap/grad friendly and a batch of coefficient fields costs one batched segment sum.

Coefficients (``a``, ``c``, ``f``) may be
- a scalar (Python number or 0-d array),
- an array of shape `(cells,)` (piecewise constant),
- an array of shape `(num_dofs,)` (interpolated with the space's basis) or `(nodes,)`
  (vertex values, interpolated linearly; only distinct from `num_dofs` for P2),
- a callable of `x` (shape `(d, ...)`, so `x[0]`, `x[1]` are coordinates) evaluated at the
  quadrature points.
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ..linalg import CSRMatrix
from ._elements import FunctionSpace

Coefficient = Any  # float | Array (cells,) | Array (dofs,) | Array (nodes,) | Callable


def coefficient_at_quadrature(
    space: FunctionSpace, coef: Coefficient, name: str = "coefficient"
) -> Float[Array, "cells q"]:
    """Values of a coefficient at the cell quadrature points, shape `(cells, q)` (or
    `(cells, 1)` for piecewise-constant data). Shapes are checked at trace time."""
    m, q = space.num_cells, space.qweights.shape[0]
    dtype = space.dtype
    if callable(coef):
        x = jnp.moveaxis(space.quadrature_points(), -1, 0)
        vals = jnp.asarray(coef(x), dtype=dtype)
        if vals.ndim == 0:
            return jnp.broadcast_to(vals, (m, 1))
        if vals.shape != (m, q):
            raise ValueError(
                f"callable `{name}` returned shape {vals.shape}; it must map x of shape (d, {m}, "
                f"{q}) to shape ({m}, {q}) (elementwise in x[0], x[1], ...)."
            )
        return vals
    vals = jnp.asarray(coef)
    if not jnp.issubdtype(vals.dtype, jnp.floating) and not jnp.issubdtype(vals.dtype, jnp.integer):
        raise ValueError(f"`{name}` must be real, got dtype {vals.dtype}.")
    vals = vals.astype(dtype)
    if vals.ndim == 0:
        return jnp.broadcast_to(vals, (m, 1))
    n_nodes, n_dofs = space.mesh.num_nodes, space.num_dofs
    if vals.ndim == 1:
        length = vals.shape[0]
        if length == m and length in (n_nodes, n_dofs):
            raise ValueError(
                f"`{name}` has length {length}, which is both the number of cells and of "
                f"nodes/DOFs; pass a callable or a (cells, 1) array to disambiguate."
            )
        if length == m:
            return vals[:, None]
        if length == n_dofs:
            return vals[space.dofs_j] @ space.phi.T
        if length == n_nodes:
            lam = jnp.concatenate(
                [1.0 - space.qpoints.sum(axis=1, keepdims=True), space.qpoints], 1
            )
            return vals[space.dofs_j[:, : space.mesh.dim + 1]] @ lam.T
    if vals.shape in ((m, 1), (m, q)):
        return vals
    raise ValueError(
        f"`{name}` has shape {vals.shape}; expected a scalar, ({m},) per cell, ({n_dofs},) per "
        f"DOF, ({n_nodes},) per node, or ({m}, {q}) per quadrature point. "
        "For a batch of coefficients use `jax.vmap`."
    )


def _weights(space: FunctionSpace, vals: Array) -> Float[Array, "cells q"]:
    return vals * space.qweights[None, :] * space.det[:, None]


def _physical_gradients(space: FunctionSpace) -> Float[Array, "cells q k d"]:
    """Basis gradients at the quadrature points, ``dphi @ inv_jac`` for every cell.

    The contraction over the (at most 3) reference axes is unrolled into broadcast products:
    XLA's CPU backend runs batches of tiny ``dot_general``s (what a vmapped matmul becomes)
    several times slower than the single fused elementwise loop this compiles to."""
    dphi = space.dphi if space.element.order > 1 else space.dphi[:1]  # P1: constant per cell
    dim = dphi.shape[-1]
    out = dphi[None, :, :, 0, None] * space.inv_jac[:, None, None, 0, :]
    for r in range(1, dim):
        out = out + dphi[None, :, :, r, None] * space.inv_jac[:, None, None, r, :]
    return out


def _local_stiffness(space: FunctionSpace, a_q: Array) -> Float[Array, "cells k k"]:
    wa = _weights(space, a_q)  # (cells, q) or (cells, 1)
    wa = jnp.broadcast_to(wa, (space.num_cells, space.qweights.shape[0]))
    if space.element.order == 1:
        return _local_stiffness_p1(space, jnp.sum(wa, axis=1))
    grads = _physical_gradients(space)  # (cells, q, k, d)
    # sum_q w_q sum_d g_qid g_qjd, unrolled over d (see _physical_gradients)
    prod = sum(grads[:, :, :, None, r] * grads[:, :, None, :, r] for r in range(grads.shape[-1]))
    return jnp.sum(wa[:, :, None, None] * prod, axis=1)


def _local_stiffness_p1(space: FunctionSpace, w: Array) -> Float[Array, "cells k k"]:
    """P1: constant gradients, ``K_c = w_c G_c G_c^T``, written per component on `(cells,)`
    arrays (k <= 4, d <= 3), which XLA fuses into one pass over the cells (2.5x faster than
    the broadcast form at 2e6 cells)."""
    dphi, inv_jac = space.dphi[0], space.inv_jac  # (k, d), (cells, d, d)
    k, dim = dphi.shape
    g = [[sum(dphi[i, r] * inv_jac[:, r, e] for r in range(dim)) for e in range(dim)]
         for i in range(k)]
    rows = [jnp.stack([w * sum(g[i][e] * g[j][e] for e in range(dim)) for j in range(k)], -1)
            for i in range(k)]
    return jnp.stack(rows, -2)


def _local_mass(space: FunctionSpace, c_q: Array) -> Float[Array, "cells k k"]:
    wc = jnp.broadcast_to(_weights(space, c_q), (space.num_cells, space.qweights.shape[0]))
    k = space.phi.shape[1]
    phiphi = (space.phi[:, :, None] * space.phi[:, None, :]).reshape(-1, k * k)  # (q, k*k)
    return (wc @ phiphi).reshape(space.num_cells, k, k)  # one GEMM over all cells


def _to_csr(space: FunctionSpace, local: Array) -> CSRMatrix:
    data = jax.ops.segment_sum(local.ravel(), space.scatter, num_segments=space.pattern.nnz)
    return CSRMatrix(space.pattern, data)


def operator_from_values(
    space: FunctionSpace, a_q: Array, c_q: Array | None = None
) -> CSRMatrix:
    """Matrix of ``-div(a grad u) + c u`` from coefficient values at the quadrature points
    (`(cells, q)` or `(cells, 1)`, as :func:`coefficient_at_quadrature` returns)."""
    local = _local_stiffness(space, a_q)
    if c_q is not None:
        local = local + _local_mass(space, c_q)
    return _to_csr(space, local)


def load_from_values(space: FunctionSpace, f_q: Array) -> Float[Array, " dofs"]:
    """Load vector ``int f phi_i dx`` from source values at the quadrature points."""
    wf = jnp.broadcast_to(_weights(space, f_q), (space.num_cells, space.qweights.shape[0]))
    local = wf @ space.phi  # (cells, k)
    return jax.ops.segment_sum(local.ravel(), space.dofs_j.ravel(), num_segments=space.num_dofs)


@eqx.filter_jit
def assemble_stiffness(space: FunctionSpace, a: Coefficient = 1.0) -> CSRMatrix:
    """Stiffness matrix ``K_ij = int a grad(phi_j) . grad(phi_i) dx`` on `space.pattern`."""
    return operator_from_values(space, coefficient_at_quadrature(space, a, "a"))


@eqx.filter_jit
def assemble_mass(space: FunctionSpace, c: Coefficient = 1.0) -> CSRMatrix:
    """Mass matrix ``M_ij = int c phi_j phi_i dx`` on `space.pattern`."""
    return _to_csr(space, _local_mass(space, coefficient_at_quadrature(space, c, "c")))


@eqx.filter_jit
def assemble_operator(
    space: FunctionSpace, a: Coefficient = 1.0, c: Coefficient | None = None
) -> CSRMatrix:
    """Matrix of ``-div(a grad u) + c u`` (stiffness plus optional mass) in one scatter pass."""
    c_q = None if c is None else coefficient_at_quadrature(space, c, "c")
    return operator_from_values(space, coefficient_at_quadrature(space, a, "a"), c_q)


@eqx.filter_jit
def assemble_load(space: FunctionSpace, f: Coefficient) -> Float[Array, " dofs"]:
    """Load vector ``b_i = int f phi_i dx``, shape `(num_dofs,)`."""
    return load_from_values(space, coefficient_at_quadrature(space, f, "f"))
