"""Adaptive 8th-order Dormand–Prince (DOP853 class) through diffrax, in the interaction picture."""

from __future__ import annotations

import math
from typing import ClassVar

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array

from ..._misc import check_finite_scalar
from .._solution import RESULTS
from ._base import AbstractAdaptiveMethod, _tolerance_leaf
from ._controller import PIController


class Dopri8(AbstractAdaptiveMethod):
    r"""Adaptive embedded Runge–Kutta 8(5,3) (`diffrax.Dopri8`, the DOP853 tableau) with a PID
    step-size controller.

    The ODE is integrated in the *interaction picture*:
    $\hat v(t) = e^{-\mathcal{L}(t-t_0)}\hat\psi(t)$ obeys
    $\hat v_t = e^{-\mathcal{L}(t-t_0)}\mathcal{N}(e^{\mathcal{L}(t-t_0)}\hat v)$. The stiff
    dispersion $\mathcal{L} = -i\beta k^2/2$ (eigenvalues up to $\beta k_{max}^2/2$, which would
    cap an explicit step at $\sim 6/(\beta k_{max}^2)$) is thereby integrated exactly and the step
    size is set by the nonlinear time scale alone (the plain Fourier-space ODE would be
    stability-limited at fine grids), for one extra complex exponential per stage. The price
    is a phase $\beta k^2 (t-t_0)/2$ that grows with time, so round-off in it is
    $\sim\epsilon\,\beta k_{max}^2 (t-t_0)$: negligible in float64, noticeable in float32 on
    long windows (run such windows in chunks, as the CLI does). For a problem whose symbol is
    not imaginary (dissipative: heat, Burgers, KS) the inverse propagator $e^{-\mathcal L\tau}$
    grows with $\tau$ and overflows for stiff symbols: use ETDRK4 there. The state is the
    unitary-normalised $\hat v/\sqrt{N}$ stored as a real
    `(2, N)` array, so that `atol` is an RMS error of $\psi$ in physical units (Parseval) and
    diffrax sees a real state.

    **Arguments:**

    - `rtol`, `atol`: relative and absolute tolerances (default: 1e-10 and 1e-12 in float64,
      1e-5 and 1e-7 in float32). An `rtol` below 10 machine epsilons of the state's dtype
      is rejected by `solve` (call `pdekit.enable_x64()` for tighter ones).
    - `pcoeff`, `icoeff`, `safety`, `factormin`, `factormax`: the :class:`PIController`
      shared with the Lawson methods (default: I-controller), passed to
      `diffrax.PIDController`; `dcoeff`: its derivative coefficient (default 0).
    """

    order: ClassVar[int] = 8
    rtol: Array | None
    atol: Array | None
    controller: PIController
    dcoeff: float = eqx.field(static=True)

    def __init__(self, rtol=None, atol=None, *, pcoeff: float = 0.0, icoeff: float = 1.0,
                 dcoeff: float = 0.0, safety: float = 0.9, factormin: float = 0.2,
                 factormax: float = 10.0):
        self.rtol = _tolerance_leaf("rtol", rtol)
        self.atol = _tolerance_leaf("atol", atol)
        self.controller = PIController(pcoeff=pcoeff, icoeff=icoeff, safety=safety,
                                       factormin=factormin, factormax=factormax)
        self.dcoeff = check_finite_scalar("dcoeff", dcoeff)

    def integrate(self, problem, u_hat0, t0, ts, dt0, max_steps, tolerances):
        """Integrate from `t0` and return `(u_hats at ts, num_steps, num_accepted,
        num_rejected, result)`."""
        rtol, atol = tolerances
        symbol = problem.linear_symbol
        unitary = problem.linear_symbol_is_imaginary
        scale = math.sqrt(problem.grid.size)  # a Python float: weakly typed

        def vector_field(t, y, args):
            prop = jnp.exp(symbol * (t - t0).astype(symbol.dtype))
            # |exp(L tau)| = 1 for an imaginary symbol, so exp(-L tau) = conj(exp(L tau)).
            inverse = jnp.conj(prop) if unitary else jnp.exp(-symbol * (t - t0).astype(
                symbol.dtype))
            v_hat = jax.lax.complex(y[0], y[1]) * scale
            dv = inverse * problem.nonlinear(prop * v_hat) / scale
            return jnp.stack([dv.real, dv.imag])

        y0 = u_hat0 / scale
        y0 = jnp.stack([y0.real, y0.imag])
        controller = self.controller.to_diffrax(rtol, atol, dcoeff=self.dcoeff)
        sol = diffrax.diffeqsolve(
            diffrax.ODETerm(vector_field), diffrax.Dopri8(), t0, ts[-1], dt0, y0,
            saveat=diffrax.SaveAt(ts=ts), stepsize_controller=controller,
            max_steps=max_steps, throw=False)
        v_hats = jax.lax.complex(sol.ys[:, 0], sol.ys[:, 1]) * scale
        tau = (ts - t0).astype(symbol.dtype).reshape((-1,) + (1,) * symbol.ndim)
        u_hats = jnp.exp(symbol[None] * tau) * v_hats
        ok = sol.result == diffrax.RESULTS.successful
        max_reached = sol.result == diffrax.RESULTS.max_steps_reached
        result = RESULTS.where(
            ok, RESULTS.successful,
            RESULTS.where(max_reached, RESULTS.max_steps_reached, RESULTS.step_size_too_small))
        stats = sol.stats
        return (u_hats, stats["num_steps"], stats["num_accepted_steps"],
                stats["num_rejected_steps"], result)
