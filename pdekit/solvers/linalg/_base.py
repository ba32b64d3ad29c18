"""Interfaces shared by the linear solvers and preconditioners."""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from ._sparse import CSRMatrix

Stats = dict[str, Array]


class AbstractPreconditioner(eqx.Module):
    """A preconditioner ``M ≈ A^{-1}`` built from a matrix ``A`` inside the solve.

    ``operator(A)`` runs under jit on the (traced) matrix and returns the function
    ``r -> M r``; it must be linear and, for CG, symmetric positive definite.
    """

    def check(self, A: CSRMatrix) -> None:
        """Eager validation against the matrix (outside jit). Raises ``ValueError``."""

    @abc.abstractmethod
    def operator(self, A: CSRMatrix) -> Callable[[Float[Array, " n"]], Float[Array, " n"]]:
        raise NotImplementedError


class AbstractLinearMethod(eqx.Module):
    """A method for solving ``A x = b`` with a :class:`CSRMatrix` ``A``.

    ``symmetric`` tells :func:`pdekit.solvers.linalg.solve` whether the adjoint solve may
    reuse the forward solve (``A = A^T``) or needs ``solve_raw(..., transpose=True)``.
    """

    symmetric: ClassVar[bool]

    def check(self, A: CSRMatrix, dtype) -> None:
        """Eager validation against the matrix and the solve's dtype. Raises ``ValueError``."""

    @abc.abstractmethod
    def prepare(self, A: CSRMatrix):
        """Work done once per matrix (preconditioner set-up, ...), returned as a pytree."""

    @abc.abstractmethod
    def solve_raw(
        self, A: CSRMatrix, prepared, b: Float[Array, " n"], transpose: bool
    ) -> tuple[Float[Array, " n"], Stats]:
        """Solve ``A x = b`` (or ``A^T x = b``) without any differentiation rule."""

    @abc.abstractmethod
    def failure_message(self) -> str:
        """Message raised by ``throw=True`` when ``stats['converged']`` is False."""


def residual_norm(A: CSRMatrix, x, b):
    r = b - A.matvec(x)
    return jnp.sqrt(jnp.vdot(r, r).real)
