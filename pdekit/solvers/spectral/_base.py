"""Interfaces of the time integrators (kept separate from the problems they integrate)."""

from __future__ import annotations

import abc
from typing import Any, ClassVar

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Inexact, PyTree

from ..._misc import check_finite_scalar, default_float_dtype, is_tracer


def _tolerance_leaf(name: str, value):
    """`rtol`/`atol` as stored: None, or an array leaf (so a new value never recompiles),
    strongly typed in the default float dtype (a Python float and an array of the same value
    then hit the same compiled function)."""
    if value is None or is_tracer(value):
        return value
    if isinstance(value, (str, bytes, bool)) or not np.issubdtype(np.asarray(value).dtype,
                                                                 np.number):
        raise ValueError(f"`{name}` must be a real number, got {value!r}.")
    return jnp.asarray(value).astype(default_float_dtype())


class AbstractMethod(eqx.Module):
    """A time integrator for a semilinear problem
    $\\hat u_t = \\mathcal{L}\\hat u + \\mathcal{N}(\\hat u)$ in Fourier space (any
    :class:`AbstractSpectralProblem`). Concrete methods are either fixed-step
    (:class:`AbstractFixedStepMethod`) or adaptive (:class:`AbstractAdaptiveMethod`)."""

    order: ClassVar[int]

    def check_problem(self, problem: Any) -> None:
        """Raise `ValueError` (eagerly, from :func:`solve`) if this method cannot integrate
        `problem`; every method accepts every problem unless it overrides this."""


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
    def step(self, problem: Any, coeffs: PyTree, u_hat: Inexact[Array, " *spectral"]
             ) -> Inexact[Array, " *spectral"]:
        """One step of size `h` (the `h` given to `coefficients`)."""


class AbstractAdaptiveMethod(AbstractMethod):
    """An adaptive method with error control.

    `rtol` and `atol` are array leaves (not static), so a tolerance sweep, or a `jax.vmap`
    over tolerances, reuses one compilation; `None` means the dtype's default, resolved by
    :meth:`tolerances`. Concrete values are validated when the method is built.
    """

    rtol: eqx.AbstractVar[Array | None]
    atol: eqx.AbstractVar[Array | None]

    def __check_init__(self):  # equinox runs this for every subclass too
        for name in ("rtol", "atol"):
            value = getattr(self, name)
            if value is None or is_tracer(value):
                continue
            if jnp.ndim(value) != 0:
                raise ValueError(f"`{name}` must be a scalar, got shape {jnp.shape(value)}; "
                                 "use `jax.vmap` over a function building the method for "
                                 "several values.")
            check_finite_scalar(name, value, positive=True)

    def tolerances(self, dtype) -> tuple[Array, Array]:
        """`(rtol, atol)` as arrays of the real `dtype` (defaults 1e-10/1e-12 in float64,
        1e-5/1e-7 in float32), validated against its precision when concrete.

        **Raises:** `ValueError` if a concrete `rtol` is below 10 machine epsilons of `dtype`.
        """
        double = jnp.dtype(dtype) == jnp.float64
        rtol = self.rtol if self.rtol is not None else (1e-10 if double else 1e-5)
        atol = self.atol if self.atol is not None else (1e-12 if double else 1e-7)
        eps = float(jnp.finfo(dtype).eps)
        # Only rtol is bounded by the precision: atol is absolute (RMS of the state), and a
        # small one is harmless next to the rtol term for the modes that carry the solution.
        if not is_tracer(rtol) and float(rtol) < 10 * eps:
            raise ValueError(
                f"`{type(self).__name__}(rtol={float(rtol):g})` is below 10 machine epsilons "
                f"of {jnp.dtype(dtype)} ({10 * eps:.1e}); loosen it or call "
                "`pdekit.enable_x64()` first.")
        return jnp.asarray(rtol).astype(dtype), jnp.asarray(atol).astype(dtype)

    @abc.abstractmethod
    def integrate(self, problem: Any, u_hat0: Array, t0: Array, ts: Array, dt0: Array | None,
                  max_steps: int, tolerances: tuple[Array, Array]):
        """Integrate from `t0`, returning `(u_hats at ts, num_steps, num_accepted,
        num_rejected, result)`."""
