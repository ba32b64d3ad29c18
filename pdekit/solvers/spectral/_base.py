"""Interfaces of the time integrators (kept separate from the problems they integrate)."""

from __future__ import annotations

import abc
from typing import Any, ClassVar

import equinox as eqx
from jaxtyping import Array, Complex, PyTree


class AbstractMethod(eqx.Module):
    """A time integrator for a semilinear problem $\\hat u_t = \\mathcal{L}\\hat u + \\mathcal{N}(\\hat u)$
    in Fourier space. Concrete methods are either fixed-step (:class:`AbstractFixedStepMethod`)
    or adaptive (driven by diffrax)."""

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
    """An adaptive method with error control (`rtol`, `atol`)."""
