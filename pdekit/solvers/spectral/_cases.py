r"""Canonical NLSE cases with analytic references: soliton, two-soliton collision, Akhmediev
breather and modulation instability.

A case is an equinox Module: its physical parameters (amplitudes, velocities, $\beta$,
$\gamma$, ...) are array leaves, so a function that builds a case and solves it can be
`jax.vmap`-ed over them (validation runs on concrete values only); its structure (default grid
size and length, time window, frames, seed) is static. The analytic formulas live in
:mod:`._nlse_exact`, the post-processing of runs in :mod:`._nlse_analysis`; both are re-exported
here. Every case is written for $\beta, \gamma > 0$ (see :mod:`._nlse_exact` for the scaling).

Use :func:`get` (by name, as the CLI does) or the constructors :func:`soliton`,
:func:`two_soliton`, :func:`akhmediev_breather`, :func:`modulation_instability`.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Complex

from ..._misc import check_finite_scalar, check_positive_int, default_float_dtype, is_tracer
from ._grid import FourierGrid
from ._nlse import NLSE, check_real_scalar
from ._nlse_analysis import conservation_drifts as conservation_drifts
from ._nlse_analysis import measure_growth_rate as measure_growth_rate
from ._nlse_analysis import measure_soliton_shifts as measure_soliton_shifts
from ._nlse_exact import akhmediev, akhmediev_frequency, sech_soliton
from ._nlse_exact import mi_growth_rate as mi_growth_rate
from ._nlse_exact import two_soliton_shifts as two_soliton_shifts


def _param(name: str, value: ArrayLike, *, positive: bool = False,
           nonnegative: bool = False) -> Array:
    """A case parameter as a real scalar array leaf, checked eagerly when concrete (a traced
    value, under `jax.vmap`, is passed through)."""
    check_real_scalar(name, value)
    if not is_tracer(value):
        check_finite_scalar(name, value, positive=positive, nonnegative=nonnegative)
    return jnp.asarray(value).astype(default_float_dtype())


def _concrete(name: str, value: Array, why: str) -> float:
    if is_tracer(value):
        raise ValueError(f"`{name}` must be concrete here ({why}); it cannot be traced by "
                         "jit/vmap.")
    return float(value)


class Case(eqx.Module):
    """A canonical NLSE set-up: parameters, default resolution and time window, initial data and
    (when known) the exact solution.

    **Fields:** `beta`, `gamma` (array leaves) and the case's own physical parameters (array
    leaves, listed by `parameters`); static: default `num_points`, `domain_length`, time window
    `t0`..`t1` with `num_frames` saved frames. `reference` holds analytic scalars (e.g.
    predicted shifts or growth rates) as arrays computed from the parameters.
    """

    name: ClassVar[str]
    has_exact: ClassVar[bool] = False
    _parameter_names: ClassVar[tuple[str, ...]]
    beta: Array
    gamma: Array
    num_points: int = eqx.field(static=True)
    domain_length: float = eqx.field(static=True)
    t0: float = eqx.field(static=True)
    t1: float = eqx.field(static=True)
    num_frames: int = eqx.field(static=True)

    @property
    def parameters(self) -> dict[str, Any]:
        """The constructor's physical parameters (arrays; ints for structural ones)."""
        return {k: getattr(self, k) for k in self._parameter_names}

    @property
    def reference(self) -> dict[str, Array]:
        """Analytic scalars of the case."""
        return {}

    def grid(self, *, dtype: Any = None) -> FourierGrid:
        """The default :class:`FourierGrid` of the case."""
        return FourierGrid(self.num_points, self.domain_length, dtype=dtype)

    def problem(self, grid: FourierGrid | None = None, **kwargs) -> NLSE:
        """The :class:`NLSE` with the case's beta and gamma (extra kwargs go to NLSE)."""
        return NLSE(self.grid() if grid is None else grid, self.beta, self.gamma, **kwargs)

    def save_times(self) -> np.ndarray:
        """`num_frames` equispaced times from `t0` to `t1`."""
        return np.linspace(self.t0, self.t1, self.num_frames)

    def _initial(self, x: Array, key: Any) -> Array:
        raise NotImplementedError

    def _solution(self, x: Array, t: ArrayLike) -> Array:
        raise ValueError(f"The case {self.name!r} has no exact solution.")

    def u0(self, grid: FourierGrid, *, key: Any = None) -> Complex[Array, " N"]:
        """Initial data $\\psi(x, t_0)$ on `grid` (`key` seeds noisy cases)."""
        return self._initial(grid.x, key).astype(grid.complex_dtype)

    def exact(self, grid: FourierGrid, t: ArrayLike) -> Complex[Array, " N"]:
        """The exact solution at time `t` on `grid`. Raises `ValueError` if there is none."""
        return self._solution(grid.x, jnp.asarray(t).astype(grid.dtype)).astype(
            grid.complex_dtype)

    def _cast(self, x, *values):
        return tuple(jnp.asarray(v).astype(x.dtype) for v in values)


class Soliton(Case):
    """:func:`soliton`."""

    name: ClassVar[str] = "soliton"
    has_exact: ClassVar[bool] = True
    _parameter_names: ClassVar[tuple[str, ...]] = ("amplitude", "velocity", "position", "phase")
    amplitude: Array
    velocity: Array
    position: Array
    phase: Array

    @property
    def reference(self):
        return dict(width=1.0 / (self.amplitude * jnp.sqrt(self.gamma / self.beta)),
                    mass=2.0 * self.amplitude * jnp.sqrt(self.beta / self.gamma))

    def _solution(self, x, t):
        return sech_soliton(x, t, *self._cast(x, self.amplitude, self.velocity, self.position,
                                              self.phase, self.beta, self.gamma))

    def _initial(self, x, key):
        return self._solution(x, jnp.zeros((), x.dtype))


class TwoSoliton(Case):
    """:func:`two_soliton`."""

    name: ClassVar[str] = "two-soliton"
    _parameter_names: ClassVar[tuple[str, ...]] = (
        "amplitude1", "velocity1", "amplitude2", "velocity2", "separation", "phase1", "phase2")
    amplitude1: Array
    velocity1: Array
    amplitude2: Array
    velocity2: Array
    separation: Array
    phase1: Array
    phase2: Array

    @property
    def reference(self):
        ref = two_soliton_shifts(self.amplitude1, self.velocity1, self.amplitude2,
                                 self.velocity2, beta=self.beta, gamma=self.gamma)
        ref["t_collision"] = self.separation / (self.velocity1 - self.velocity2)
        return ref

    def free_positions(self, t: ArrayLike) -> tuple[Array, Array]:
        """Where each soliton would be at `t` without the collision."""
        return (-0.5 * self.separation + self.velocity1 * t,
                0.5 * self.separation + self.velocity2 * t)

    def _initial(self, x, key):
        b, g = self._cast(x, self.beta, self.gamma)
        s1 = self._cast(x, self.amplitude1, self.velocity1, -0.5 * self.separation, self.phase1)
        s2 = self._cast(x, self.amplitude2, self.velocity2, 0.5 * self.separation, self.phase2)
        zero = jnp.zeros((), x.dtype)
        return sech_soliton(x, zero, *s1, b, g) + sech_soliton(x, zero, *s2, b, g)


class AkhmedievBreather(Case):
    """:func:`akhmediev_breather`."""

    name: ClassVar[str] = "breather"
    has_exact: ClassVar[bool] = True
    _parameter_names: ClassVar[tuple[str, ...]] = ("a", "num_periods")
    a: Array
    num_periods: int = eqx.field(static=True)

    @property
    def reference(self):
        a = self.a
        return dict(omega=akhmediev_frequency(a) / jnp.sqrt(self.beta),
                    growth_rate=jnp.sqrt(8 * a * (1 - 2 * a)),
                    peak_amplitude=(1.0 + 2.0 * jnp.sqrt(2.0 * a)) / jnp.sqrt(self.gamma),
                    t_peak=jnp.zeros_like(a))

    def _solution(self, x, t):
        return akhmediev(x, t, *self._cast(x, self.a, self.beta, self.gamma))

    def _initial(self, x, key):
        return self._solution(x, jnp.asarray(self.t0, x.dtype))


class ModulationInstability(Case):
    """:func:`modulation_instability`."""

    name: ClassVar[str] = "mi"
    _parameter_names: ClassVar[tuple[str, ...]] = ("amplitude", "epsilon", "num_periods", "seed")
    amplitude: Array
    epsilon: Array
    num_periods: int = eqx.field(static=True)
    seed: int = eqx.field(static=True)

    @property
    def reference(self):
        k_max = self.amplitude * jnp.sqrt(2.0 * self.gamma / self.beta)
        return dict(k_max=k_max, growth_rate=mi_growth_rate(k_max, self.amplitude,
                                                             beta=self.beta, gamma=self.gamma))

    def _initial(self, x, key):
        if key is None:
            key = jax.random.key(self.seed)
        noise = jax.random.normal(key, (2,) + x.shape, dtype=x.dtype)
        amplitude, epsilon = self._cast(x, self.amplitude, self.epsilon)
        return jax.lax.complex(amplitude * (1.0 + epsilon * noise[0]),
                               amplitude * epsilon * noise[1])


def _common(beta, gamma, num_points, t_final, num_frames):
    beta = _param("beta", beta, positive=True)
    gamma = _param("gamma", gamma)
    if not is_tracer(gamma) and not float(gamma) > 0:
        raise ValueError(f"`gamma` must be > 0 (focusing) for this case, got {float(gamma)}.")
    num_points = check_positive_int("num_points", num_points, even=True, minimum=2)
    t_final = None if t_final is None else check_finite_scalar("t_final", t_final,
                                                               nonnegative=True)
    num_frames = check_positive_int("num_frames", num_frames, minimum=2)
    return beta, gamma, num_points, t_final, num_frames


def soliton(amplitude: ArrayLike = 1.0, velocity: ArrayLike = 1.0, position: ArrayLike = -8.0,
            phase: ArrayLike = 0.0, *, beta: ArrayLike = 1.0, gamma: ArrayLike = 1.0,
            num_points: int = 512, domain_length: float = 80.0, t_final: float = 16.0,
            num_frames: int = 101) -> Soliton:
    r"""Bright soliton moving at `velocity`:
    $\psi = A\,\mathrm{sech}(A\sqrt{\gamma/\beta}\,(x - x_0 - vt))\,
    e^{i(vx/\beta - (v^2/\beta - \gamma A^2)t/2 + \varphi_0)}$
    (for $\beta=\gamma=1$: $A\,\mathrm{sech}(A(x-x_0-vt))e^{i(vx-(v^2-A^2)t/2+\varphi_0)}$).
    Exact for all $t$ on $\mathbb{R}$; on the periodic domain up to the $e^{-A d}$ tail at the
    boundary, $d$ the distance to it. Default: travels 16 widths, from -8 to 8.

    **Raises:** `ValueError` naming a non-finite parameter, a non-positive `amplitude`, `beta`
    or `gamma`, or bad grid/time settings.
    """
    beta, gamma, num_points, t_final, num_frames = _common(beta, gamma, num_points, t_final,
                                                           num_frames)
    return Soliton(beta=beta, gamma=gamma, num_points=num_points,
                   domain_length=check_finite_scalar("domain_length", domain_length,
                                                     positive=True),
                   t0=0.0, t1=t_final, num_frames=num_frames,
                   amplitude=_param("amplitude", amplitude, positive=True),
                   velocity=_param("velocity", velocity), position=_param("position", position),
                   phase=_param("phase", phase))


def two_soliton(amplitude1: ArrayLike = 1.0, velocity1: ArrayLike = 1.0,
                amplitude2: ArrayLike = 1.5, velocity2: ArrayLike = -1.0,
                separation: ArrayLike = 20.0, phase1: ArrayLike = 0.0, phase2: ArrayLike = 0.0,
                *, beta: ArrayLike = 1.0, gamma: ArrayLike = 1.0, num_points: int = 512,
                domain_length: float = 64.0, t_final: float | None = None,
                num_frames: int = 101) -> TwoSoliton:
    r"""Two solitons (:func:`soliton`) starting at $\mp$`separation`/2 and moving towards each
    other; they collide at $t_c = $ `separation` $/(v_1 - v_2)$, the middle of the default window
    $[0, 2t_c]$ (with traced parameters, pass `t_final`). The initial data is the sum of the two
    (exact up to their $e^{-A\,d}$ overlap); the `reference` holds the analytic asymptotic shifts
    (:func:`two_soliton_shifts`) and the collision time.

    **Raises:** `ValueError` naming a bad parameter, including `velocity1` <= `velocity2`.
    """
    beta, gamma, num_points, t_final, num_frames = _common(beta, gamma, num_points, t_final,
                                                           num_frames)
    v1, v2 = _param("velocity1", velocity1), _param("velocity2", velocity2)
    separation = _param("separation", separation, positive=True)
    if not (is_tracer(v1) or is_tracer(v2)) and not float(v1) > float(v2):
        raise ValueError(f"`velocity1` must exceed `velocity2` so that soliton 1 (on the left) "
                         f"meets soliton 2, got {float(v1)} and {float(v2)}.")
    if t_final is None:
        why = "it sets the default t_final; pass t_final explicitly"
        t_final = 2.0 * _concrete("separation", separation, why) / (
            _concrete("velocity1", v1, why) - _concrete("velocity2", v2, why))
    return TwoSoliton(beta=beta, gamma=gamma, num_points=num_points,
                      domain_length=check_finite_scalar("domain_length", domain_length,
                                                        positive=True),
                      t0=0.0, t1=t_final, num_frames=num_frames,
                      amplitude1=_param("amplitude1", amplitude1, positive=True), velocity1=v1,
                      amplitude2=_param("amplitude2", amplitude2, positive=True), velocity2=v2,
                      separation=separation, phase1=_param("phase1", phase1),
                      phase2=_param("phase2", phase2))


def akhmediev_breather(a: ArrayLike = 0.25, num_periods: int = 2, *, beta: ArrayLike = 1.0,
                       gamma: ArrayLike = 1.0, num_points: int = 256, t_final: float = 6.0,
                       num_frames: int = 101) -> AkhmedievBreather:
    r"""Akhmediev breather on the unit background (normalised units):
    $\phi = \frac{(1-4a)\cosh bt + \sqrt{2a}\cos\Omega X + ib\sinh bt}
    {\sqrt{2a}\cos\Omega X - \cosh bt}\,e^{it}$, $\Omega = 2\sqrt{1-2a}$,
    $b = \sqrt{8a(1-2a)}$, $0 < a < 1/2$; peak $|\phi| = 1 + 2\sqrt{2a}$ at $X = 0$, $t = 0$.
    It is periodic in $x$ with period $2\pi\sqrt\beta/\Omega$; the domain holds `num_periods`
    periods (so `a` and `beta` must be concrete: they set the static domain length). The window
    is $[-t_{final}, t_{final}]$ so maximal compression is in its middle.
    Reference: Akhmediev, Eleonskii & Kulagin (1987), doi:10.1007/BF01037866.
    """
    a = _param("a", a)
    if not is_tracer(a) and not 0.0 < float(a) < 0.5:
        raise ValueError(f"`a` must be in (0, 1/2), got {float(a)}.")
    num_periods = check_positive_int("num_periods", num_periods)
    beta, gamma, num_points, t_final, num_frames = _common(beta, gamma, num_points, t_final,
                                                           num_frames)
    why = "it sets the domain length, a static part of the grid"
    length = num_periods * 2.0 * math.pi * math.sqrt(_concrete("beta", beta, why)) / (
        2.0 * math.sqrt(1.0 - 2.0 * _concrete("a", a, why)))
    return AkhmedievBreather(beta=beta, gamma=gamma, num_points=num_points,
                             domain_length=length, t0=-t_final, t1=t_final,
                             num_frames=num_frames, a=a, num_periods=num_periods)


def modulation_instability(amplitude: ArrayLike = 1.0, epsilon: ArrayLike = 1e-4,
                           num_periods: int = 8, seed: int = 0, *, beta: ArrayLike = 1.0,
                           gamma: ArrayLike = 1.0, num_points: int = 256,
                           t_final: float = 30.0, num_frames: int = 101
                           ) -> ModulationInstability:
    r"""Plane wave $A_0(1 + \varepsilon\,\xi)$ with complex Gaussian noise $\xi$ (seeded by
    `seed`, or the `key` given to :meth:`Case.u0`) on a domain of `num_periods` wavelengths of
    the fastest-growing mode $K_{max} = A_0\sqrt{2\gamma/\beta}$ (so `amplitude`, `beta` and
    `gamma` must be concrete: they set the static domain length; `epsilon` may be traced).
    Linear stage: each mode grows like $e^{g(K)t}$ (:func:`mi_growth_rate`),
    $g(K_{max}) = \gamma A_0^2$; then nonlinear compression into Akhmediev-like peaks and
    Fermi–Pasta–Ulam-type recurrence. No exact solution. Reference: Benjamin & Feir (1967);
    Zakharov & Ostrovsky (2009).
    """
    amplitude = _param("amplitude", amplitude, positive=True)
    epsilon = _param("epsilon", epsilon, nonnegative=True)
    num_periods = check_positive_int("num_periods", num_periods)
    seed = check_positive_int("seed", seed, minimum=0)
    beta, gamma, num_points, t_final, num_frames = _common(beta, gamma, num_points, t_final,
                                                           num_frames)
    why = "it sets the domain length, a static part of the grid"
    k_max = _concrete("amplitude", amplitude, why) * math.sqrt(
        2.0 * _concrete("gamma", gamma, why) / _concrete("beta", beta, why))
    return ModulationInstability(beta=beta, gamma=gamma, num_points=num_points,
                                 domain_length=num_periods * 2.0 * math.pi / k_max, t0=0.0,
                                 t1=t_final, num_frames=num_frames, amplitude=amplitude,
                                 epsilon=epsilon, num_periods=num_periods, seed=seed)


CASES: dict[str, Callable[..., Case]] = {
    "soliton": soliton,
    "two-soliton": two_soliton,
    "breather": akhmediev_breather,
    "mi": modulation_instability,
}
_INTEGER_PARAMETERS = ("num_periods", "seed", "num_points", "num_frames")


def parameter_names(name: str) -> list[str]:
    """Names accepted by :func:`get` for case `name`."""
    if name not in CASES:
        raise ValueError(f"Unknown case {name!r}; choose one of {sorted(CASES)}.")
    return list(inspect.signature(CASES[name]).parameters)


def get(name: str, **parameters: Any) -> Case:
    """Build the case `name` (`soliton`, `two-soliton`, `breather`, `mi`) with keyword
    parameters (integral floats are accepted for the integer ones, as the CLI passes them).
    Raises `ValueError` for an unknown case or parameter name, or a bad value."""
    allowed = parameter_names(name)
    unknown = sorted(set(parameters) - set(allowed))
    if unknown:
        raise ValueError(f"Unknown parameter(s) {unknown} for case {name!r}; "
                         f"allowed: {allowed}.")
    for key in _INTEGER_PARAMETERS:
        value = parameters.get(key)
        if isinstance(value, float):
            if not value.is_integer():
                raise ValueError(f"`{key}` must be an integer, got {value}.")
            parameters[key] = int(value)
    return CASES[name](**parameters)
