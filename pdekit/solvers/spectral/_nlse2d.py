"""The NLSE on a 2D torus (a thin constructor: :class:`NLSE` already works on any grid)."""

from __future__ import annotations

from jaxtyping import ArrayLike

from ._equation_utils import check_grid
from ._grid import ExponentialFilter, FourierGrid
from ._nlse import NLSE


def nlse_2d(grid: FourierGrid, beta: ArrayLike = 1.0, gamma: ArrayLike = -1.0, *,
            dealias: bool = False, filter: ExponentialFilter | None = None) -> NLSE:
    r"""The cubic NLSE $i\psi_t + \tfrac\beta2\Delta\psi + \gamma|\psi|^2\psi = 0$ on a 2D
    periodic grid, **defocusing by default** ($\gamma = -1$: repulsive Bose–Einstein
    condensates, dark solitons and vortices; $\gamma > 0$ focusing collapses in 2D).

    Returns an :class:`NLSE` (the problem is dimension-independent); this function only fixes
    the 2D grid and the defocusing default. Linear symbol $-i\beta|k|^2/2$, nonlinearity
    $\mathcal F[i\gamma|\psi|^2\psi]$, exact nonlinear flow (so split-step methods apply and
    conserve the mass $\int|\psi|^2$ to round-off); diagnostics: mass, momentum per axis
    (`momentum_x`, `momentum_y`), Hamiltonian, drifts, entropies.

    **Arguments:** `grid` (a 2D :class:`FourierGrid`), `beta`, `gamma`, `dealias`, `filter`:
    as :class:`NLSE`.

    **Raises:** `ValueError` for a grid that is not 2D, or the errors of :class:`NLSE`.
    """
    check_grid(grid, 2, "nlse_2d")
    return NLSE(grid, beta, gamma, dealias=dealias, filter=filter)
