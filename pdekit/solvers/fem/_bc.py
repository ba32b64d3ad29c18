"""Boundary conditions on tagged boundary parts, turned into fixed arrays on a space.

A boundary part is selected by a predicate ``where(x) -> bool`` on facet midpoints (``x`` of
shape `(d, n)`); ``where=None`` means the whole boundary. Values are constants or callables
of ``x`` (shape `(d, ...)`).

- :class:`Dirichlet` ``u = g``: imposed by symmetric elimination on the fixed pattern
  (constrained rows and columns zeroed, unit diagonal, ``A g`` moved to the right-hand side),
  so the matrix stays SPD and the sparsity pattern never changes.
- :class:`Neumann` ``a du/dn = g``: boundary load ``int_G g v ds``.
- :class:`Robin` ``a du/dn + alpha u = g``: boundary mass ``int_G alpha u v ds`` plus load
  ``int_G g v ds``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..linalg import SparsityPattern
from ._elements import FunctionSpace
from ._quadrature import quadrature


class Dirichlet(eqx.Module):
    """``u = value`` on the boundary part selected by `where` (default: whole boundary)."""

    value: Any = eqx.field(static=True, default=0.0)
    where: Callable | None = eqx.field(static=True, default=None)


class Neumann(eqx.Module):
    """``a du/dn = flux`` (outward normal) on the part selected by `where`."""

    flux: Any = eqx.field(static=True, default=0.0)
    where: Callable | None = eqx.field(static=True, default=None)


class Robin(eqx.Module):
    """``a du/dn + alpha u = g`` on the part selected by `where` (`alpha` > 0 for coercivity)."""

    alpha: Any = eqx.field(static=True, default=1.0)
    g: Any = eqx.field(static=True, default=0.0)
    where: Callable | None = eqx.field(static=True, default=None)


def _as_tuple(bcs, kind) -> tuple:
    if bcs is None:
        return ()
    if isinstance(bcs, kind):
        return (bcs,)
    bcs = tuple(bcs)
    for bc in bcs:
        if not isinstance(bc, kind):
            raise ValueError(f"expected {kind.__name__} conditions, got {type(bc).__name__}.")
    return bcs


def _eval(value, x: np.ndarray, shape: tuple, dtype, name: str) -> np.ndarray:
    """Evaluate a constant or callable at points `x` of shape (d, *shape), on the host
    (numpy float64 result; the set-up runs once per problem, outside jit)."""
    # one jitted call instead of one eager dispatch per jnp operation in `value`
    out = jax.jit(value)(jnp.asarray(x, dtype=dtype)) if callable(value) else value
    out = np.asarray(out, dtype=np.float64)
    if out.shape not in ((), shape):
        raise ValueError(f"`{name}` evaluated to shape {out.shape}, expected {shape} or ().")
    return np.broadcast_to(out, shape)


class FacetQuadrature(eqx.Module):
    """Quadrature on a set of boundary facets: DOFs `(facets, kf)`, physical points
    `(d, facets, q)`, weights times facet measure `(facets, q)` and basis values `(q, kf)`."""

    dofs: np.ndarray
    x: np.ndarray
    weights: np.ndarray
    phi: np.ndarray

    def __init__(self, space: FunctionSpace, where: Callable | None):
        mesh = space.mesh
        facets = mesh.boundary_facets(where)
        if facets.shape[0] == 0:
            raise ValueError("the boundary predicate `where` selects no boundary facet.")
        fd = mesh.dim - 1
        qp, qw = quadrature(fd, 2 * space.element.order + 2)
        phi, _ = space.element.basis(qp)
        v = mesh.points[facets]  # (nf, fd+1, d)
        e = v[:, 1:, :] - v[:, :1, :]  # (nf, fd, d)
        gram = np.einsum("fad,fbd->fab", e, e)
        meas = np.sqrt(np.linalg.det(gram))  # Jacobian of the reference facet map
        x = v[:, :1, :] + np.einsum("qa,fad->fqd", qp, e)
        self.dofs = space.facet_dofs(facets)
        self.x = np.moveaxis(x, -1, 0)
        self.weights = meas[:, None] * qw[None, :]
        self.phi = phi

    def load(self, space: FunctionSpace, g, name: str) -> np.ndarray:
        """``int g phi_i ds`` over these facets, shape `(num_dofs,)` (numpy)."""
        gq = _eval(g, self.x, self.weights.shape, space.dtype, name)
        local = (gq * self.weights) @ self.phi
        return np.bincount(self.dofs.ravel(), local.ravel(), minlength=space.num_dofs)

    def matrix_data(self, space: FunctionSpace, alpha, name: str) -> np.ndarray:
        """CSR data (on `space.pattern`) of ``int alpha u v ds`` over these facets (numpy)."""
        aq = _eval(alpha, self.x, self.weights.shape, space.dtype, name)
        local = np.einsum("fq,qi,qj->fij", aq * self.weights, self.phi, self.phi)
        k = self.dofs.shape[1]
        pat = space.pattern
        rows = np.concatenate([np.asarray(pat.rows), np.repeat(self.dofs, k, axis=1).ravel()])
        cols = np.concatenate([np.asarray(pat.cols), np.tile(self.dofs, (1, k)).ravel()])
        pat2, scatter = SparsityPattern.from_coo(rows, cols, pat.shape)
        if pat2.nnz != pat.nnz:  # pragma: no cover - facet DOFs always share a cell
            raise ValueError("boundary entries fall outside the space's sparsity pattern.")
        return np.bincount(scatter[pat.nnz :], local.ravel(), minlength=pat.nnz)


def dirichlet_data(space: FunctionSpace, bcs: tuple[Dirichlet, ...]):
    """`(fixed_dofs, values)` of the Dirichlet conditions (later conditions win on overlaps)."""
    dtype = space.dtype
    g = np.zeros(space.num_dofs)
    fixed = np.zeros(space.num_dofs, dtype=bool)
    for i, bc in enumerate(bcs):
        dofs = space.boundary_dofs(bc.where)
        if dofs.size == 0:
            raise ValueError(f"Dirichlet condition {i}: `where` selects no boundary facet.")
        vals = _eval(bc.value, space.dof_coords[dofs].T, (dofs.size,), dtype, "Dirichlet value")
        g[dofs] = vals
        fixed[dofs] = True
    return np.nonzero(fixed)[0], g
