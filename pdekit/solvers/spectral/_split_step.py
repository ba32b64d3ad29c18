"""Split-step Fourier methods: Strang (order 2) and Yoshida's 4th-order composition."""

from __future__ import annotations

from typing import ClassVar

import jax.numpy as jnp
from jaxtyping import Array, Complex

from ._base import AbstractFixedStepMethod

# Yoshida (1990) / Forest–Ruth (1990) weights: the symmetric composition
# S(w1 h) S(w0 h) S(w1 h) of a symmetric 2nd-order method S is 4th order.
_CBRT2 = 2.0 ** (1.0 / 3.0)
_W1 = 1.0 / (2.0 - _CBRT2)
_W0 = -_CBRT2 / (2.0 - _CBRT2)


def _composition_step(problem, propagators, nonlinear_dts, u_hat):
    """Alternate linear flows (exact, diagonal in Fourier space) and nonlinear flows (exact phase
    rotations in physical space): L(a_0) N(b_0) L(a_1) ... N(b_{m-1}) L(a_m)."""
    grid = problem.grid
    u_hat = propagators[0] * u_hat
    for i, dt_nl in enumerate(nonlinear_dts):
        psi = problem.nonlinear_flow(grid.ifft(u_hat), dt_nl)
        # The mask (dealiasing/filter) acts after the nonlinear sub-step, which is where new
        # high wavenumbers are created.
        u_hat = propagators[i + 1] * problem.apply_mask(grid.fft(psi))
    return u_hat


def _composition_coefficients(problem, h, linear_weights, nonlinear_weights):
    symbol = problem.linear_symbol
    propagators = tuple(jnp.exp(symbol * (w * h)) for w in linear_weights)
    nonlinear_dts = tuple(w * h for w in nonlinear_weights)
    return propagators, nonlinear_dts


class StrangSplitting(AbstractFixedStepMethod):
    r"""Strang split-step Fourier method, 2nd order:
    $e^{h(\mathcal{L}+\mathcal{N})} \approx e^{h\mathcal{L}/2} e^{h\mathcal{N}} e^{h\mathcal{L}/2}$.

    Both sub-flows are exact: the linear one is the multiplication by $e^{-i\beta k^2 h/4}$ in
    Fourier space, the nonlinear one the phase rotation $\psi e^{i\gamma|\psi|^2 h}$ ($|\psi|$ is
    constant along it). Each sub-flow is unitary, so the mass is conserved to round-off
    (without dealiasing/filter); 2 FFTs per step. Reference: Strang (1968),
    doi:10.1137/0705041; Weideman & Herbst (1986), doi:10.1137/0723033.
    """

    order: ClassVar[int] = 2

    def coefficients(self, problem, h):
        return _composition_coefficients(problem, h, (0.5, 0.5), (1.0,))

    def step(self, problem, coeffs, u_hat: Complex[Array, " N"]) -> Complex[Array, " N"]:
        return _composition_step(problem, *coeffs, u_hat)


class Yoshida4(AbstractFixedStepMethod):
    r"""4th-order split-step Fourier method: Yoshida's triple-jump composition of Strang steps,
    $S(w_1h)S(w_0h)S(w_1h)$ with $w_1 = 1/(2-2^{1/3})$, $w_0 = -2^{1/3}/(2-2^{1/3})$ (the
    Forest–Ruth integrator). Adjacent linear half-steps are merged, so a step costs 6 FFTs.
    Mass is conserved to round-off. Reference: Yoshida (1990), doi:10.1016/0375-9601(90)90092-3.
    """

    order: ClassVar[int] = 4

    def coefficients(self, problem, h):
        linear = (0.5 * _W1, 0.5 * (_W1 + _W0), 0.5 * (_W0 + _W1), 0.5 * _W1)
        return _composition_coefficients(problem, h, linear, (_W1, _W0, _W1))

    def step(self, problem, coeffs, u_hat: Complex[Array, " N"]) -> Complex[Array, " N"]:
        return _composition_step(problem, *coeffs, u_hat)
