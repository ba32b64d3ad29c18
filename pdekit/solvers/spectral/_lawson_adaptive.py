"""Adaptive embedded Lawson (interaction-picture) Runge–Kutta methods of order 8:
`LawsonDopri8` (Dormand–Prince RK8(7)13M) and `LawsonDOP853` (Hairer's DOP853, FSAL).

The pieces: the tableau (data, `_tableaux.py`), the Lawson stage kernel (`_lawson.py`, shared
with the fixed-step methods), the step-size controller (`_controller.py`, shared with
`Dopri8`), the save-time bookkeeping and the loop below, whose carry is the named
:class:`_LoopState`."""

from __future__ import annotations

import math
from typing import ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from .._solution import RESULTS
from ._base import AbstractAdaptiveMethod, _tolerance_leaf
from ._controller import PIController
from ._lawson import lawson_step, propagators, stage_sum, symbol_for_propagators
from ._tableaux import DOP853, DOPRI8, ButcherTableau


def _abs2(x):
    return x.real * x.real + x.imag * x.imag


class _LoopState(NamedTuple):
    """The carry of the adaptive loop."""

    t: Array              # current time
    u_hat: Array          # state at t (loop order)
    k1: Array | None      # N(u_hat) for FSAL methods, else None
    h: Array              # proposed step (before clipping to the next save time)
    props: tuple          # propagators of the next trial step (see `_advance`)
    prev_err: Array       # scaled error of the last accepted step (PI controller)
    save_index: Array     # next save slot
    saved: Array          # (T, *spectral) saved states
    num_steps: Array
    num_accepted: Array
    num_rejected: Array
    result: RESULTS


class _Frame(NamedTuple):
    """The Fourier layout the loop runs in (natural, or the 1D radix-4 permuted order)."""

    perm: np.ndarray | None   # loop order = natural[..., perm]; None: natural order
    symbol: Array             # what `propagators` takes, in loop order
    unitary: bool
    mirror: bool
    nonlinear: object         # N(u_hat) in loop order


def _frame(problem) -> _Frame:
    unitary = problem.linear_symbol_is_imaginary
    symbol = symbol_for_propagators(problem)
    # 1D problems that support it run the loop in the grid's permuted Fourier order (its
    # faster transform pair; every Fourier-space operation here is diagonal, so the order does
    # not matter).
    if not (problem.supports_permuted_order and problem.grid.ndim == 1):
        return _Frame(None, symbol, unitary, False, problem.nonlinear)
    perm = problem.grid.permutation()
    n = perm.size
    symbol = symbol[perm]
    # An even symbol (phase of k == phase of -k) in the radix-4 order, rows of N/4 modes
    # k = 4 j + r: row 3 is row 1 reversed (k -> N - k), so 1/4 of the phasors are copies.
    mirror = unitary and problem.linear_symbol_is_even and not np.array_equal(perm, np.arange(n))
    if mirror:
        symbol = symbol[: 3 * (n // 4)]
    return _Frame(perm, symbol, unitary, mirror,
                  lambda v: problem.nonlinear(v, permuted=True))


def _plan(ts, t, h, save_index):
    """The trial step: `h`, clipped to land on the next save time: `(h_try, clipped,
    target)`."""
    last = ts.shape[0] - 1
    target = ts[jnp.minimum(save_index, last)]
    remaining = target - t
    clipped = remaining <= 1.01 * h
    return jnp.where(clipped, remaining, h).astype(h.dtype), clipped, target


def _store_due(ts, t, u, save_index, saved):
    """Store `u` in slot `save_index` if its save time is reached (steps land exactly on save
    times) and move the index past every save time <= t: one in-place update, no inner loop.
    Repeated save times leave later slots of their run empty; :func:`_fill_repeated` fills
    them after the loop."""
    num_saves = ts.shape[0]
    slot = jnp.minimum(save_index, num_saves - 1)
    due = (save_index < num_saves) & (ts[slot] <= t)
    saved = saved.at[slot].set(jnp.where(due, u, saved[slot]))
    return jnp.where(due, jnp.sum(ts <= t).astype(save_index.dtype), save_index), saved


def _fill_repeated(ts, saved):
    """Copy the first slot of each run of repeated save times into the rest of the run."""
    return saved[jnp.searchsorted(ts, ts, side="left", method="compare_all")]


def _initial_step(u_hat, k0, rtol, atol, sqrt_n, span, dt0):
    """The first trial step: `dt0` if given, else Hairer's first guess (without its second,
    extra-evaluation part); at most the whole span."""
    real = span.dtype
    if dt0 is None:
        weight = 1.0 / (atol * sqrt_n + rtol * jnp.abs(u_hat)) ** 2
        d0 = jnp.sqrt(jnp.mean(_abs2(u_hat) * weight))
        d1 = jnp.sqrt(jnp.mean(_abs2(k0) * weight))
        h0 = jnp.where((d0 < 1e-5) | (d1 < 1e-5), 1e-6, 0.01 * d0 / d1)
    else:
        h0 = jnp.asarray(dt0, dtype=real)
    h0 = jnp.minimum(h0, jnp.maximum(span, 0.0)).astype(real)
    return jnp.where(h0 > 0, h0, 1e-6).astype(real)


class _AbstractLawsonEmbedded(AbstractAdaptiveMethod):
    """The adaptive loop shared by the embedded Lawson methods; subclasses give the tableau
    (`_tableau`, with its error rows and FSAL flag) and the error norm (`_error_norm`)."""

    order: ClassVar[int] = 8
    _tableau: ClassVar[ButcherTableau]
    rtol: Array | None
    atol: Array | None
    controller: PIController

    def __init__(self, rtol=None, atol=None, *, pcoeff: float = 0.0, icoeff: float = 1.0,
                 safety: float = 0.9, factormin: float = 0.2, factormax: float = 10.0):
        self.rtol = _tolerance_leaf("rtol", rtol)
        self.atol = _tolerance_leaf("atol", atol)
        self.controller = PIController(pcoeff=pcoeff, icoeff=icoeff, safety=safety,
                                       factormin=factormin, factormax=factormax)

    def _error_norm(self, err_vecs, weight):
        """The scalar error of a trial step (accepted when <= 1) from the error vectors
        (`h * sum_j e_j k_j` for each error row) and the per-mode weight `1 / scale**2`."""
        raise NotImplementedError

    def _attempt(self, nonlinear, props, u_hat, k1, h):
        """One trial step of size `h` from `u_hat` (`props = propagators(tableau, ..., h)`,
        `k1 = nonlinear(u_hat)` for FSAL methods, else None): `(u_hat_new,
        nonlinear(u_hat_new) or None, error vectors)`."""
        tableau = self._tableau
        u_new, ks = lawson_step(tableau, nonlinear, props, u_hat, h, k1)
        k_next = nonlinear(u_new) if tableau.fsal else None
        errs = tuple(stage_sum(ks, e, h) for e in tableau.errors)
        if props[1] is not None:
            # a non-unitary propagator changes |error|: measure it where u_new is, at t + h
            # (unitary ones leave it invariant, and the rotation is skipped)
            full = props[0][tableau.nodes.index(1.0)]
            errs = tuple(full * e for e in errs)
        return u_new, k_next, errs

    def integrate(self, problem, u_hat0, t0, ts, dt0, max_steps, tolerances):
        """Integrate from `t0` and return `(u_hats at ts, num_steps, num_accepted,
        num_rejected, result)`."""
        real = jnp.real(u_hat0).dtype
        rtol, atol = tolerances
        frame = _frame(problem)
        if frame.perm is not None:
            u_hat0 = u_hat0[..., frame.perm]
        sqrt_n = math.sqrt(problem.grid.size)
        eps = float(jnp.finfo(real).eps)
        t0 = jnp.asarray(t0, dtype=real)
        ts = jnp.asarray(ts, dtype=real)
        k0 = frame.nonlinear(u_hat0)
        h0 = _initial_step(u_hat0, k0, rtol, atol, sqrt_n, ts[-1] - t0, dt0)

        def next_props(t, h, save_index):
            return propagators(self._tableau, frame.symbol, _plan(ts, t, h, save_index)[0],
                               frame.unitary, frame.mirror)

        def cond(s: _LoopState):
            return (s.save_index < ts.shape[0]) & (s.result == RESULTS.successful) & \
                (s.num_steps < max_steps)

        def body(s: _LoopState) -> _LoopState:
            h_try, clipped, target = _plan(ts, s.t, s.h, s.save_index)
            u_new, k_new, err_vecs = self._attempt(frame.nonlinear, s.props, s.u_hat, s.k1,
                                                   h_try)
            # 1 / scale^2 per mode, from squared moduli (no complex abs, one sqrt and one
            # division per mode); a non-finite u_new makes it NaN, and so the error.
            scale = atol * sqrt_n + rtol * jnp.sqrt(jnp.maximum(_abs2(s.u_hat), _abs2(u_new)))
            err = self._error_norm(err_vecs, 1.0 / (scale * scale))
            finite = jnp.isfinite(err)
            err = jnp.where(finite, err, jnp.inf)
            accept = err <= 1.0
            factor = self.controller.factor(err, s.prev_err, self.order, accept)
            h_next = factor * h_try
            # a step clipped to a save time resumes the unclipped proposal afterwards
            h_next = jnp.where(accept & clipped & (factor >= 1), jnp.maximum(h_next, s.h),
                               h_next).astype(real)
            t = jnp.where(accept, jnp.where(clipped, target, s.t + h_try), s.t)
            u = jnp.where(accept, u_new, s.u_hat)
            k1 = None if s.k1 is None else jnp.where(accept, k_new, s.k1)
            collapsed = h_next < 10 * eps * jnp.maximum(1.0, jnp.abs(t))
            result = RESULTS.where(
                collapsed, RESULTS.where(finite, RESULTS.step_size_too_small,
                                         RESULTS.nonfinite), s.result)
            save_index, saved = _store_due(ts, t, u, s.save_index, s.saved)
            # The propagators of the *next* trial step are computed here, at the end of the
            # body, and carried: inside the body XLA would fuse the phasor polynomial into
            # every stage that uses a rotated k_j, recomputing it O(stages^2) times a step.
            return _LoopState(
                t=t, u_hat=u, k1=k1, h=h_next, props=next_props(t, h_next, save_index),
                prev_err=jnp.where(accept, jnp.maximum(err, 1e-10), s.prev_err),
                save_index=save_index, saved=saved, num_steps=s.num_steps + 1,
                num_accepted=s.num_accepted + accept.astype(s.num_accepted.dtype),
                num_rejected=s.num_rejected + (~accept).astype(s.num_rejected.dtype),
                result=result)

        zero = jnp.asarray(0)
        save_index, saved = _store_due(ts, t0, u_hat0, zero,
                                       jnp.zeros((ts.shape[0],) + u_hat0.shape, u_hat0.dtype))
        init = _LoopState(t=t0, u_hat=u_hat0, k1=k0 if self._tableau.fsal else None, h=h0,
                          props=next_props(t0, h0, save_index),
                          prev_err=jnp.asarray(1.0, real), save_index=save_index, saved=saved,
                          num_steps=zero, num_accepted=zero, num_rejected=zero,
                          result=RESULTS.successful)
        s = jax.lax.while_loop(cond, body, init)
        us = _fill_repeated(ts, s.saved)
        if frame.perm is not None:  # back to natural Fourier order
            us = us[..., np.argsort(frame.perm)]
        result = RESULTS.where((s.save_index < ts.shape[0]) & (s.result == RESULTS.successful),
                               RESULTS.max_steps_reached, s.result)
        return us, s.num_steps, s.num_accepted, s.num_rejected, result


class LawsonDopri8(_AbstractLawsonEmbedded):
    r"""Adaptive Lawson method: the embedded Dormand–Prince RK8(7)13M pair (the tableau of
    `diffrax.Dopri8`, Prince & Dormand 1981) applied in a *local* interaction picture
    $\hat v(\tau) = e^{-\mathcal{L}\tau}\hat\psi(t_n+\tau)$ that is restarted at every step, with
    error control, in a lean `lax.while_loop` (no diffrax machinery at run time).

    Dispersion is integrated exactly, so the step follows the nonlinear time scale only (small
    steps at a soliton collision, large ones elsewhere). Per attempted step: 13 nonlinear
    evaluations (26 FFTs) and the stage propagators $e^{\pm\mathcal{L}c_ih}$; for an imaginary
    symbol (NLSE, KdV: `linear_symbol_is_imaginary`) they are $\cos/\sin$ of the real phase
    $\mathrm{Im}\,\mathcal{L}\,c_ih$, once per step (in float64 by a vectorised polynomial,
    ~1 ulp), otherwise complex exponentials (dissipative symbols: fine for mild stiffness, but
    $e^{-\mathcal L c h}$ grows with the stiffness: prefer :class:`ETDRK4` for KS-like
    problems). 1D problems that support it (the NLSE) run the loop in the radix-4 permuted
    Fourier order of :meth:`FourierGrid.fft_permuted` (faster transforms; frames are returned in
    natural order). Unlike :class:`Dopri8` the phase never exceeds one step, so float32 runs do
    not lose accuracy on long windows.

    Error control (Hairer–Wanner, as diffrax): the embedded error $e$ is measured by the RMS
    over the Fourier modes of $|e_j|/(\mathrm{atol} + \mathrm{rtol}\max(|\psi_{n,j}|,
    |\psi_{n+1,j}|))$ in the unitary normalisation (so `atol` is an RMS error of $\psi$ in
    physical units, Parseval). The step size follows :class:`PIController` (default: the
    I-controller). Steps land exactly on every save time (the step is clipped to it and the
    unclipped proposal is resumed afterwards), so no dense output is needed. A non-finite trial
    step counts as a rejection (the step shrinks by `factormin`); if the step collapses below
    10 machine epsilons of $t$ the run stops with `RESULTS.nonfinite` (or
    `step_size_too_small`).

    Jit-able and vmap-able (over `u0`, over problems built from their coefficients, and over
    `rtol`/`atol`, which are traced: a tolerance sweep compiles once), and differentiable in
    *forward* mode (`jax.jvp`, `jax.jacfwd`). Reverse mode (`jax.grad`) is not supported:
    `lax.while_loop` has no transpose, and JAX raises "Reverse-mode differentiation does not
    work for lax.while_loop". For gradients use :class:`LawsonRK8` (fixed step, `lax.scan`) or
    :class:`Dopri8` (diffrax's checkpointed adjoint).

    **Arguments:**

    - `rtol`, `atol`: relative and absolute tolerances (default: 1e-10 and 1e-12 in float64,
      1e-5 and 1e-7 in float32). An `rtol` below 10 machine epsilons of the state's dtype is
      rejected by `solve`.
    - `pcoeff`, `icoeff`, `safety`, `factormin`, `factormax`: the :class:`PIController`
      (defaults 0, 1, 0.9, 0.2, 10), stored as `controller`.
    """

    _tableau: ClassVar[ButcherTableau] = DOPRI8

    def _error_norm(self, err_vecs, weight):
        return jnp.sqrt(jnp.mean(_abs2(err_vecs[0]) * weight))


class LawsonDOP853(_AbstractLawsonEmbedded):
    r"""Adaptive Lawson method with Hairer's DOP853 (Hairer, Nørsett & Wanner, *Solving ODEs I*,
    §II.10; the coefficients of `scipy.integrate.solve_ivp(method="DOP853")`, read from scipy)
    in the same local interaction picture and loop as :class:`LawsonDopri8`.

    Differences from :class:`LawsonDopri8`: 12 stages instead of 13, and
    *first-same-as-last*: the nonlinearity at the new state, $\mathcal N(\hat\psi_{n+1})$, is
    the first stage of the next step (in a picture restarted at every step the first stage
    needs no propagator), so an accepted step costs 12 nonlinear evaluations (24 FFTs) and a
    rejected one 11. The error is DOP853's combination of its 5th- and 3rd-order estimators,
    $\mathrm{err} = \|e_5\|^2 / \sqrt{\|e_5\|^2 + 0.01\|e_3\|^2}$ (RMS norms scaled as in
    :class:`LawsonDopri8`), which is less pessimistic than RK8(7)13M's 7th-order estimate and
    allows longer steps at the same tolerance. Derivatives, batching, save-time landing, result
    codes and the arguments are those of :class:`LawsonDopri8`. The fastest adaptive method
    here, and the CLI's default.

    **Arguments:** as :class:`LawsonDopri8` (`rtol`, `atol`, `pcoeff`, `icoeff`, `safety`,
    `factormin`, `factormax`).
    """

    _tableau: ClassVar[ButcherTableau] = DOP853

    def _error_norm(self, err_vecs, weight):
        e5, e3 = err_vecs
        s5 = jnp.mean(_abs2(e5) * weight)
        s3 = jnp.mean(_abs2(e3) * weight)
        denom = jnp.sqrt(s5 + 0.01 * s3)
        return jnp.where(denom > 0, s5 / jnp.where(denom > 0, denom, 1.0), 0.0)
