r"""Analytic NLSE formulas (pure functions of array parameters: jit-, vmap- and
grad-compatible), for $i\psi_t + \tfrac{\beta}{2}\psi_{xx} + \gamma|\psi|^2\psi = 0$,
$\beta, \gamma > 0$.

Each is written for the normalised equation $i\phi_t + \tfrac12\phi_{XX} + |\phi|^2\phi = 0$
and mapped by $\psi(x, t) = \gamma^{-1/2}\,\phi(x/\sqrt\beta, t)$: lengths scale with
$\sqrt\beta$, amplitudes with $\gamma^{-1/2}$, velocities with $\sqrt\beta$ and times not at all.
Parameters are *physical* (amplitude = peak $|\psi|$, velocity = $dx/dt$).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Complex, Float


def sech_soliton(x: Float[Array, " N"], t: ArrayLike, amplitude: ArrayLike, velocity: ArrayLike,
                 position: ArrayLike, phase: ArrayLike, beta: ArrayLike, gamma: ArrayLike
                 ) -> Complex[Array, " N"]:
    r"""Bright soliton $A\,\mathrm{sech}(A\sqrt{\gamma/\beta}(x-x_0-vt))
    \exp(i(vx/\beta - (v^2/\beta - \gamma A^2)t/2 + \varphi_0))$ at points `x`, time `t`."""
    width = amplitude * jnp.sqrt(gamma / beta)
    phi = velocity * x / beta - 0.5 * (velocity**2 / beta - gamma * amplitude**2) * t + phase
    envelope = amplitude / jnp.cosh(width * (x - position - velocity * t))
    return jax.lax.complex(envelope * jnp.cos(phi), envelope * jnp.sin(phi))


def akhmediev(x: Float[Array, " N"], t: ArrayLike, a: ArrayLike, beta: ArrayLike,
              gamma: ArrayLike) -> Complex[Array, " N"]:
    r"""Akhmediev breather on the background $\gamma^{-1/2}$:
    $\phi = \frac{(1-4a)\cosh bt + \sqrt{2a}\cos\Omega X + ib\sinh bt}
    {\sqrt{2a}\cos\Omega X - \cosh bt}\,e^{it}$, $X = x/\sqrt\beta$, $\Omega = 2\sqrt{1-2a}$,
    $b = \sqrt{8a(1-2a)}$, $0 < a < 1/2$ (Akhmediev, Eleonskii & Kulagin 1987,
    doi:10.1007/BF01037866)."""
    omega = 2.0 * jnp.sqrt(1.0 - 2.0 * a)
    b = jnp.sqrt(8.0 * a * (1.0 - 2.0 * a))
    c = jnp.sqrt(2.0 * a) * jnp.cos(omega * x / jnp.sqrt(beta))
    scale = 1.0 / ((c - jnp.cosh(b * t)) * jnp.sqrt(gamma))
    re = ((1.0 - 4.0 * a) * jnp.cosh(b * t) + c) * scale
    im = b * jnp.sinh(b * t) * scale
    cos, sin = jnp.cos(t), jnp.sin(t)  # times e^{it}
    return jax.lax.complex(re * cos - im * sin, re * sin + im * cos)


def akhmediev_frequency(a: ArrayLike) -> Array:
    """Normalised spatial frequency $\\Omega = 2\\sqrt{1-2a}$ of the breather."""
    return 2.0 * jnp.sqrt(1.0 - 2.0 * jnp.asarray(a))


def two_soliton_shifts(amplitude1: ArrayLike, velocity1: ArrayLike, amplitude2: ArrayLike,
                       velocity2: ArrayLike, *, beta: ArrayLike = 1.0, gamma: ArrayLike = 1.0
                       ) -> dict[str, Array]:
    r"""Asymptotic position and phase shifts of two colliding solitons (Zakharov & Shabat 1972).

    In normalised units soliton $j$ ($A_j\,\mathrm{sech}(A_j(x - x_j - v_jt))e^{iv_jx+\dots}$)
    has the eigenvalue $\zeta_j = (v_j + iA_j)/2$. With
    $r_1 = (\zeta_1-\zeta_2^*)/(\zeta_1-\zeta_2)$ and
    $r_2 = (\zeta_2-\zeta_1^*)/(\zeta_2-\zeta_1)$ ($|r_1| = |r_2|$), after the collision
    soliton $j$ is displaced *forward along its relative motion* by
    $\delta x_j = \frac{2}{A_j}\ln|r_1|$ (both are pushed ahead: the interaction is attractive;
    note the factor 2, i.e. $\frac{1}{\eta_j}\ln|r|$ with $\eta_j = A_j/2$ the imaginary part of
    $\zeta_j$), and its phase changes by $\delta\varphi_1 = 2\arg r_1$,
    $\delta\varphi_2 = -2\arg r_2$ (for soliton 1 on the left moving right, $v_1 > v_2$). The
    phase shift is relative to the free soliton moved by $\delta x_j$ *with its carrier*
    $e^{iv_jx/\beta}$ *unchanged*. Both were checked against simulations (tests). Physical
    lengths are $\sqrt\beta$ times the normalised ones; phases are unchanged by the scaling.

    **Returns:** dict with signed `shift1`, `shift2` (displacement w.r.t. the free trajectory
    $x_j + v_j t$) and `phase_shift1`, `phase_shift2` (radians, in $(-2\pi, 2\pi)$).
    """
    sb = jnp.sqrt(beta)
    a1, a2 = amplitude1 * jnp.sqrt(gamma), amplitude2 * jnp.sqrt(gamma)
    dv = (velocity1 - velocity2) / sb
    # in real arithmetic: r1 = (dv + i(a1 + a2)) / (dv + i(a1 - a2)),
    # r2 = (-dv + i(a1 + a2)) / (-dv + i(a2 - a1)); arguments wrapped to (-pi, pi]
    log_r = 0.5 * jnp.log((dv**2 + (a1 + a2) ** 2) / (dv**2 + (a1 - a2) ** 2))

    def wrap(angle):
        return jnp.arctan2(jnp.sin(angle), jnp.cos(angle))

    arg_r1 = wrap(jnp.arctan2(a1 + a2, dv) - jnp.arctan2(a1 - a2, dv))
    arg_r2 = wrap(jnp.arctan2(a1 + a2, -dv) - jnp.arctan2(a2 - a1, -dv))
    return dict(shift1=2.0 * sb * log_r / a1, shift2=-2.0 * sb * log_r / a2,
                phase_shift1=2.0 * arg_r1, phase_shift2=-2.0 * arg_r2)


def mi_growth_rate(wavenumber: ArrayLike, amplitude: ArrayLike = 1.0, *, beta: ArrayLike = 1.0,
                   gamma: ArrayLike = 1.0) -> Array:
    r"""Linear growth rate of a perturbation $e^{iKx}$ of the plane wave $A_0e^{i\gamma A_0^2t}$:
    $g(K) = |K|\sqrt{\beta\gamma A_0^2 - \beta^2K^2/4}$ (0 where the root is imaginary); the
    maximum $\gamma A_0^2$ sits at $K = A_0\sqrt{2\gamma/\beta}$."""
    arg = beta * gamma * amplitude**2 - 0.25 * beta**2 * jnp.asarray(wavenumber) ** 2
    return jnp.abs(wavenumber) * jnp.sqrt(jnp.maximum(arg, 0.0))
