"""Fixed-step Lawson (integrating-factor / interaction-picture) Runge–Kutta methods."""

from __future__ import annotations

from typing import ClassVar

import diffrax
import numpy as np
from jaxtyping import Array, Inexact

from ._base import AbstractFixedStepMethod
from ._problem import exp_symbol


def _dopri8_tableau():
    """Dormand–Prince RK8(7)13M (Prince & Dormand 1981), as tabulated by `diffrax.Dopri8`:
    `(a rows, b, c)` of the 13 stages that build the 8th-order solution."""
    t = diffrax.Dopri8.tableau
    b = np.asarray(t.b_sol, dtype=np.float64)
    num_stages = int(np.max(np.nonzero(b)[0])) + 1
    rows = tuple(tuple(float(x) for x in np.asarray(a, dtype=np.float64))
                 for a in t.a_lower[:num_stages - 1])
    c = (0.0,) + tuple(float(x) for x in np.asarray(t.c, dtype=np.float64)[:num_stages - 1])
    return rows, tuple(float(x) for x in b[:num_stages]), c


class _Lawson(AbstractFixedStepMethod):
    r"""Explicit Runge–Kutta tableau `(a, b, c)` applied to the interaction-picture ODE
    $\hat v_t = e^{-\mathcal{L}\tau}\mathcal{N}(e^{\mathcal{L}\tau}\hat v)$,
    $\tau = t - t_n$, restarted at every step (Lawson 1967). The propagators
    $e^{\pm\mathcal{L}c_ih}$
    of the stage nodes and $e^{\mathcal{L}h}$ are computed once per step size, so a stage costs
    one nonlinear evaluation (an FFT pair and $|\psi|^2\psi$, no transcendental function) and
    two diagonal products."""

    _tableau: ClassVar[tuple]

    def coefficients(self, problem, h):
        _, _, c = self._tableau
        symbol = problem.linear_symbol
        forward = tuple(None if ci == 0.0 else exp_symbol(symbol, ci * h) for ci in c)
        backward = tuple(None if ci == 0.0 else exp_symbol(symbol, -ci * h) for ci in c)
        return h.astype(symbol.dtype), forward, backward, exp_symbol(symbol, h)

    def step(self, problem, coeffs, u_hat: Inexact[Array, " *spectral"]
             ) -> Inexact[Array, " *spectral"]:
        a, b, _ = self._tableau
        h, forward, backward, full = coeffs

        def combine(weights, ks):
            terms = [w * k for w, k in zip(weights, ks) if w != 0.0]
            return u_hat if not terms else u_hat + h * sum(terms[1:], terms[0])

        ks = []
        for i, (fwd, bwd) in enumerate(zip(forward, backward)):
            v = u_hat if i == 0 else combine(a[i - 1], ks)
            n = problem.nonlinear(v if fwd is None else fwd * v)
            ks.append(n if bwd is None else bwd * n)
        return full * combine(b, ks)


class LawsonRK4(_Lawson):
    r"""Classical RK4 in the interaction picture (Lawson 1967; "RK4IP", Hult 2007,
    doi:10.1109/JLT.2007.909373), 4th order. Dispersion is integrated exactly, so the step is
    set by the nonlinear time scale only; 4 nonlinear evaluations (8 FFTs) per step. Mass is
    not conserved exactly (drift $O(h^4)$).
    """

    order: ClassVar[int] = 4
    _tableau: ClassVar[tuple] = (((0.5,), (0.0, 0.5), (0.0, 0.0, 1.0)),
                                 (1 / 6, 1 / 3, 1 / 3, 1 / 6), (0.0, 0.5, 0.5, 1.0))


class LawsonRK8(_Lawson):
    r"""Fixed-step 8th-order Lawson method: the Dormand–Prince RK8(7)13M tableau (the one of
    `diffrax.Dopri8`, Prince & Dormand 1981, doi:10.1016/0771-050X(81)90010-3) in the
    interaction picture, like :class:`Dopri8` but without error control. 13 nonlinear
    evaluations (26 FFTs) per step and no per-stage exponential (the stage propagators are
    precomputed once per step size), so a step costs a fraction of an adaptive `Dopri8` step.
    The cheapest method here at every accuracy of the two-soliton benchmark; mass drift
    $O(h^8)$.
    """

    order: ClassVar[int] = 8
    _tableau: ClassVar[tuple] = _dopri8_tableau()
