"""Split-step Fourier methods: Strang (order 2) and its symmetric compositions (orders 4, 6, 8)."""

from __future__ import annotations

from typing import ClassVar

from jaxtyping import Array, Inexact

from ._base import AbstractFixedStepMethod
from ._problem import exp_symbol

# Yoshida (1990) / Forest–Ruth (1990) weights: the symmetric composition
# S(w1 h) S(w0 h) S(w1 h) of a symmetric 2nd-order method S is 4th order.
_CBRT2 = 2.0 ** (1.0 / 3.0)
_W1 = 1.0 / (2.0 - _CBRT2)
_W0 = -_CBRT2 / (2.0 - _CBRT2)

# Kahan & Li (1997), doi:10.1090/S0025-5718-97-00873-9, as tabulated in Hairer, Lubich &
# Wanner, "Geometric Numerical Integration" (2006), Sec. V.3.2, eqs. (3.12) (s9odr6) and
# (3.13) (s15odr8). Outer half of the palindrome, the last entry is the centre.
_KAHAN_LI_6 = (0.39216144400731413927925056, 0.33259913678935943859974864,
               -0.70624617255763935980996482, 0.08221359629355080023149045,
               0.79854399093482996339895035)
_KAHAN_LI_8 = (0.74167036435061295344822780, -0.40910082580003159399730010,
               0.19075471029623837995387626, -0.57386247111608226665638773,
               0.29906418130365592384446354, 0.33462491824529818378495798,
               0.31529309239676659663205666, -0.79688793935291635401978884)


def _palindrome(half: tuple[float, ...]) -> tuple[float, ...]:
    return half + half[-2::-1]


def _composition_step(problem, propagators, nonlinear_dts, u_hat):
    """Alternate linear flows (exact, diagonal in Fourier space) and nonlinear flows (exact, in
    physical space: `problem.nonlinear_flow`): L(a_0) N(b_0) L(a_1) ... N(b_{m-1}) L(a_m).

    For the NLSE the nonlinear flow of $i\\psi_t = -\\gamma|\\psi|^2\\psi$ is the rotation
    $\\psi e^{i\\gamma|\\psi|^2 b}$ (:meth:`NLSE.nonlinear_flow`)."""
    u_hat = propagators[0] * u_hat
    for i, dt_nl in enumerate(nonlinear_dts):
        u = problem.nonlinear_flow(problem.to_physical(u_hat), dt_nl)
        # The mask (dealiasing/filter) acts after the nonlinear sub-step, which is where new
        # high wavenumbers are created.
        u_hat = propagators[i + 1] * problem.apply_mask(problem.to_fourier(u))
    return u_hat


class _Composition(AbstractFixedStepMethod):
    """Symmetric composition $S(w_1h)\\cdots S(w_sh)$ of Strang steps $S$ with the palindromic
    weights `_weights` (summing to 1). Adjacent linear half-steps of consecutive Strang steps
    are merged, so a step costs $s$ FFT pairs, $s$ phase rotations and $s+1$ diagonal products
    with propagators precomputed once per step size (in `coefficients`)."""

    _weights: ClassVar[tuple[float, ...]]

    def check_problem(self, problem):
        if not problem.has_nonlinear_flow:
            raise ValueError(
                f"`{type(self).__name__}` is a split-step method and needs the exact nonlinear "
                f"flow `nonlinear_flow(u, dt)`, which {type(problem).__name__} does not define; "
                "use ETDRK4, LawsonRK4/LawsonRK8 or LawsonDOP853 instead.")

    def coefficients(self, problem, h):
        w = self._weights
        linear = (0.5 * w[0],) + tuple(0.5 * (a + b) for a, b in zip(w[:-1], w[1:])) + (
            0.5 * w[-1],)
        symbol = problem.linear_symbol
        propagators = tuple(exp_symbol(symbol, a * h) for a in linear)
        return propagators, tuple(b * h for b in w)

    def step(self, problem, coeffs, u_hat: Inexact[Array, " *spectral"]
             ) -> Inexact[Array, " *spectral"]:
        return _composition_step(problem, *coeffs, u_hat)


class StrangSplitting(_Composition):
    r"""Strang split-step Fourier method, 2nd order:
    $e^{h(\mathcal{L}+\mathcal{N})} \approx e^{h\mathcal{L}/2} e^{h\mathcal{N}} e^{h\mathcal{L}/2}$.

    Both sub-flows are exact: the linear one is the multiplication by $e^{-i\beta k^2 h/4}$ in
    Fourier space, the nonlinear one the phase rotation $\psi e^{i\gamma|\psi|^2 h}$ ($|\psi|$ is
    constant along it). Each sub-flow is unitary, so the mass is conserved to round-off
    (without dealiasing/filter); 2 FFTs per step. Reference: Strang (1968),
    doi:10.1137/0705041; Weideman & Herbst (1986), doi:10.1137/0723033.
    """

    order: ClassVar[int] = 2
    _weights: ClassVar[tuple[float, ...]] = (1.0,)


class Yoshida4(_Composition):
    r"""4th-order split-step Fourier method: Yoshida's triple-jump composition of Strang steps,
    $S(w_1h)S(w_0h)S(w_1h)$ with $w_1 = 1/(2-2^{1/3})$, $w_0 = -2^{1/3}/(2-2^{1/3})$ (the
    Forest–Ruth integrator). Adjacent linear half-steps are merged, so a step costs 6 FFTs.
    Mass is conserved to round-off. Reference: Yoshida (1990), doi:10.1016/0375-9601(90)90092-3.
    """

    order: ClassVar[int] = 4
    _weights: ClassVar[tuple[float, ...]] = (_W1, _W0, _W1)


class SplitStep6(_Composition):
    r"""6th-order split-step Fourier method: the 9-stage symmetric composition of Strang steps
    of Kahan & Li (1997) (`s9odr6`, Hairer–Lubich–Wanner, *Geometric Numerical Integration*,
    Sec. V.3.2), whose error constant is far below Yoshida's 7-stage one. 18 FFTs per step;
    mass conserved to round-off.
    """

    order: ClassVar[int] = 6
    _weights: ClassVar[tuple[float, ...]] = _palindrome(_KAHAN_LI_6)


class SplitStep8(_Composition):
    r"""8th-order split-step Fourier method: the 15-stage symmetric composition of Strang
    steps of Kahan & Li (1997) (`s15odr8`, Hairer–Lubich–Wanner, Sec. V.3.2). 30 FFTs per
    step; mass conserved to round-off. The most efficient split-step method at tight
    tolerances (relative errors $\lesssim 10^{-8}$).
    """

    order: ClassVar[int] = 8
    _weights: ClassVar[tuple[float, ...]] = _palindrome(_KAHAN_LI_8)
