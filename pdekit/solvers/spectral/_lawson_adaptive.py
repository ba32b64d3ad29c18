"""Adaptive embedded Lawson (interaction-picture) Runge–Kutta methods of order 8:
`LawsonDopri8` (Dormand–Prince RK8(7)13M) and `LawsonDOP853` (Hairer's DOP853, FSAL)."""

from __future__ import annotations

import math
from typing import ClassVar

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array
from scipy.integrate._ivp import dop853_coefficients as _dop853

from ..._misc import check_finite_scalar
from .._solution import RESULTS
from ._base import AbstractAdaptiveMethod, _tolerance_leaf

# fdlibm's minimax kernels of sin and cos on [-pi/4, pi/4] (__kernel_sin.c, __kernel_cos.c).
_SIN_COEFFS = (-1.66666666666666324348e-01, 8.33333333332248946124e-03,
               -1.98412698298579493134e-04, 2.75573137070700676789e-06,
               -2.50507602534068634195e-08, 1.58969099521155010221e-10)
_COS_COEFFS = (4.16666666666666019037e-02, -1.38888888888741095749e-03,
               2.48015872894767294178e-05, -2.75573143513906633035e-07,
               2.08757232129817482790e-09, -1.13596475577881948265e-11)
# pi/2 split in a 33-bit head and its tail (fdlibm's pio2_1, pio2_1t): n * head is exact for
# |n| < 2^20, i.e. |theta| < 1.6e6.
_PIO2_HEAD = 1.57079632673412561417e+00
_PIO2_TAIL = 6.07710050650619224932e-11


def _horner(z, coeffs):
    r = coeffs[-1]
    for ci in coeffs[-2::-1]:
        r = ci + z * r
    return r


def _unit_phasor(theta):
    """`exp(i theta)` for a real array `theta`.

    In float64 this is a branch-free polynomial (Cody–Waite reduction to [-pi/4, pi/4] and
    fdlibm's kernels, max error ~1 ulp for |theta| < 1.6e6) that XLA vectorises; XLA CPU's
    float64 `cos`/`sin` are several times slower, and they dominated the adaptive step. Other
    dtypes use `jnp.cos`/`jnp.sin`."""
    if theta.dtype != jnp.float64:
        return jax.lax.complex(jnp.cos(theta), jnp.sin(theta))
    n = jnp.round(theta * (2 / np.pi))
    r = (theta - n * _PIO2_HEAD) - n * _PIO2_TAIL
    z = r * r
    s = r + r * z * _horner(z, _SIN_COEFFS)
    hz = 0.5 * z
    w = 1.0 - hz
    c = w + (((1.0 - w) - hz) + z * z * _horner(z, _COS_COEFFS))
    q = n.astype(jnp.int32) & 3
    cos = jnp.where(q == 0, c, jnp.where(q == 1, -s, jnp.where(q == 2, -c, s)))
    sin = jnp.where(q == 0, s, jnp.where(q == 1, c, jnp.where(q == 2, -s, -c)))
    return jax.lax.complex(cos, sin)


def _dopri8_embedded_tableau():
    """`(a rows, b, b_error, c)` of the 13 stages of Dormand–Prince RK8(7)13M as tabulated by
    `diffrax.Dopri8` (its 14th, FSAL, stage has zero weight in both `b` and `b_error`)."""
    t = diffrax.Dopri8.tableau
    b = np.asarray(t.b_sol, dtype=np.float64)
    e = np.asarray(t.b_error, dtype=np.float64)
    num_stages = int(max(np.max(np.nonzero(b)[0]), np.max(np.nonzero(e)[0]))) + 1
    rows = tuple(tuple(float(x) for x in np.asarray(a, dtype=np.float64))
                 for a in t.a_lower[:num_stages - 1])
    c = (0.0,) + tuple(float(x) for x in np.asarray(t.c, dtype=np.float64)[:num_stages - 1])
    return (rows, tuple(float(x) for x in b[:num_stages]),
            tuple(float(x) for x in e[:num_stages]), c)


def _dop853_tableau():
    """`(a rows, b, (e5, e3), c)` of the 12 stages of Hairer's DOP853 as shipped by scipy
    (`scipy.integrate._ivp.dop853_coefficients`, the tables of `solve_ivp(method="DOP853")`).
    The 13th, FSAL, evaluation $f(t+h, y_{n+1})$ has zero weight in both error estimators."""
    n = _dop853.N_STAGES
    assert _dop853.E5[n] == 0 and _dop853.E3[n] == 0  # the FSAL stage is not in the estimate

    def row(x):
        return tuple(float(v) for v in np.asarray(x, dtype=np.float64))

    return (tuple(row(_dop853.A[i, :i]) for i in range(1, n)), row(_dop853.B),
            (row(_dop853.E5[:n]), row(_dop853.E3[:n])), row(_dop853.C[:n]))


def _abs2(x):
    return x.real * x.real + x.imag * x.imag


class _AbstractLawsonEmbedded(AbstractAdaptiveMethod):
    """The adaptive loop shared by the embedded Lawson methods; subclasses give the tableau
    (`_tableau = (a rows, b, error weights, c)`), whether the first stage of the next step is
    the last evaluation of this one (`_fsal`), and the error norm (`_error_norm`)."""

    order: ClassVar[int] = 8
    _tableau: ClassVar[tuple]
    _fsal: ClassVar[bool]
    rtol: Array | None = eqx.field(default=None, converter=_tolerance_leaf)
    atol: Array | None = eqx.field(default=None, converter=_tolerance_leaf)
    pcoeff: float = eqx.field(static=True, default=0.0)
    icoeff: float = eqx.field(static=True, default=1.0)
    safety: float = eqx.field(static=True, default=0.9)
    factormin: float = eqx.field(static=True, default=0.2)
    factormax: float = eqx.field(static=True, default=10.0)

    def __check_init__(self):  # rtol/atol: AbstractAdaptiveMethod.__check_init__
        for name in ("pcoeff", "icoeff"):
            value = check_finite_scalar(name, getattr(self, name))
            if value < 0:
                raise ValueError(f"`{name}` must be >= 0, got {value}.")
        if not 0 < self.safety <= 1:
            raise ValueError(f"`safety` must be in (0, 1], got {self.safety}.")
        if not 0 < self.factormin < 1 < self.factormax:
            raise ValueError("need 0 < `factormin` < 1 < `factormax`, got "
                             f"factormin={self.factormin}, factormax={self.factormax}.")

    def _nodes(self):
        """The distinct nonzero stage nodes, and 1 (the full step)."""
        return tuple(sorted((set(self._tableau[3]) | {1.0}) - {0.0}))

    def _propagators(self, symbol, h, unitary, mirror=False):
        """`(forward, backward)`: `exp(+-L c h)` for every node `c` of :meth:`_nodes`, stacked
        `(num_nodes, *spectral)`. `unitary` (imaginary symbol): `symbol` holds the phases
        `Im L`, the forward propagators are phasors and `backward` is None (their conjugates).
        With `mirror`, `symbol` holds only the first 3/4 of the modes, and the last quarter is
        the reversed second quarter (an even symbol in the radix-4 order of
        `FourierGrid.permutation`: row 3 mirrors row 1)."""
        nodes = jnp.asarray(self._nodes(), dtype=jnp.real(symbol).dtype)
        nodes = nodes.reshape((-1,) + (1,) * symbol.ndim)
        if not unitary:
            t = (nodes * h).astype(symbol.dtype)
            return jnp.exp(t * symbol[None]), jnp.exp(-t * symbol[None])
        props = _unit_phasor(nodes * h * symbol[None])
        if not mirror:
            return props, None
        m = symbol.shape[-1] // 3
        return jnp.concatenate([props, props[:, m:2 * m][:, ::-1]], axis=-1), None

    def _error_norm(self, err_vecs, weight):
        """The scalar error of a trial step (accepted when <= 1) from the error vectors
        (`h * sum_j e_j k_j` for each error weight row) and the per-mode weight
        `1 / scale**2`."""
        raise NotImplementedError

    def _attempt(self, nonlinear, props, u_hat, k1, h):
        """One trial step of size `h` from `u_hat`, given the nonlinearity `nonlinear(u_hat)`,
        `props = _propagators(phase, h)` and `k1 = nonlinear(u_hat)` (FSAL methods; None
        otherwise): `(u_hat_new, nonlinear(u_hat_new) or None, error vectors)`."""
        a, b, b_err, c = self._tableau
        forward, backward = props
        fwd = {ci: forward[j] for j, ci in enumerate(self._nodes())}
        # |exp(L c h)| = 1 for an imaginary symbol, so exp(-L c h) = conj(exp(L c h)).
        bwd = {ci: jnp.conj(forward[j]) if backward is None else backward[j]
               for j, ci in enumerate(self._nodes())}

        # The rotated stages k_j live in one (stages, N) buffer: written once each, read by
        # every later combination. As separate arrays, XLA fuses the rotation
        # exp(-L c_j h) * FFT(...) into every consumer and recomputes it there (~4% a step).
        ks = jnp.zeros((len(c),) + u_hat.shape, u_hat.dtype)
        ks = ks.at[0].set(nonlinear(u_hat) if k1 is None else k1)

        def combine(weights):
            # h * sum_j w_j k_j with real arithmetic on the real and imaginary parts: XLA
            # multiplies a complex array by a real constant as a full complex product (the
            # zero imaginary part is not folded away), which is 3x the work.
            terms = [(w, ks[j]) for j, w in enumerate(weights) if w != 0.0]
            if not terms:
                return None
            re = sum(w * k.real for w, k in terms)
            im = sum(w * k.imag for w, k in terms)
            return jax.lax.complex(h * re, h * im)

        for i, ci in enumerate(c[1:], start=1):
            v = u_hat + combine(a[i - 1])
            ks = ks.at[i].set(bwd[ci] * nonlinear(fwd[ci] * v))
        u_new = fwd[1.0] * (u_hat + combine(b))
        k_next = nonlinear(u_new) if self._fsal else None
        # |error| is invariant under the rotation exp(L h)
        errs = (combine(b_err),) if isinstance(b_err[0], float) else \
            tuple(combine(e) for e in b_err)
        return u_new, k_next, errs

    def integrate(self, problem, u_hat0, t0, ts, dt0, max_steps, tolerances):
        """Integrate from `t0` and return `(u_hats at ts, num_steps, num_accepted,
        num_rejected, result)`."""
        real = jnp.real(u_hat0).dtype
        rtol, atol = tolerances
        unitary = problem.linear_symbol_is_imaginary
        symbol = jnp.imag(problem.linear_symbol) if unitary else problem.linear_symbol
        # 1D problems that support it run the loop in the grid's permuted Fourier order (its
        # faster transform pair; every Fourier-space operation here is diagonal, so the order
        # does not matter).
        permuted = problem.supports_permuted_order and problem.grid.ndim == 1
        perm = problem.grid.permutation() if permuted else None
        mirror = False
        if permuted:
            n = u_hat0.shape[-1]
            symbol = symbol[perm]
            # An even symbol (phase of k == phase of -k) in the radix-4 order, rows of N/4
            # modes k = 4 j + r: row 3 is row 1 reversed (k -> N - k), so 1/4 of the phasors
            # are copies.
            mirror = unitary and problem.linear_symbol_is_even and \
                not np.array_equal(perm, np.arange(n))
            if mirror:
                symbol = symbol[: 3 * (n // 4)]
            u_hat0 = u_hat0[..., perm]

        def nonlinear(v):
            return problem.nonlinear(v, permuted=True) if permuted else problem.nonlinear(v)

        sqrt_n = math.sqrt(problem.grid.size)
        eps = float(jnp.finfo(real).eps)
        t0 = jnp.asarray(t0, dtype=real)
        ts = jnp.asarray(ts, dtype=real)
        num_saves = ts.shape[0]
        span = ts[-1] - t0
        beta1 = (self.pcoeff + self.icoeff) / self.order
        beta2 = self.pcoeff / self.order
        k0 = nonlinear(u_hat0)

        if dt0 is None:
            # Hairer's first guess (without its second, extra-evaluation part).
            weight = 1.0 / (atol * sqrt_n + rtol * jnp.abs(u_hat0)) ** 2
            d0 = jnp.sqrt(jnp.mean(_abs2(u_hat0) * weight))
            d1 = jnp.sqrt(jnp.mean(_abs2(k0) * weight))
            h0 = jnp.where((d0 < 1e-5) | (d1 < 1e-5), 1e-6, 0.01 * d0 / d1)
        else:
            h0 = jnp.asarray(dt0, dtype=real)
        h0 = jnp.minimum(h0, jnp.maximum(span, 0.0)).astype(real)
        h0 = jnp.where(h0 > 0, h0, 1e-6).astype(real)

        def cond(state):
            _, _, _, _, _, _, idx, _, steps, _, _, result = state
            return (idx < num_saves) & (result == RESULTS.successful) & (steps < max_steps)

        def store_due(t, u, idx, us):
            # Store `u` in slot `idx` if its save time is reached (steps land exactly on save
            # times) and move `idx` past every save time <= t: one in-place update, no inner
            # loop. Repeated save times leave later slots of their run empty; they are filled
            # from the first slot of the run after the loop.
            due = (idx < num_saves) & (ts[jnp.minimum(idx, num_saves - 1)] <= t)
            slot = jnp.minimum(idx, num_saves - 1)
            us = us.at[slot].set(jnp.where(due, u, us[slot]))
            return jnp.where(due, jnp.sum(ts <= t).astype(idx.dtype), idx), us

        def plan(t, h, idx):
            # The trial step: `h`, clipped to land on the next save time.
            target = ts[jnp.minimum(idx, num_saves - 1)]
            remaining = target - t
            clipped = remaining <= 1.01 * h
            return jnp.where(clipped, remaining, h).astype(real), clipped, target

        def step(state):
            t, u, k1, h, props, prev, idx, us, steps, acc, rej, result = state
            h_try, clipped, target = plan(t, h, idx)
            u_new, k_new, err_vecs = self._attempt(nonlinear, props, u, k1, h_try)
            # 1 / scale^2 per mode, from squared moduli (no complex abs, one sqrt and one
            # division per mode); a non-finite u_new makes it NaN, and so the error.
            scale = atol * sqrt_n + rtol * jnp.sqrt(jnp.maximum(_abs2(u), _abs2(u_new)))
            err = self._error_norm(err_vecs, 1.0 / (scale * scale))
            finite = jnp.isfinite(err)
            err = jnp.where(finite, err, jnp.inf)
            accept = err <= 1.0
            safe_err = jnp.maximum(err, 1e-10)
            factor = self.safety * safe_err ** (-beta1) * prev ** beta2
            factor = jnp.where(finite, factor, self.factormin)
            # after a rejection the step shrinks by at least 0.9: with a factor in (1/1.01, 1)
            # a rejected step clipped to a save time would be clipped to it again, forever
            factor = jnp.clip(factor, self.factormin,
                              jnp.where(accept, self.factormax, 0.9))
            h_next = factor * h_try
            h_next = jnp.where(accept & clipped & (factor >= 1), jnp.maximum(h_next, h), h_next)
            t_new = jnp.where(clipped, target, t + h_try)
            t = jnp.where(accept, t_new, t)
            u = jnp.where(accept, u_new, u)
            if k1 is not None:
                k1 = jnp.where(accept, k_new, k1)
            prev = jnp.where(accept, safe_err, prev)
            collapsed = h_next < 10 * eps * jnp.maximum(1.0, jnp.abs(t))
            result = RESULTS.where(
                collapsed, RESULTS.where(finite, RESULTS.step_size_too_small,
                                         RESULTS.nonfinite), result)
            idx, us = store_due(t, u, idx, us)
            h_next = h_next.astype(real)
            # The propagators of the *next* trial step are computed here, at the end of the
            # body, and carried: inside the body XLA would fuse the phasor polynomial into
            # every stage that uses a rotated k_j, recomputing it O(stages^2) times a step.
            props = self._propagators(symbol, plan(t, h_next, idx)[0], unitary, mirror)
            return (t, u, k1, h_next, props, prev, idx, us, steps + 1,
                    acc + accept.astype(acc.dtype), rej + (~accept).astype(rej.dtype), result)

        # state: (t, u_hat, N(u_hat) (FSAL only), h, propagators of the next trial step,
        #         prev_err, idx, us, steps, accepted, rejected, result)
        idx0, us0 = store_due(t0, u_hat0, jnp.asarray(0),
                              jnp.zeros((num_saves,) + u_hat0.shape, u_hat0.dtype))
        props0 = self._propagators(symbol, plan(t0, h0, idx0)[0], unitary, mirror)
        init = (t0, u_hat0, k0 if self._fsal else None, h0, props0, jnp.asarray(1.0, real),
                idx0, us0, jnp.asarray(0), jnp.asarray(0), jnp.asarray(0), RESULTS.successful)

        state = jax.lax.while_loop(cond, step, init)
        idx, us, steps, acc, rej, result = state[6:]
        # repeated save times: copy the first slot of each run; back to natural Fourier order
        us = us[jnp.searchsorted(ts, ts, side="left", method="compare_all")]
        if permuted:
            us = us[..., np.argsort(perm)]
        result = RESULTS.where((idx < num_saves) & (result == RESULTS.successful),
                               RESULTS.max_steps_reached, result)
        return us, steps, acc, rej, result


class LawsonDopri8(_AbstractLawsonEmbedded):
    r"""Adaptive Lawson method: the embedded Dormand–Prince RK8(7)13M pair (the tableau of
    `diffrax.Dopri8`, Prince & Dormand 1981) applied in a *local* interaction picture
    $\hat v(\tau) = e^{-\mathcal{L}\tau}\hat\psi(t_n+\tau)$ that is restarted at every step, with
    error control, in a lean `lax.while_loop` (no diffrax machinery at run time).

    Dispersion is integrated exactly, so the step follows the nonlinear time scale only (small
    steps at a soliton collision, large ones elsewhere). Per attempted step: 13 nonlinear
    evaluations (26 FFTs) and the stage propagators $e^{\pm\mathcal{L}c_ih}$, computed as
    $\cos/\sin$ of the real phase $\mathrm{Im}\,\mathcal{L}\,c_ih$ (requires a purely imaginary
    symbol, i.e. real $\beta$, as :class:`NLSE` enforces), once per step (in float64 by a
    vectorised polynomial, ~1 ulp). The loop runs in the radix-4 permuted Fourier order of
    :meth:`FourierGrid.fft_permuted` (faster transforms; frames are returned in natural order).
    Unlike :class:`Dopri8` the phase never
    exceeds one step, so float32 runs do not lose accuracy on long windows.

    Error control (Hairer–Wanner, as diffrax): the embedded error $e$ is measured by the RMS
    over the Fourier modes of $|e_j|/(\mathrm{atol} + \mathrm{rtol}\max(|\psi_{n,j}|,
    |\psi_{n+1,j}|))$ in the unitary normalisation (so `atol` is an RMS error of $\psi$ in
    physical units, Parseval). The step-size controller is PI
    $h \leftarrow h\cdot\mathrm{safety}\cdot \mathrm{err}_n^{-(p_c+i_c)/8}\,
    \mathrm{err}_{n-1}^{p_c/8}$ with factor bounds `[factormin, factormax]` (no growth after a
    rejection); the default `pcoeff=0, icoeff=1` is the I-controller. Steps land exactly on every
    save time (the step is clipped to it and the unclipped proposal is resumed afterwards), so
    no dense output is needed. A non-finite trial step counts as a rejection (the step shrinks
    by `factormin`); if the step collapses below 10 machine epsilons of $t$ the run stops with
    `RESULTS.nonfinite` (or `step_size_too_small`).

    Jit-able and vmap-able (over `u0` and over problems built from `beta`, `gamma`), and
    differentiable in *forward* mode (`jax.jvp`, `jax.jacfwd`). Reverse mode (`jax.grad`) is not
    supported: `lax.while_loop` has no transpose, and JAX raises "Reverse-mode differentiation
    does not work for lax.while_loop". For gradients use :class:`LawsonRK8` (fixed step,
    `lax.scan`) or :class:`Dopri8` (diffrax's checkpointed adjoint).

    **Arguments:**

    - `rtol`, `atol`: relative and absolute tolerances (default: 1e-10 and 1e-12 in float64,
      1e-5 and 1e-7 in float32). An `rtol` below 10 machine epsilons of the state's dtype is
      rejected by `solve`.
    - `pcoeff`, `icoeff`: PI controller coefficients (default I-controller: 0, 1).
    - `safety`: safety factor (default 0.9).
    - `factormin`, `factormax`: bounds of the step-size ratio (default 0.2, 10).
    """

    _tableau: ClassVar[tuple] = _dopri8_embedded_tableau()
    _fsal: ClassVar[bool] = False

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
    codes and the arguments are those of :class:`LawsonDopri8`.

    **Arguments:** as :class:`LawsonDopri8` (`rtol`, `atol`, `pcoeff`, `icoeff`, `safety`,
    `factormin`, `factormax`).
    """

    _tableau: ClassVar[tuple] = _dop853_tableau()
    _fsal: ClassVar[bool] = True

    def _error_norm(self, err_vecs, weight):
        e5, e3 = err_vecs
        s5 = jnp.mean(_abs2(e5) * weight)
        s3 = jnp.mean(_abs2(e3) * weight)
        denom = jnp.sqrt(s5 + 0.01 * s3)
        return jnp.where(denom > 0, s5 / jnp.where(denom > 0, denom, 1.0), 0.0)
