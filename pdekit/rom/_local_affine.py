r"""Local certified Galerkin ROMs for affine parametrised problems (the thermal block, and
its time-dependent variant, the heat equation by implicit Euler).

For an :class:`AffineProblem` ``A(mu) u = f(mu)`` and `K` local bases ``V_k`` (POD of the
snapshots of cluster `k` in the problem's inner product ``X``; :func:`local_bases` with
``Sine(problem.product())``), each cluster gets the Galerkin ROM of ROM I
(:func:`pdekit.rom.galerkin_rom`): reduced affine operators ``V_k^T A_q V_k``, loads, and
the orthonormalised residual factor behind the certified bound ``Delta_k(mu) >=
||u(mu) - V_k u_k(mu)||_mu`` (energy norm). The `K` ROMs are stored zero-padded to the
largest basis size (padded slots get a unit diagonal and stay 0, as in ROM I's greedy), so
a routed solve is one fixed-shape jitted call. For a time-dependent problem each local ROM
also holds its reduced mass matrix, and the bound is ROM I's space-time energy bound of the
whole trajectory (the local bases are then PODs of the trajectories of each cluster).

Online routing: a :class:`RomNetClassifier` on the scaled parameters when it is confident
(top probability >= `threshold`); otherwise every local ROM is solved and the one with the
smallest error *bound* is used: ``O(K (Q N^2 + N^3))``, no full-order work. Because every
bound is certified, the chosen ROM's true error is at most the smallest bound,
``||e_{k*}||_mu <= Delta_{k*} <= min_k Delta_k``.
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from .._misc import check_finite_scalar
from ._affine import AffineProblem, affine_coefficients
from ._galerkin import _online, galerkin_rom
from ._local_bases import LocalBases
from ._local_common import AbstractParamRoutedROM, check_classifier

__all__ = ["LocalAffineROM", "local_affine_rom"]


class LocalAffineROM(AbstractParamRoutedROM):
    """`K` local certified Galerkin ROMs of a stationary affine problem, routed online.

    **Fields:** `operators` `(K, Qa, N, N)`, `rhs` `(K, Qf, N)`, `residual` `(K, M, Qf +
    Qa N)`, `pad` `(K, N)` (1 on unused slots), `bases` `(K, n, N)` (for lifting to the free
    DOFs; zero columns on unused slots), `theta_a`, `theta_f`, `theta_ref` (as in
    :class:`GalerkinROM`), `classifier` (optional :class:`RomNetClassifier` on
    :meth:`features`), static `ranks`, `mu_min`, `mu_max`; optional `medoids` `(K, n)`
    and the name of their `dissimilarity` (``"Sine"``, ``"Euclidean"``, in ``X``), kept for
    analysis (routing a full-order solution to its nearest medoid); for a time-dependent
    problem `mass` `(K, N, N)` (unit diagonal on unused slots comes from `pad`) and static
    `dt`, `num_steps`.
    """

    operators: Float[Array, "K Qa N N"]
    rhs: Float[Array, "K Qf N"]
    residual: Float[Array, "K M C"]
    pad: Float[Array, "K N"]
    bases: Float[Array, "K n N"]
    theta_a: Float[Array, "Qa P1"]
    theta_f: Float[Array, "Qf P1"]
    theta_ref: Float[Array, " Qa"]
    classifier: eqx.Module | None
    ranks: tuple[int, ...] = eqx.field(static=True)
    mu_min: tuple[float, ...] = eqx.field(static=True)
    mu_max: tuple[float, ...] = eqx.field(static=True)
    medoids: Float[Array, "K n"] | None = None
    dissimilarity: str | None = eqx.field(static=True, default=None)
    mass: Float[Array, "K N N"] | None = None
    dt: float | None = eqx.field(static=True, default=None)
    num_steps: int | None = eqx.field(static=True, default=None)
    _dtype_of: ClassVar[str] = "rhs"

    @property
    def num_clusters(self) -> int:
        return len(self.ranks)


    def _solve_k(self, mu, k):
        ta = affine_coefficients(self.theta_a, mu)
        tf = affine_coefficients(self.theta_f, mu)
        alpha = jnp.min(ta / self.theta_ref)
        mass = None if self.mass is None else self.mass[k]
        return _online(self.operators[k], self.rhs[k], mass, self.residual[k], ta, tf, alpha,
                       self.dt, self.num_steps, "energy", pad=self.pad[k])

    @eqx.filter_jit
    def solve_in(self, mu: Float[Array, " P"], k: Int[Array, ""]):
        """`(u_N, Delta)` of local ROM `k`: padded coefficients `(N,)` (`(num_steps, N)`
        for a time-dependent problem) and the energy-norm (space-time) error bound."""
        return self._solve_k(mu, k)

    @eqx.filter_jit
    def estimates(self, mu: Float[Array, " P"]) -> Float[Array, " K"]:
        """Error bounds ``Delta_k(mu)`` of every local ROM."""
        return jax.vmap(lambda k: self._solve_k(mu, k)[1])(jnp.arange(self.num_clusters))

    @eqx.filter_jit
    def solve(self, mu: Float[Array, " P"], *, threshold: float = 0.9):
        """Route and solve one parameter (module docstring).

        **Returns:** `(u_N, k, Delta, source)`: padded coefficients `(N,)`, the cluster,
        its error bound, and `source` ``0`` (classifier) or ``1`` (smallest bound)."""
        def by_bound(_):
            est = self.estimates(mu)
            k = jnp.argmin(est)
            return (*self._solve_k(mu, k)[:1], k, est[k], jnp.asarray(1))

        if self.classifier is None:
            return by_bound(None)
        p = jax.nn.softmax(self.classifier(self.features(mu)))
        k_clf = jnp.argmax(p)

        def confident(_):
            u, est = self._solve_k(mu, k_clf)
            return u, k_clf, est, jnp.asarray(0)

        return jax.lax.cond(p[k_clf] >= threshold, confident, by_bound, None)

    def lift(self, u_N: Float[Array, "*T N"], k) -> Float[Array, "*T n"]:
        """``V_k u_N`` on the free DOFs, `(n,)` or `(num_steps, n)` (``problem.to_full``
        adds the boundary)."""
        return u_N @ self.bases[k].T

    def online(self, *, threshold: float = 0.9):
        """:meth:`solve` compiled once for repeated single queries (:class:`Compiled`)."""
        from ._local_router import Compiled

        threshold = check_finite_scalar("threshold", threshold)
        return Compiled(lambda r, mu: r.solve(mu, threshold=threshold), self)


def local_affine_rom(problem: AffineProblem, local: LocalBases, *,
                     classifier=None, keep_medoids: bool = True) -> LocalAffineROM:
    """Offline stage: one certified Galerkin ROM per local basis (ROM I's
    :func:`galerkin_rom`), padded and stacked.

    **Arguments:** `problem` (:class:`AffineProblem`, stationary or time-dependent),
    `local` (bases on the free DOFs, orthonormal in ``problem.product()``: build them with
    ``dissimilarity=Sine(problem.product())`` or ``Euclidean(problem.product())``; for a
    time-dependent problem, from the trajectories' snapshots of each cluster),
    `classifier` (optional, on :meth:`LocalAffineROM.features`), `keep_medoids` (store
    the cluster medoids, default True).

    **Raises:** `ValueError` for bases of the wrong size or not ``X``-orthonormal, or a
    classifier whose class count differs.
    """
    if not isinstance(problem, AffineProblem):
        raise ValueError(f"`problem` must be an AffineProblem, got {type(problem).__name__}.")
    if not isinstance(local, LocalBases):
        raise ValueError(f"`local` must be LocalBases, got {type(local).__name__}.")
    if local.bases.shape[1] != problem.size:
        raise ValueError(f"`local` bases have {local.bases.shape[1]} DOFs, the problem has "
                         f"{problem.size} free DOFs.")
    check_classifier(classifier, local.num_clusters)
    roms = [galerkin_rom(problem, local.bases[k][:, :r]) for k, r in enumerate(local.ranks)]
    N = max(local.ranks)
    qa, qf = problem.operator_data.shape[0], problem.rhs.shape[0]
    M = max(r.residual.shape[0] for r in roms)
    per = qa + (1 if problem.time_dependent else 0)
    ops, rhs, res, pad, mass = [], [], [], [], []
    for rk, r in zip(roms, local.ranks):
        e = N - r
        ops.append(jnp.pad(rk.operators, ((0, 0), (0, e), (0, e))))
        rhs.append(jnp.pad(rk.rhs, ((0, 0), (0, e))))
        # residual columns: f_q first, then per basis vector j its A_q v_j (and M v_j):
        # unused j at the end
        res.append(jnp.pad(rk.residual, ((0, M - rk.residual.shape[0]), (0, per * e))))
        pad.append((np.arange(N) >= r).astype(np.float64))
        if rk.mass is not None:
            mass.append(jnp.pad(rk.mass, ((0, e), (0, e))))
    dtype = roms[0].operators.dtype
    del qf
    return LocalAffineROM(
        operators=jnp.stack(ops), rhs=jnp.stack(rhs), residual=jnp.stack(res),
        pad=jnp.asarray(np.stack(pad), dtype), bases=local.bases[:, :, :N].astype(dtype),
        theta_a=roms[0].theta_a, theta_f=roms[0].theta_f, theta_ref=roms[0].theta_ref,
        classifier=classifier, ranks=tuple(local.ranks), mu_min=problem.mu_min,
        mu_max=problem.mu_max, medoids=local.medoids.astype(dtype) if keep_medoids else None,
        dissimilarity=type(local.dissimilarity).__name__ if keep_medoids else None,
        mass=jnp.stack(mass) if mass else None, dt=problem.dt, num_steps=problem.num_steps)


# ------------------------------------------------------------------------------ file I/O
# written and read by pdekit.rom.save_local_rom / load_local_rom (format in docs/rom_local.md)

FORMAT = "pdekit.rom.LocalAffineROM"
_ARRAYS = ("operators", "rhs", "residual", "pad", "bases", "theta_a", "theta_f", "theta_ref")


def _header_and_arrays(rom: LocalAffineROM) -> tuple[dict, dict]:
    from ._romnet import _classifier_header

    header = {"format": FORMAT, "version": 1, "ranks": list(rom.ranks),
              "mu_min": list(rom.mu_min), "mu_max": list(rom.mu_max),
              "dtype": str(rom.rhs.dtype), "classifier": _classifier_header(rom.classifier),
              "dissimilarity": rom.dissimilarity, "dt": rom.dt, "num_steps": rom.num_steps}
    arrays = {k: np.asarray(getattr(rom, k)) for k in _ARRAYS}
    for k in ("medoids", "mass"):
        if getattr(rom, k) is not None:
            arrays[k] = np.asarray(getattr(rom, k))
    return header, arrays


def _from_arrays(header: dict, a: dict, classifier) -> LocalAffineROM:
    return LocalAffineROM(**{k: jnp.asarray(a[k]) for k in _ARRAYS}, classifier=classifier,
                          ranks=tuple(int(r) for r in header["ranks"]),
                          mu_min=tuple(float(v) for v in header["mu_min"]),
                          mu_max=tuple(float(v) for v in header["mu_max"]),
                          medoids=jnp.asarray(a["medoids"]) if "medoids" in a else None,
                          dissimilarity=header.get("dissimilarity"),
                          mass=jnp.asarray(a["mass"]) if "mass" in a else None,
                          dt=header.get("dt"), num_steps=header.get("num_steps"))
