r"""Canonical NLSE cases with analytic references: soliton, two-soliton collision, Akhmediev
breather and modulation instability.

Every case is written for the normalised equation $i\phi_t + \tfrac12\phi_{XX} + |\phi|^2\phi = 0$
and mapped to $i\psi_t + \tfrac{\beta}{2}\psi_{xx} + \gamma|\psi|^2\psi = 0$ ($\beta, \gamma > 0$)
by $\psi(x, t) = \gamma^{-1/2}\,\phi(x/\sqrt\beta, t)$: lengths scale with $\sqrt\beta$, amplitudes
with $\gamma^{-1/2}$, velocities with $\sqrt\beta$ and times not at all. Parameters of the public
constructors are *physical* (amplitude = peak $|\psi|$, velocity = $dx/dt$).

Use :func:`get` (by name, as the CLI does) or the constructors :func:`soliton`,
:func:`two_soliton`, :func:`akhmediev_breather`, :func:`modulation_instability`; each returns a
:class:`Case`.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Complex

from ..._misc import check_finite_scalar, check_positive_int
from ._grid import FourierGrid
from ._nlse import NLSE


@dataclasses.dataclass(frozen=True)
class Case:
    """A canonical NLSE set-up: parameters, default resolution and time window, initial data and
    (when known) the exact solution.

    **Fields:** `name`; `parameters` (the constructor's physical parameters); `beta`, `gamma`;
    default `num_points`, `domain_length`, time window `t0`..`t1` with `num_frames` saved
    frames; `reference` (analytic scalars, e.g. predicted shifts or growth rates).
    """

    name: str
    parameters: dict[str, float]
    beta: float
    gamma: float
    num_points: int
    domain_length: float
    t0: float
    t1: float
    num_frames: int
    reference: dict[str, float]
    _initial: Callable[[Array, Any], Array] = dataclasses.field(repr=False)
    _solution: Callable[[Array, Any], Array] | None = dataclasses.field(repr=False)

    def grid(self, *, dtype: Any = None) -> FourierGrid:
        """The default :class:`FourierGrid` of the case."""
        return FourierGrid(self.num_points, self.domain_length, dtype=dtype)

    def problem(self, grid: FourierGrid | None = None, **kwargs) -> NLSE:
        """The :class:`NLSE` with the case's beta and gamma (extra kwargs go to NLSE)."""
        return NLSE(self.grid() if grid is None else grid, self.beta, self.gamma, **kwargs)

    def save_times(self) -> np.ndarray:
        """`num_frames` equispaced times from `t0` to `t1`."""
        return np.linspace(self.t0, self.t1, self.num_frames)

    def u0(self, grid: FourierGrid, *, key: Any = None) -> Complex[Array, " N"]:
        """Initial data $\\psi(x, t_0)$ on `grid` (`key` seeds noisy cases; default: the case's
        `seed` parameter)."""
        if key is None:
            key = jax.random.key(int(self.parameters.get("seed", 0)))
        return self._initial(grid.x, key).astype(grid.complex_dtype)

    @property
    def has_exact(self) -> bool:
        return self._solution is not None

    def exact(self, grid: FourierGrid, t: float) -> Complex[Array, " N"]:
        """The exact solution at time `t` on `grid`. Raises `ValueError` if there is none."""
        if self._solution is None:
            raise ValueError(f"The case {self.name!r} has no exact solution.")
        return self._solution(grid.x, t).astype(grid.complex_dtype)


def _check_common(beta, gamma, num_points, domain_length, t_final, num_frames):
    beta = check_finite_scalar("beta", beta, positive=True)
    gamma = check_finite_scalar("gamma", gamma)
    if gamma <= 0:
        raise ValueError(f"`gamma` must be > 0 (focusing) for this case, got {gamma}.")
    num_points = check_positive_int("num_points", num_points, even=True, minimum=2)
    domain_length = check_finite_scalar("domain_length", domain_length, positive=True)
    t_final = check_finite_scalar("t_final", t_final, nonnegative=True)
    num_frames = check_positive_int("num_frames", num_frames, minimum=2)
    return beta, gamma, num_points, domain_length, t_final, num_frames


def _sech_soliton(x, t, amplitude, velocity, position, phase, beta, gamma):
    """Physical one-soliton $A\\,\\mathrm{sech}(A\\sqrt{\\gamma/\\beta}(x-x_0-vt))
    \\exp(i(vx/\\beta - (v^2/\\beta - \\gamma A^2)t/2 + \\varphi_0))$."""
    width = amplitude * math.sqrt(gamma / beta)
    phi = velocity * x / beta - 0.5 * (velocity**2 / beta - gamma * amplitude**2) * t + phase
    envelope = amplitude / jnp.cosh(width * (x - position - velocity * t))
    return jax.lax.complex(envelope * jnp.cos(phi), envelope * jnp.sin(phi))


def soliton(amplitude: float = 1.0, velocity: float = 1.0, position: float = -8.0,
            phase: float = 0.0, *, beta: float = 1.0, gamma: float = 1.0, num_points: int = 512,
            domain_length: float = 80.0, t_final: float = 16.0, num_frames: int = 101) -> Case:
    r"""Bright soliton moving at `velocity`:
    $\psi = A\,\mathrm{sech}(A\sqrt{\gamma/\beta}\,(x - x_0 - vt))\,
    e^{i(vx/\beta - (v^2/\beta - \gamma A^2)t/2 + \varphi_0)}$
    (for $\beta=\gamma=1$: $A\,\mathrm{sech}(A(x-x_0-vt))e^{i(vx-(v^2-A^2)t/2+\varphi_0)}$).
    Exact for all $t$ on $\mathbb{R}$; on the periodic domain up to the $e^{-A d}$ tail at the
    boundary, $d$ the distance to it. Default: travels 16 widths, from -8 to 8.
    """
    beta, gamma, num_points, domain_length, t_final, num_frames = _check_common(
        beta, gamma, num_points, domain_length, t_final, num_frames)
    amplitude = check_finite_scalar("amplitude", amplitude, positive=True)
    velocity = check_finite_scalar("velocity", velocity)
    position = check_finite_scalar("position", position)
    phase = check_finite_scalar("phase", phase)
    args = (amplitude, velocity, position, phase, beta, gamma)
    return Case(
        name="soliton",
        parameters=dict(amplitude=amplitude, velocity=velocity, position=position, phase=phase),
        beta=beta, gamma=gamma, num_points=num_points, domain_length=domain_length,
        t0=0.0, t1=t_final, num_frames=num_frames,
        reference=dict(width=1.0 / (amplitude * math.sqrt(gamma / beta)),
                       mass=2.0 * amplitude * math.sqrt(beta / gamma)),
        _initial=lambda x, key: _sech_soliton(x, 0.0, *args),
        _solution=lambda x, t: _sech_soliton(x, t, *args))


def two_soliton_shifts(amplitude1: float, velocity1: float, amplitude2: float, velocity2: float,
                       *, beta: float = 1.0, gamma: float = 1.0) -> dict[str, float]:
    r"""Asymptotic position and phase shifts of two colliding solitons (Zakharov & Shabat 1972).

    In normalised units soliton $j$ ($A_j\,\mathrm{sech}(A_j(x - x_j - v_jt))e^{iv_jx+\dots}$)
    has the eigenvalue $\zeta_j = (v_j + iA_j)/2$. With
    $r_1 = (\zeta_1-\zeta_2^*)/(\zeta_1-\zeta_2)$ and
    $r_2 = (\zeta_2-\zeta_1^*)/(\zeta_2-\zeta_1)$ ($|r_1| = |r_2|$), after the collision
    soliton $j$ is displaced *forward along its relative motion* by
    $\delta x_j = \frac{2}{A_j}\ln|r_1|$ (both are pushed ahead: the interaction is attractive;
    note the factor 2, i.e. $\frac{1}{\eta_j}\ln|r|$ with $\eta_j = A_j/2$ the imaginary part of
    $\zeta_j$), and its phase changes by $\delta\varphi_1 = 2\arg r_1$,
    $\delta\varphi_2 = -2\arg r_2$ (for soliton 1 on the left moving right). The phase shift is
    relative to the free soliton moved by $\delta x_j$ *with its carrier* $e^{iv_jx/\beta}$
    *unchanged*. Both were checked against simulations (tests/solvers/spectral). Physical lengths
    are $\sqrt\beta$ times the normalised ones; phases are unchanged by the scaling.

    **Returns:** dict with signed `shift1`, `shift2` (displacement w.r.t. the free trajectory
    $x_j + v_j t$) and `phase_shift1`, `phase_shift2` (radians, in $(-2\pi, 2\pi)$).
    """
    sb = math.sqrt(beta)
    a1, a2 = amplitude1 * math.sqrt(gamma), amplitude2 * math.sqrt(gamma)
    v1, v2 = velocity1 / sb, velocity2 / sb
    if not v1 > v2:
        raise ValueError("`velocity1` must exceed `velocity2` (soliton 1 starts on the left), "
                         f"got {velocity1} and {velocity2}.")
    z1, z2 = complex(v1, a1) / 2, complex(v2, a2) / 2
    r1 = (z1 - z2.conjugate()) / (z1 - z2)
    r2 = (z2 - z1.conjugate()) / (z2 - z1)
    log_r = math.log(abs(r1))
    return dict(shift1=2.0 * sb * log_r / a1, shift2=-2.0 * sb * log_r / a2,
                phase_shift1=2.0 * math.atan2(r1.imag, r1.real),
                phase_shift2=-2.0 * math.atan2(r2.imag, r2.real))


def two_soliton(amplitude1: float = 1.0, velocity1: float = 1.0, amplitude2: float = 1.5,
                velocity2: float = -1.0, separation: float = 20.0, phase1: float = 0.0,
                phase2: float = 0.0, *, beta: float = 1.0, gamma: float = 1.0,
                num_points: int = 512, domain_length: float = 64.0,
                t_final: float | None = None, num_frames: int = 101) -> Case:
    r"""Two solitons (:func:`soliton`) starting at $\mp$`separation`/2 and moving towards each
    other; they collide at $t_c = $ `separation` $/(v_1 - v_2)$, the middle of the default window
    $[0, 2t_c]$. The initial data is the sum of the two (exact up to their $e^{-A\,d}$ overlap);
    the `reference` holds the analytic asymptotic shifts (:func:`two_soliton_shifts`) and the
    collision time.
    """
    velocity1 = check_finite_scalar("velocity1", velocity1)
    velocity2 = check_finite_scalar("velocity2", velocity2)
    separation = check_finite_scalar("separation", separation, positive=True)
    if not velocity1 > velocity2:
        raise ValueError(f"`velocity1` must exceed `velocity2` so that soliton 1 (on the left) "
                         f"meets soliton 2, got {velocity1} and {velocity2}.")
    t_collision = separation / (velocity1 - velocity2)
    t_final = 2.0 * t_collision if t_final is None else t_final
    beta, gamma, num_points, domain_length, t_final, num_frames = _check_common(
        beta, gamma, num_points, domain_length, t_final, num_frames)
    amplitude1 = check_finite_scalar("amplitude1", amplitude1, positive=True)
    amplitude2 = check_finite_scalar("amplitude2", amplitude2, positive=True)
    phase1 = check_finite_scalar("phase1", phase1)
    phase2 = check_finite_scalar("phase2", phase2)
    s1 = (amplitude1, velocity1, -0.5 * separation, phase1, beta, gamma)
    s2 = (amplitude2, velocity2, 0.5 * separation, phase2, beta, gamma)
    reference = two_soliton_shifts(amplitude1, velocity1, amplitude2, velocity2,
                                   beta=beta, gamma=gamma)
    reference["t_collision"] = t_collision
    return Case(
        name="two-soliton",
        parameters=dict(amplitude1=amplitude1, velocity1=velocity1, amplitude2=amplitude2,
                        velocity2=velocity2, separation=separation, phase1=phase1,
                        phase2=phase2),
        beta=beta, gamma=gamma, num_points=num_points, domain_length=domain_length,
        t0=0.0, t1=t_final, num_frames=num_frames, reference=reference,
        _initial=lambda x, key: _sech_soliton(x, 0.0, *s1) + _sech_soliton(x, 0.0, *s2),
        _solution=None)


def _akhmediev(x, t, a, beta, gamma):
    omega = 2.0 * math.sqrt(1.0 - 2.0 * a)
    b = math.sqrt(8.0 * a * (1.0 - 2.0 * a))
    c = math.sqrt(2.0 * a) * jnp.cos(omega * x / math.sqrt(beta))
    scale = 1.0 / ((c - jnp.cosh(b * t)) * math.sqrt(gamma))
    re = ((1.0 - 4.0 * a) * jnp.cosh(b * t) + c) * scale
    im = b * jnp.sinh(b * t) * scale
    cos, sin = jnp.cos(t), jnp.sin(t)  # times e^{it}
    return jax.lax.complex(re * cos - im * sin, re * sin + im * cos)


def akhmediev_breather(a: float = 0.25, num_periods: int = 2, *, beta: float = 1.0,
                       gamma: float = 1.0, num_points: int = 256,
                       t_final: float = 6.0, num_frames: int = 101) -> Case:
    r"""Akhmediev breather on the unit background (normalised units):
    $\phi = \frac{(1-4a)\cosh bt + \sqrt{2a}\cos\Omega X + ib\sinh bt}
    {\sqrt{2a}\cos\Omega X - \cosh bt}\,e^{it}$, $\Omega = 2\sqrt{1-2a}$,
    $b = \sqrt{8a(1-2a)}$, $0 < a < 1/2$; peak $|\phi| = 1 + 2\sqrt{2a}$ at $X = 0$, $t = 0$.
    It is periodic in $x$ with period $2\pi\sqrt\beta/\Omega$; the domain holds `num_periods`
    periods. The window is $[-t_{final}, t_{final}]$ so maximal compression is in its middle.
    Reference: Akhmediev, Eleonskii & Kulagin (1987), doi:10.1007/BF01037866.
    """
    a = check_finite_scalar("a", a)
    if not 0.0 < a < 0.5:
        raise ValueError(f"`a` must be in (0, 1/2), got {a}.")
    num_periods = check_positive_int("num_periods", num_periods)
    omega = 2.0 * math.sqrt(1.0 - 2.0 * a)
    domain_length = num_periods * 2.0 * math.pi * math.sqrt(beta) / omega if beta > 0 else 1.0
    beta, gamma, num_points, domain_length, t_final, num_frames = _check_common(
        beta, gamma, num_points, domain_length, t_final, num_frames)
    return Case(
        name="breather", parameters=dict(a=a, num_periods=num_periods),
        beta=beta, gamma=gamma, num_points=num_points, domain_length=domain_length,
        t0=-t_final, t1=t_final, num_frames=num_frames,
        reference=dict(omega=omega / math.sqrt(beta), growth_rate=math.sqrt(8 * a * (1 - 2 * a)),
                       peak_amplitude=(1.0 + 2.0 * math.sqrt(2.0 * a)) / math.sqrt(gamma),
                       t_peak=0.0),
        _initial=lambda x, key: _akhmediev(x, -t_final, a, beta, gamma),
        _solution=lambda x, t: _akhmediev(x, t, a, beta, gamma))


def mi_growth_rate(wavenumber: float, amplitude: float = 1.0, *, beta: float = 1.0,
                   gamma: float = 1.0) -> float:
    r"""Linear growth rate of a perturbation $e^{iKx}$ of the plane wave $A_0e^{i\gamma A_0^2t}$:
    $g(K) = |K|\sqrt{\beta\gamma A_0^2 - \beta^2K^2/4}$ (0 where the root is imaginary); the
    maximum $\gamma A_0^2$ sits at $K = A_0\sqrt{2\gamma/\beta}$."""
    arg = beta * gamma * amplitude**2 - 0.25 * beta**2 * wavenumber**2
    return abs(wavenumber) * math.sqrt(arg) if arg > 0 else 0.0


def measure_growth_rate(grid, ts, us, wavenumber: float, *, max_fraction: float = 1e-2,
                        min_growth: float = 3.0) -> float:
    r"""Growth rate of the Fourier modes $\pm K$ fitted over the linear stage of a run.

    The amplitude $a(t) = \sqrt{|\hat\psi_K|^2 + |\hat\psi_{-K}|^2}$ is fitted by
    $\log a = g t + c$ (least squares) over the first contiguous run of saved times where it
    has grown by more than `min_growth` over its initial value (the decaying eigen-component of
    the seed noise has died out) and is still below `max_fraction` of the background mode
    $|\hat\psi_0|$ (linear regime).

    **Arguments:** `grid` (:class:`FourierGrid`), `ts` `(T,)`, `us` `(T, N)` complex states,
    `wavenumber` $K$ (e.g. `case.reference["k_max"]`).

    **Returns:** the fitted rate $g$, or NaN if fewer than 3 saved times fall in the window
    (save more frames, or lower the seed amplitude `epsilon`).
    """
    ts = np.asarray(ts, dtype=np.float64)
    u_hat = np.fft.fft(np.asarray(us), axis=-1)
    j = grid.wavenumber_index(wavenumber)
    amplitude = np.hypot(np.abs(u_hat[:, j]), np.abs(u_hat[:, -j]))
    background = np.abs(u_hat[:, 0])
    inside = (amplitude < max_fraction * background) & (amplitude > min_growth * amplitude[0])
    if not inside.any():
        return float("nan")
    start = int(np.argmax(inside))
    stop = start + (int(np.argmin(inside[start:])) if not inside[start:].all()
                    else len(inside) - start)
    if stop - start < 3:
        return float("nan")
    return float(np.polyfit(ts[start:stop], np.log(amplitude[start:stop]), 1)[0])


def modulation_instability(amplitude: float = 1.0, epsilon: float = 1e-4, num_periods: int = 8,
                           seed: int = 0, *, beta: float = 1.0, gamma: float = 1.0,
                           num_points: int = 256, t_final: float = 30.0,
                           num_frames: int = 101) -> Case:
    r"""Plane wave $A_0(1 + \varepsilon\,\xi)$ with complex Gaussian noise $\xi$ (seeded by
    `seed`, or the `key` given to :meth:`Case.u0`) on a domain of `num_periods` wavelengths of
    the fastest-growing mode $K_{max} = A_0\sqrt{2\gamma/\beta}$. Linear stage: each mode grows
    like $e^{g(K)t}$ (:func:`mi_growth_rate`), $g(K_{max}) = \gamma A_0^2$; then nonlinear
    compression into Akhmediev-like peaks and Fermi–Pasta–Ulam-type recurrence. No exact
    solution. Reference: Benjamin & Feir (1967); Zakharov & Ostrovsky (2009).
    """
    amplitude = check_finite_scalar("amplitude", amplitude, positive=True)
    epsilon = check_finite_scalar("epsilon", epsilon, nonnegative=True)
    num_periods = check_positive_int("num_periods", num_periods)
    seed = check_positive_int("seed", int(check_finite_scalar("seed", seed)), minimum=0)
    beta_ok = check_finite_scalar("beta", beta, positive=True)
    gamma_ok = check_finite_scalar("gamma", gamma)
    k_max = amplitude * math.sqrt(2.0 * gamma_ok / beta_ok) if gamma_ok > 0 else 1.0
    domain_length = num_periods * 2.0 * math.pi / k_max
    beta, gamma, num_points, domain_length, t_final, num_frames = _check_common(
        beta, gamma, num_points, domain_length, t_final, num_frames)

    def initial(x, key):
        noise = jax.random.normal(key, (2, x.shape[0]), dtype=x.dtype)
        return jax.lax.complex(amplitude * (1.0 + epsilon * noise[0]),
                               amplitude * epsilon * noise[1])

    return Case(
        name="mi", parameters=dict(amplitude=amplitude, epsilon=epsilon,
                                   num_periods=num_periods, seed=seed),
        beta=beta, gamma=gamma, num_points=num_points, domain_length=domain_length,
        t0=0.0, t1=t_final, num_frames=num_frames,
        reference=dict(k_max=k_max, growth_rate=mi_growth_rate(k_max, amplitude, beta=beta,
                                                               gamma=gamma)),
        _initial=initial, _solution=None)


CASES: dict[str, Callable[..., Case]] = {
    "soliton": soliton,
    "two-soliton": two_soliton,
    "breather": akhmediev_breather,
    "mi": modulation_instability,
}


def parameter_names(name: str) -> list[str]:
    """Names accepted by :func:`get` for case `name`."""
    if name not in CASES:
        raise ValueError(f"Unknown case {name!r}; choose one of {sorted(CASES)}.")
    return list(inspect.signature(CASES[name]).parameters)


def get(name: str, **parameters: Any) -> Case:
    """Build the case `name` (`soliton`, `two-soliton`, `breather`, `mi`) with keyword
    parameters. Raises `ValueError` for an unknown case or parameter name."""
    allowed = parameter_names(name)
    unknown = sorted(set(parameters) - set(allowed))
    if unknown:
        raise ValueError(f"Unknown parameter(s) {unknown} for case {name!r}; "
                         f"allowed: {allowed}.")
    for key in ("num_periods", "seed", "num_points", "num_frames"):
        value = parameters.get(key)
        if isinstance(value, float) and value.is_integer():
            parameters[key] = int(value)
    return CASES[name](**parameters)
