"""Chebyshev polynomial smoothing in ``D^{-1} A``, shared by the multigrid preconditioners
(:class:`~pdekit.solvers.linalg.AMG` on CSR levels, :class:`~pdekit.solvers.linalg.GMG` on
stencils): each supplies its matvec, diagonal and absolute row sums; the set-up (inverse
diagonal, Gershgorin bound of the spectrum) and the iteration live here once."""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp
from jaxtyping import Array, Float


def chebyshev_smoother(
    matvec: Callable[[Array], Array],
    diagonal: Float[Array, "*n"],
    abs_row_sum: Float[Array, "*n"],
    *,
    degree: int,
    lower_ratio: float,
) -> Callable[[Array | None, Array], Array]:
    """The smoother ``(x, b) -> x'``: `degree` steps of Chebyshev iteration for ``A x = b``
    preconditioned by ``D^{-1}``, targeting the eigenvalues of ``D^{-1} A`` in
    ``[lam / lower_ratio, lam]`` with the guaranteed (Gershgorin) upper bound
    ``lam = max_i sum_j |a_ij| / a_ii``.

    **Arguments:** `matvec` (``x -> A x``, on arrays shaped like `diagonal`), `diagonal`
    and `abs_row_sum` of ``A`` (same shape as the vectors: `(n,)` for CSR levels,
    `(ny, nx)` for stencils), `degree` (``>= 1``), `lower_ratio` (``> 1``).

    The update is a fixed polynomial in ``D^{-1} A`` (hence self-adjoint in the ``A``
    inner product), so the same smoother before and after a coarse correction gives a
    symmetric V-cycle, valid as a CG preconditioner. ``x=None`` means a zero initial guess
    (one matvec fewer). Rows with a non-positive diagonal are left unscaled.
    """
    inv_diag = 1 / jnp.where(diagonal > 0, diagonal, 1)
    lam_max = jnp.max(abs_row_sum * inv_diag)
    theta = 0.5 * lam_max * (1 + 1 / lower_ratio)
    delta = 0.5 * lam_max * (1 - 1 / lower_ratio)
    sigma = theta / delta

    def smooth(x, b):
        rho = 1 / sigma
        res = b if x is None else b - matvec(x)
        d = inv_diag * res / theta
        for i in range(degree):
            x = d if x is None else x + d
            if i + 1 < degree:
                res = res - matvec(d)
                rho_new = 1 / (2 * sigma - rho)
                d = (rho_new * rho) * d + (2 * rho_new / delta) * (inv_diag * res)
                rho = rho_new
        return x

    return smooth
