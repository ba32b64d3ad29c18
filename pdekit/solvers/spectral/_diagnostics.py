"""Conserved quantities and entropies of NLSE states, computed spectrally."""

from __future__ import annotations

from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp
from jaxtyping import Array, Complex, Float

if TYPE_CHECKING:
    from ._nlse import NLSE

_AXIS_NAMES = ("x", "y", "z")


def _momentum_keys(ndim: int) -> tuple[str, ...]:
    return ("momentum",) if ndim == 1 else tuple(f"momentum_{a}" for a in _AXIS_NAMES[:ndim])


def invariants(problem: NLSE, psi: Complex[Array, " *shape"]) -> dict[str, Float[Array, ""]]:
    r"""Mass, momentum and Hamiltonian of one state.

    - mass $M = \int|\psi|^2 dx$;
    - momentum $P = \mathrm{Im}\int\psi^*\psi_x\,dx = (\Delta x/N)\sum_k k|\hat\psi_k|^2$, so a
      state $\propto e^{ivx}$ has $P = vM$ (sign follows the group velocity for $\beta = 1$);
      in 2D/3D one component per axis (`momentum_x`, `momentum_y`, `momentum_z`);
    - Hamiltonian $H = \int \tfrac{\beta}{2}|\nabla\psi|^2 - \tfrac{\gamma}{2}|\psi|^4 dx$ (so
      that $i\psi_t = \delta H/\delta\psi^*$).

    The derivative terms are exact sums over Fourier modes; $\int|\psi|^4$ is the (spectrally
    accurate) trapezoidal rule. Also returned: `gradient` $=\int|\nabla\psi|^2$ and `quartic`
    $=\int|\psi|^4$, used as scales for relative drifts.
    """
    grid = problem.grid
    u_hat = grid.fftn(psi)
    power = u_hat.real**2 + u_hat.imag**2
    # Parseval with numpy's normalisation: \int |f|^2 dx = (dV / N) sum_k |f_hat_k|^2.
    w = grid.cell_volume / grid.size
    out = dict(mass=w * jnp.sum(power))
    for key, k in zip(_momentum_keys(grid.ndim), grid.wavenumbers(derivative=True)):
        out[key] = w * jnp.sum(k * power)
    gradient_sq = w * jnp.sum(grid.k_squared() * power)
    intensity = psi.real**2 + psi.imag**2
    quartic = grid.integrate(intensity * intensity)
    out["hamiltonian"] = 0.5 * problem.beta * gradient_sq - 0.5 * problem.gamma * quartic
    out.update(gradient=gradient_sq, quartic=quartic)
    return out


def entropies(psi: Complex[Array, " *shape"], *, renyi_alpha: float = 2.0,
              tsallis_q: float = 2.0) -> dict[str, Float[Array, ""]]:
    r"""Entropies of the normalised intensity $p_j = |\psi_j|^2/\sum_i|\psi_i|^2$ on the grid.

    Shannon $S = -\sum p\ln p$ (with $0\ln 0 = 0$),
    Rényi $S_\alpha = \ln(\sum p^\alpha)/(1-\alpha)$,
    Tsallis $S_q = (1 - \sum p^q)/(q - 1)$. These are discrete entropies: a uniform intensity
    gives $\ln N$; add $\ln\Delta x$ to the Shannon value for the differential entropy.
    """
    if renyi_alpha == 1.0 or renyi_alpha < 0:
        raise ValueError(f"`renyi_alpha` must be >= 0 and != 1, got {renyi_alpha}.")
    if tsallis_q == 1.0:
        raise ValueError(f"`tsallis_q` must be != 1, got {tsallis_q}.")
    psi = jnp.asarray(psi)
    intensity = psi.real**2 + psi.imag**2 if jnp.iscomplexobj(psi) else psi * psi
    p = intensity / jnp.sum(intensity)
    positive = p > 0
    one = jnp.ones((), p.dtype)
    zero = jnp.zeros((), p.dtype)
    safe = jnp.where(positive, p, one)
    shannon = -jnp.sum(jnp.where(positive, p * jnp.log(safe), zero))
    renyi = jnp.log(jnp.sum(jnp.where(positive, safe**renyi_alpha, zero))) / (1.0 - renyi_alpha)
    tsallis = (1.0 - jnp.sum(jnp.where(positive, safe**tsallis_q, zero))) / (tsallis_q - 1.0)
    return dict(shannon=shannon, renyi=renyi, tsallis=tsallis)


def diagnostics(problem: NLSE, us: Complex[Array, "T ..."], *, renyi_alpha: float = 2.0,
                tsallis_q: float = 2.0) -> dict[str, Float[Array, " T"]]:
    r"""Invariants, their relative drifts and entropies at every saved time (what
    :meth:`NLSE.diagnostics` returns and :func:`solve` puts in `Solution.stats`).

    **Arguments:**

    - `problem`: the :class:`NLSE`.
    - `us`: states, shape `(T, *grid.shape)`; drifts are relative to `us[0]`.
    - `renyi_alpha`, `tsallis_q`: entropy orders.

    **Returns:** dict of `(T,)` arrays: `mass`, `momentum` (2D/3D: `momentum_x`, ...),
    `hamiltonian`, `mass_drift` $=(M-M_0)/M_0$, `momentum_drift` $=(P-P_0)/\sqrt{M_0 K_0}$ with
    $K_0=\int|\nabla\psi_0|^2$ (the Cauchy–Schwarz bound of $|P|$, never zero for a
    non-constant state, unlike $P_0$, which vanishes for e.g. modulation instability),
    `hamiltonian_drift` $=(H-H_0)/(\tfrac{|\beta|}{2}K_0 + \tfrac{|\gamma|}{2}\int|\psi_0|^4)$
    (the size of its two parts, so a Hamiltonian that happens to vanish does not blow the
    ratio up), and `shannon`, `renyi`, `tsallis`. :func:`cases.conservation_drifts`
    picks the scale a person should read (absolute where the initial value is ~0).
    """
    inv = jax.vmap(lambda u: invariants(problem, u))(us)
    ent = jax.vmap(lambda u: entropies(u, renyi_alpha=renyi_alpha, tsallis_q=tsallis_q))(us)
    tiny = jnp.finfo(inv["mass"].dtype).tiny
    m0, k0, q0 = inv["mass"][0], inv["gradient"][0], inv["quartic"][0]
    p_scale = jnp.maximum(jnp.sqrt(m0 * k0), tiny)
    h_scale = jnp.maximum(0.5 * jnp.abs(problem.beta) * k0 + 0.5 * jnp.abs(problem.gamma) * q0,
                          tiny)
    keys = _momentum_keys(problem.grid.ndim)
    out = dict(mass=inv["mass"], **{k: inv[k] for k in keys}, hamiltonian=inv["hamiltonian"])
    out["mass_drift"] = (inv["mass"] - m0) / jnp.maximum(m0, tiny)
    for key in keys:
        out[f"{key}_drift"] = (inv[key] - inv[key][0]) / p_scale
    out["hamiltonian_drift"] = (inv["hamiltonian"] - inv["hamiltonian"][0]) / h_scale
    out.update(ent)
    return out

