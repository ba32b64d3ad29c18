"""Explicit Runge–Kutta tableaux as data (one reader for every source), used by the fixed-step
and the adaptive Lawson methods."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class ButcherTableau(NamedTuple):
    """An explicit Runge–Kutta tableau, as plain Python floats (so zero weights are skipped
    when a stage sum is traced).

    **Fields:**

    - `a`: rows $a_{i,0..i-1}$ of the strictly lower part, for stages $i = 1..s-1$;
    - `b`: weights of the solution, length $s$;
    - `c`: nodes, length $s$ ($c_0 = 0$);
    - `errors`: rows of error weights (each length $s$; `h * sum_j e_j k_j` is an error
      estimate); empty for a tableau without an embedded pair;
    - `fsal`: the evaluation at the new state is the next step's first stage (and has zero
      weight in every error row).
    """

    a: tuple[tuple[float, ...], ...]
    b: tuple[float, ...]
    c: tuple[float, ...]
    errors: tuple[tuple[float, ...], ...] = ()
    fsal: bool = False

    @property
    def num_stages(self) -> int:
        return len(self.b)

    @property
    def nodes(self) -> tuple[float, ...]:
        """The distinct nonzero stage nodes, and 1 (the full step), sorted."""
        return tuple(sorted((set(self.c) | {1.0}) - {0.0}))


def read_tableau(a_lower, b, c, errors=(), *, fsal=False, num_stages=None) -> ButcherTableau:
    """A :class:`ButcherTableau` from array-likes: `a_lower` (rows of the lower part, row `i`
    with at least `i + 1` entries, for stages 1..), `b`, `c` (with or without the leading 0)
    and error rows. `num_stages` truncates to the first stages (trailing stages of zero weight,
    e.g. a FSAL evaluation, are dropped: by default everything past the last stage with a
    nonzero solution or error weight)."""

    def floats(x):
        return tuple(float(v) for v in np.asarray(x, dtype=np.float64))

    b = floats(b)
    errors = tuple(floats(e) for e in errors)
    if num_stages is None:
        used = [i for i, w in enumerate(b) if w != 0.0]
        used += [i for e in errors for i, w in enumerate(e) if w != 0.0]
        num_stages = max(used) + 1
    c = floats(c)
    if len(c) < num_stages or c[0] != 0.0:
        c = (0.0,) + c
    a = tuple(floats(np.asarray(row, dtype=np.float64)[:i + 1])
              for i, row in enumerate(a_lower[:num_stages - 1]))
    for e in errors:
        if any(w != 0.0 for w in e[num_stages:]):
            raise ValueError("an error row has weight on a dropped stage")  # pragma: no cover
    return ButcherTableau(a=a, b=b[:num_stages], c=c[:num_stages],
                          errors=tuple(e[:num_stages] for e in errors), fsal=fsal)


def _classical_rk4() -> ButcherTableau:
    return ButcherTableau(a=((0.5,), (0.0, 0.5), (0.0, 0.0, 1.0)),
                          b=(1 / 6, 1 / 3, 1 / 3, 1 / 6), c=(0.0, 0.5, 0.5, 1.0))


def _dopri8() -> ButcherTableau:
    """Dormand–Prince RK8(7)13M (Prince & Dormand 1981, doi:10.1016/0771-050X(81)90010-3) as
    tabulated by `diffrax.Dopri8`: 13 stages, the 8th-order solution and its 7th-order error
    estimate (diffrax's 14th, FSAL, stage has zero weight in both and is dropped)."""
    import diffrax

    t = diffrax.Dopri8.tableau
    return read_tableau(t.a_lower, t.b_sol, t.c, (t.b_error,))


def _dop853() -> ButcherTableau:
    """Hairer's DOP853 (Hairer, Nørsett & Wanner, *Solving ODEs I*, §II.10) as shipped by
    scipy (`scipy.integrate._ivp.dop853_coefficients`, the tables of
    `solve_ivp(method="DOP853")`): 12 stages, FSAL, error rows (e5, e3); the 13th (FSAL)
    evaluation has zero weight in both error estimators."""
    from scipy.integrate._ivp import dop853_coefficients as d

    n = d.N_STAGES
    return read_tableau([d.A[i, :i] for i in range(1, n)], d.B, d.C[:n], (d.E5, d.E3),
                        fsal=True, num_stages=n)


RK4 = _classical_rk4()
DOPRI8 = _dopri8()
DOP853 = _dop853()
