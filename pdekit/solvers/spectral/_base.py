"""Interfaces of the time integrators (kept separate from the problems they integrate)."""

from __future__ import annotations

import abc
from typing import Any, ClassVar

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Complex, PyTree

from ..._misc import check_finite_scalar


class AbstractMethod(eqx.Module):
    """A time integrator for a semilinear problem
    $\\hat u_t = \\mathcal{L}\\hat u + \\mathcal{N}(\\hat u)$ in Fourier space.
    Concrete methods are either fixed-step (:class:`AbstractFixedStepMethod`) or adaptive
    (driven by diffrax)."""

    order: ClassVar[int]


class AbstractFixedStepMethod(AbstractMethod):
    """A one-step method with a fixed step `h`.

    `coefficients(problem, h)` precomputes everything that depends on `h` and the problem's
    coefficients (propagators $e^{\\mathcal{L}h}$, φ-functions), once per save interval; `step`
    then advances $\\hat u$ by one step and is the body of a `lax.scan`.
    """

    @abc.abstractmethod
    def coefficients(self, problem: Any, h: Array) -> PyTree:
        """Arrays reused by every step of size `h`."""

    @abc.abstractmethod
    def step(self, problem: Any, coeffs: PyTree, u_hat: Complex[Array, " N"]
             ) -> Complex[Array, " N"]:
        """One step of size `h` (the `h` given to `coefficients`)."""


class AbstractAdaptiveMethod(AbstractMethod):
    """An adaptive method with error control (`rtol`, `atol`; `None` means the dtype's
    default, resolved by :meth:`tolerances`)."""

    rtol: eqx.AbstractVar[float | None]
    atol: eqx.AbstractVar[float | None]

    def __check_init__(self):  # equinox runs this for every subclass too
        for name in ("rtol", "atol"):
            value = getattr(self, name)
            if value is not None:
                check_finite_scalar(name, value, positive=True)

    def tolerances(self, dtype) -> tuple[float, float]:
        """`(rtol, atol)` resolved for a real `dtype` (defaults 1e-10/1e-12 in float64,
        1e-5/1e-7 in float32) and validated against its precision."""
        double = jnp.dtype(dtype) == jnp.float64
        rtol = self.rtol if self.rtol is not None else (1e-10 if double else 1e-5)
        atol = self.atol if self.atol is not None else (1e-12 if double else 1e-7)
        eps = float(jnp.finfo(dtype).eps)
        # Only rtol is bounded by the precision: atol is absolute (RMS of psi), and a small one
        # is harmless next to the rtol term for the modes that carry the solution.
        if rtol < 10 * eps:
            raise ValueError(
                f"`{type(self).__name__}(rtol={rtol:g})` is below 10 machine epsilons of "
                f"{jnp.dtype(dtype)} ({10 * eps:.1e}); loosen it or call "
                "`pdekit.enable_x64()` first.")
        return rtol, atol
