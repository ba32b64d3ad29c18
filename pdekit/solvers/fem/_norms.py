"""Error norms against exact solutions, by quadrature of higher degree than the element."""

from __future__ import annotations

from collections.abc import Callable

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from ._elements import FunctionSpace
from ._quadrature import quadrature


def _rule(space: FunctionSpace, degree: int | None):
    degree = 2 * space.element.order + 2 if degree is None else int(degree)
    qp, qw = quadrature(space.mesh.dim, degree)
    phi, dphi = space.element.basis(qp)
    dt = space.dtype
    x = space.origin[:, None, :] + jnp.einsum("qb,mab->mqa", jnp.asarray(qp, dt), space.jac)
    w = jnp.asarray(qw, dt)[None, :] * space.det[:, None]
    return jnp.moveaxis(x, -1, 0), w, jnp.asarray(phi, dt), jnp.asarray(dphi, dt)


def _check_u(space: FunctionSpace, u) -> Array:
    u = jnp.asarray(u)
    if u.shape != (space.num_dofs,):
        raise ValueError(
            f"`u` must have shape ({space.num_dofs},) (one value per DOF), got {u.shape}. "
            "For a batch use `jax.vmap`."
        )
    return u


@eqx.filter_jit
def l2_error(
    space: FunctionSpace,
    u: Float[Array, " dofs"],
    exact: Callable,
    quadrature_degree: int | None = None,
) -> Float[Array, ""]:
    """``||u_h - u||_{L2}`` with `exact` a callable of `x` (shape `(d, ...)`)."""
    u = _check_u(space, u)
    x, w, phi, _ = _rule(space, quadrature_degree)
    uh = u[space.dofs_j] @ phi.T
    return jnp.sqrt(jnp.sum(w * (uh - exact(x)) ** 2))


@eqx.filter_jit
def h1_error(
    space: FunctionSpace,
    u: Float[Array, " dofs"],
    exact_grad: Callable,
    quadrature_degree: int | None = None,
) -> Float[Array, ""]:
    """H1 seminorm error ``||grad(u_h - u)||_{L2}``; `exact_grad(x)` returns the gradient as
    an array (or sequence) of shape `(d, ...)`."""
    u = _check_u(space, u)
    x, w, _, dphi = _rule(space, quadrature_degree)
    gh = jnp.einsum("mk,qkb,mba->amq", u[space.dofs_j], dphi, space.inv_jac)
    ge = jnp.stack(
        [jnp.broadcast_to(jnp.asarray(gi, gh.dtype), gh.shape[1:]) for gi in exact_grad(x)]
    )
    return jnp.sqrt(jnp.sum(w[None] * (gh - ge) ** 2))


@eqx.filter_jit
def l2_norm(space: FunctionSpace, u: Float[Array, " dofs"]) -> Float[Array, ""]:
    """``||u_h||_{L2}``."""
    u = _check_u(space, u)
    _, w, phi, _ = _rule(space, None)
    return jnp.sqrt(jnp.sum(w * (u[space.dofs_j] @ phi.T) ** 2))
