"""The result type shared by every time-dependent solver."""

from __future__ import annotations

import equinox as eqx
from jaxtyping import Array, PyTree


class RESULTS(eqx.Enumeration):
    """Outcome of a solve, carried inside jit and raised by ``throw=True``."""

    successful = ""
    max_steps_reached = (
        "The maximum number of steps was reached before t1. Increase `max_steps`, "
        "loosen `rtol`/`atol`, or lower the resolution."
    )
    nonfinite = (
        "The solution became non-finite (NaN/inf). Reduce `dt`, tighten `rtol`, "
        "or enable dealiasing/filtering."
    )
    step_size_too_small = "The adaptive step size collapsed; the problem may be unresolved."
    linear_solve_failed = (
        "The linear solver did not converge. Increase `max_steps`, use a stronger "
        "preconditioner, or the direct solver."
    )


class Solution(eqx.Module):
    """Saved states of a solve.

    **Fields:**
    - `ts`: save times, shape `(T,)`.
    - `us`: states at `ts`, shape `(T, *state_shape)`.
    - `stats`: dict of diagnostics (e.g. `num_steps`, conserved quantities per save time).
    - `result`: a :class:`RESULTS` member.
    """

    ts: Array
    us: PyTree
    stats: dict
    result: RESULTS
