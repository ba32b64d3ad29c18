"""Lawson (integrating-factor / interaction-picture) Runge–Kutta: the one stage kernel, shared
by the fixed-step methods here and the adaptive ones (`_lawson_adaptive.py`)."""

from __future__ import annotations

from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Inexact

from ._base import AbstractFixedStepMethod
from ._tableaux import DOPRI8, RK4, ButcherTableau

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


def unit_phasor(theta: Array) -> Array:
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


def symbol_for_propagators(problem) -> Array:
    """What :func:`propagators` takes: the phases `Im L` for an imaginary symbol (unitary
    propagators), else `L` itself."""
    symbol = problem.linear_symbol
    return jnp.imag(symbol) if problem.linear_symbol_is_imaginary else symbol


def propagators(tableau: ButcherTableau, symbol: Array, h: Array, unitary: bool,
                mirror: bool = False) -> tuple[Array, Array | None]:
    """`(forward, backward)`: $e^{\\pm L c h}$ for every node `c` of `tableau.nodes`, stacked
    `(num_nodes, *spectral)`.

    `unitary` (imaginary symbol): `symbol` holds the phases `Im L`, the forward propagators
    are phasors (:func:`unit_phasor`) and `backward` is None (their conjugates). With `mirror`,
    `symbol` holds only the first 3/4 of the modes, and the last quarter is the reversed second
    quarter (an even symbol in the radix-4 order of `FourierGrid.permutation`: row 3 mirrors
    row 1)."""
    nodes = jnp.asarray(tableau.nodes, dtype=jnp.real(symbol).dtype)
    nodes = nodes.reshape((-1,) + (1,) * symbol.ndim)
    if not unitary:
        t = (nodes * h).astype(symbol.dtype)
        return jnp.exp(t * symbol[None]), jnp.exp(-t * symbol[None])
    props = unit_phasor(nodes * h * symbol[None])
    if not mirror:
        return props, None
    m = symbol.shape[-1] // 3
    return jnp.concatenate([props, props[:, m:2 * m][:, ::-1]], axis=-1), None


def stage_sum(ks: Array, weights: tuple[float, ...], h: Array) -> Array | None:
    """`h * sum_j w_j ks[j]` over the nonzero weights (None if all are zero), in real
    arithmetic on the real and imaginary parts: XLA multiplies a complex array by a real
    constant as a full complex product (the zero imaginary part is not folded away), which is
    3x the work."""
    terms = [(w, ks[j]) for j, w in enumerate(weights) if w != 0.0]
    if not terms:
        return None
    re = sum(w * k.real for w, k in terms)
    im = sum(w * k.imag for w, k in terms)
    return jax.lax.complex(h * re, h * im)


def lawson_step(tableau: ButcherTableau, nonlinear, props, u_hat: Array, h: Array,
                k1: Array | None = None) -> tuple[Array, Array]:
    r"""One Lawson step: the explicit tableau applied to the interaction-picture ODE
    $\hat v_\tau = e^{-L\tau}\mathcal N(e^{L\tau}\hat v)$, $\hat v(0) = \hat u_n$, restarted
    at every step (Lawson 1967):
    $k_i = e^{-Lc_ih}\mathcal N(e^{Lc_ih}(\hat u_n + h\sum_j a_{ij}k_j))$,
    $\hat u_{n+1} = e^{Lh}(\hat u_n + h\sum_i b_ik_i)$.

    **Arguments:** the `tableau`, `nonlinear(u_hat)`, `props = propagators(tableau, ..., h)`,
    the state `u_hat`, the step `h` (real) and, for FSAL methods, `k1 = nonlinear(u_hat)` from
    the previous step.

    **Returns:** `(u_hat_new, ks)` with the stages `ks` `(num_stages, *spectral)` (for error
    estimates, :func:`stage_sum`).
    """
    a, b, c = tableau.a, tableau.b, tableau.c
    forward, backward = props
    index = {ci: j for j, ci in enumerate(tableau.nodes)}

    def fwd(ci):
        return forward[index[ci]]

    def bwd(ci):  # |exp(L c h)| = 1 for an imaginary symbol: exp(-L c h) = conj(exp(L c h))
        return jnp.conj(forward[index[ci]]) if backward is None else backward[index[ci]]

    # The rotated stages k_j live in one (stages, *spectral) buffer: written once each, read by
    # every later combination. As separate arrays, XLA fuses the rotation exp(-L c_j h) *
    # FFT(...) into every consumer and recomputes it there (~4% a step).
    ks = jnp.zeros((len(c),) + u_hat.shape, u_hat.dtype)
    ks = ks.at[0].set(nonlinear(u_hat) if k1 is None else k1)
    for i, ci in enumerate(c[1:], start=1):
        increment = stage_sum(ks, a[i - 1], h)
        v = u_hat if increment is None else u_hat + increment
        n = nonlinear(v if ci == 0.0 else fwd(ci) * v)
        ks = ks.at[i].set(n if ci == 0.0 else bwd(ci) * n)
    return fwd(1.0) * (u_hat + stage_sum(ks, b, h)), ks


class _Lawson(AbstractFixedStepMethod):
    r"""A fixed-step Lawson method (:func:`lawson_step`) with the tableau `_tableau`. The
    propagators $e^{\pm Lc_ih}$ of the stage nodes and $e^{Lh}$ are computed once per step
    size, so a stage costs one nonlinear evaluation (an FFT pair and the pointwise product,
    no transcendental function) and two diagonal products."""

    _tableau: ClassVar[ButcherTableau]

    def coefficients(self, problem, h):
        props = propagators(self._tableau, symbol_for_propagators(problem), h,
                            problem.linear_symbol_is_imaginary)
        return h, props

    def step(self, problem, coeffs, u_hat: Inexact[Array, " *spectral"]
             ) -> Inexact[Array, " *spectral"]:
        h, props = coeffs
        return lawson_step(self._tableau, problem.nonlinear, props, u_hat, h)[0]


class LawsonRK4(_Lawson):
    r"""Classical RK4 in the interaction picture (Lawson 1967; "RK4IP", Hult 2007,
    doi:10.1109/JLT.2007.909373), 4th order. Dispersion is integrated exactly, so the step is
    set by the nonlinear time scale only; 4 nonlinear evaluations (8 FFTs) per step. Mass is
    not conserved exactly (drift $O(h^4)$).
    """

    order: ClassVar[int] = 4
    _tableau: ClassVar[ButcherTableau] = RK4


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
    _tableau: ClassVar[ButcherTableau] = DOPRI8
