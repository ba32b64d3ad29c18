r"""Weak greedy (stationary) and POD-greedy (time-dependent) reduced-basis construction.

Each iteration evaluates the estimator for *every* training parameter in one vmapped call,
takes the worst parameter, solves the full-order problem there and extends the basis
(Veroy, Prud'homme, Rovas & Patera 2003; POD-greedy: Haasdonk & Ohlberger 2008,
doi:10.1051/m2an:2008001). All reduced arrays are kept at a fixed maximal size (unused slots
padded) so that every iteration runs the *same* compiled functions: no recompilation as the
basis grows.

Greedy criterion (``criterion=``, ``norm=``): the estimate of the error in the energy norm
``||.||_mu`` (``norm="energy"``, default) or in the inner-product norm ``||.||_X``
(``norm="product"``, pyMOR's ``CoerciveRBReductor`` estimate), either relative to the
reduced solution's norm (``criterion="relative"``, default) or absolute
(``criterion="absolute"``; with ``norm="product"`` this is pyMOR's ``rb_greedy``). The
default is relative because `tol` is then a dimensionless accuracy (the CLI's ``--tol``, and
the relative error the tests certify) that does not depend on the scale of ``f``; the
absolute criterion favours parameters with large solutions (small conductivities), which
lowers the worst *absolute* error at a given N (the benchmark reports both). While the basis
is empty the absolute estimate is used.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._misc import check_finite_scalar, check_positive_int
from ..solvers import linalg
from ._affine import AffineProblem, affine_coefficients
from ._galerkin import GalerkinROM, ResidualBasis, _online, host_product, rom_from_arrays

CRITERIA = ("relative", "absolute")
NORMS = ("energy", "product")


class GreedyResult(NamedTuple):
    """What the greedy algorithms return.

    - `rom`: the :class:`GalerkinROM` (online part).
    - `basis`: shape `(n, N)`, the ``X``-orthonormal reduced basis (free DOFs).
    - `max_estimates`: shape `(N + 1,)`: the largest greedy criterion over the training set
      with 0, 1, ..., N basis vectors (the last one is the final model's).
    - `selected`: shape `(N_selected, P)`, the parameters picked, in order.
    """

    rom: GalerkinROM
    basis: Float[Array, "n N"]
    max_estimates: np.ndarray
    selected: np.ndarray


class _State(eqx.Module):
    V: Array  # (Nmax, n) basis rows
    AN: Array  # (qa, Nmax, Nmax)
    fN: Array  # (qf, Nmax)
    MN: Array | None  # (Nmax, Nmax)
    R: Array  # (Kmax, Kmax), upper triangular residual factor (host copy in ResidualBasis)
    N: Array  # basis vectors in use


def _init(problem: AffineProblem, nmax: int) -> tuple[_State, ResidualBasis]:
    # host arrays moved to the device: no eager XLA op (each would compile on first use)
    n, dtype = problem.size, problem.rhs.dtype
    qa, qf = problem.operator_data.shape[0], problem.rhs.shape[0]
    per = qa + (1 if problem.time_dependent else 0)
    residual = ResidualBasis(host_product(problem), qf + per * nmax, dtype)  # X factorised once
    residual.insert(problem.rhs)

    def zeros(*shape):
        return jnp.asarray(np.zeros(shape, dtype))

    MN = zeros(nmax, nmax) if problem.time_dependent else None
    state = _State(zeros(nmax, n), zeros(qa, nmax, nmax), zeros(qf, nmax), MN,
                   residual.factor(dtype), jnp.asarray(np.int32(0)))
    return state, residual


@eqx.filter_jit
def _solve(problem: AffineProblem, mu):
    """Full solve at `mu` and, for a stationary problem, the snapshot's X-norm (the scale
    of the independence test); one compiled call."""
    u = problem.solve(mu)
    if problem.time_dependent:
        return u, None
    return u, problem.energy_norm(u, jnp.asarray(problem.mu_ref, u.dtype))


@eqx.filter_jit
def _criterion(problem: AffineProblem, state: _State, train, criterion: str, norm: str):
    nmax = state.V.shape[0]
    pad = (jnp.arange(nmax, dtype=state.N.dtype) >= state.N).astype(state.V.dtype)
    ref = affine_coefficients(problem.theta_a, jnp.asarray(problem.mu_ref, state.V.dtype))

    def one(mu):
        ta = affine_coefficients(problem.theta_a, mu)
        tf = affine_coefficients(problem.theta_f, mu)
        alpha = jnp.min(ta / ref)
        u, est = _online(state.AN, state.fN, state.MN, state.R, ta, tf, alpha, problem.dt,
                         problem.num_steps, norm, pad)
        if criterion == "absolute":
            return est
        # the reduced solution's norm (the basis is X-orthonormal: ||V u||_X = |u|_2)
        A = jnp.tensordot(ta, state.AN, 1) if norm == "energy" else None
        if problem.time_dependent:  # space-time norm of the reduced trajectory
            sq = (jnp.einsum("ti,ij,tj->t", u, A, u) if norm == "energy"
                  else jnp.sum(u * u, axis=1))
            nrm = jnp.sqrt(problem.dt * jnp.sum(sq))
        else:
            nrm = jnp.sqrt(jnp.maximum(u @ A @ u, 0.0) if norm == "energy" else u @ u)
        return jnp.where(state.N > 0, est / jnp.maximum(nrm, jnp.finfo(nrm.dtype).tiny), est)

    return jax.vmap(one)(train)


def _orthogonalize(X, V, u):
    """``u`` minus its X-projection on the rows of V (twice), and its X-norm."""
    u = jax.lax.fori_loop(0, 2, lambda _, u: u - V.T @ (V @ X.matvec(u)), u)
    return u, jnp.sqrt(jnp.maximum(u @ X.matvec(u), 0.0))


@eqx.filter_jit
def _extend_basis(problem: AffineProblem, state: _State, phi, scale):
    """Add the direction `phi` (X-orthogonalised here) to the basis and the reduced
    operators; returns the new state (residual part not yet updated), the new residual
    vectors ``[A_q phi (, M phi)]`` and whether `phi` was independent."""
    X = problem.product()
    phi, nrm = _orthogonalize(X, state.V, phi)
    independent = nrm > 1e-10 * scale if phi.dtype == jnp.float64 else nrm > 1e-5 * scale
    phi = phi / jnp.where(nrm > 0, nrm, 1.0)
    N = state.N
    V = jax.lax.dynamic_update_index_in_dim(state.V, phi, N, 0)
    Aphi = jax.vmap(lambda d: linalg.CSRMatrix(problem.pattern, d).matvec(phi))(
        problem.operator_data)  # (qa, n), one batched product
    col = Aphi @ V.T  # (qa, Nmax): V_i^T A_q phi, A_q symmetric
    AN = state.AN.at[:, :, N].set(col).at[:, N, :].set(col)
    fN = state.fN.at[:, N].set(problem.rhs @ phi)
    G = Aphi
    MN = state.MN
    if problem.time_dependent:
        Mphi = problem.mass().matvec(phi)
        mcol = V @ Mphi
        MN = MN.at[:, N].set(mcol).at[N, :].set(mcol)
        G = jnp.concatenate([Aphi, Mphi[None]])
    return _State(V, AN, fN, MN, state.R, N + 1), G, independent


def _extend(problem: AffineProblem, state: _State, phi, scale, residual: ResidualBasis):
    """Basis extension (jitted) plus the residual update (Riesz solves and block
    Gram-Schmidt on the host). If `phi` is dependent the old state comes back (caller
    stops)."""
    new, G, independent = _extend_basis(problem, state, phi, scale)
    if not bool(independent):
        return state, False
    residual.insert(G)
    return dataclasses.replace(new, R=residual.factor(state.R.dtype)), True


def _finish(problem: AffineProblem, state: _State) -> tuple[GalerkinROM, Array]:
    N = int(state.N)
    per = problem.operator_data.shape[0] + (1 if problem.time_dependent else 0)
    k = problem.rhs.shape[0] + per * N
    h = jax.tree_util.tree_map(np.asarray, state)  # slice on the host: nothing to compile
    MN = None if h.MN is None else jnp.asarray(h.MN[:N, :N])
    rom = rom_from_arrays(problem, jnp.asarray(h.AN[:, :N, :N]), jnp.asarray(h.fN[:, :N]), MN,
                          jnp.asarray(h.R[:k, :k]))
    return rom, jnp.asarray(np.ascontiguousarray(h.V[:N].T))


def _check(problem, training_set, tol, max_basis_size, criterion, norm):
    if not isinstance(problem, AffineProblem):
        raise ValueError(f"`problem` must be an AffineProblem, got {type(problem).__name__}.")
    if criterion not in CRITERIA:
        raise ValueError(f"`criterion` must be one of {CRITERIA}, got {criterion!r}.")
    if norm not in NORMS:
        raise ValueError(f"`norm` must be one of {NORMS}, got {norm!r}.")
    train = problem.check_params(training_set, "training_set")
    if train.ndim != 2:
        raise ValueError(f"`training_set` must have shape (S, {problem.num_params}).")
    if tol is None and max_basis_size is None:
        raise ValueError("give `tol` and/or `max_basis_size` (the greedy needs a stopping rule).")
    if tol is not None:
        tol = check_finite_scalar("tol", tol, positive=True)
    nmax = min(train.shape[0], 200) if max_basis_size is None else check_positive_int(
        "max_basis_size", max_basis_size)
    return np.asarray(train, problem.rhs.dtype), tol, nmax


def weak_greedy(problem: AffineProblem, training_set: Float[Array, "S P"], *,
                tol: float | None = None, max_basis_size: int | None = None,
                criterion: str = "relative", norm: str = "energy",
                callback: Callable[[int, float], None] | None = None) -> GreedyResult:
    """Estimator-driven weak greedy for a stationary :class:`AffineProblem`.

    **Arguments:**
    - `problem`: the full-order problem (stationary).
    - `training_set`: shape `(S, P)`, inside the parameter box.
    - `tol`: stop when the largest greedy criterion over the training set is ``<= tol``.
    - `max_basis_size`: stop at this many basis vectors (default: ``min(S, 200)``).
    - `criterion`: ``"relative"`` (default): ``Delta(mu) / ||u_N(mu)||``; ``"absolute"``:
      ``Delta(mu)`` (pyMOR's ``rb_greedy`` with ``norm="product"``).
    - `norm`: the error norm the estimate bounds: ``"energy"`` (default, ``||.||_mu``) or
      ``"product"`` (``||.||_X``, the estimate ``||r||_{X'} / alpha_LB``).
    - `callback`: called as ``callback(N, max_criterion)`` after each iteration (the CLI
      draws its progress bar with it).

    **Returns:** a :class:`GreedyResult`. **Raises:** `ValueError` for parameters outside the
    box, a time-dependent problem (use :func:`pod_greedy`) or no stopping rule.
    """
    if problem.time_dependent:
        raise ValueError("`problem` is time-dependent; use pod_greedy.")
    return _greedy(problem, training_set, tol, max_basis_size, criterion, norm, callback,
                   None)


def pod_greedy(problem: AffineProblem, training_set: Float[Array, "S P"], *,
               tol: float | None = None, max_basis_size: int | None = None,
               criterion: str = "relative", norm: str = "energy",
               callback: Callable[[int, float], None] | None = None) -> GreedyResult:
    """POD-greedy for a time-dependent :class:`AffineProblem` (implicit Euler): at the worst
    training parameter, the full trajectory's error (projected orthogonally to the basis in
    ``X``) contributes its dominant POD mode. Arguments as :func:`weak_greedy`; the
    criterion is the space-time estimate (see :mod:`pdekit.rom._galerkin`)."""
    if not problem.time_dependent:
        raise ValueError("`problem` is stationary; use weak_greedy.")
    return _greedy(problem, training_set, tol, max_basis_size, criterion, norm, callback,
                   "pod")


@eqx.filter_jit
def _pod_direction(problem: AffineProblem, V, U):
    """Dominant X-POD mode of the trajectory `U` `(T, n)` after removing its projection."""
    X = problem.product()
    XU = jax.vmap(X.matvec)(U)
    E = U - (XU @ V.T) @ V
    E = E - (jax.vmap(X.matvec)(E) @ V.T) @ V
    C = E @ jax.vmap(X.matvec)(E).T
    lam, vecs = jnp.linalg.eigh(0.5 * (C + C.T))
    return vecs[:, -1] @ E, jnp.sqrt(jnp.max(jnp.diag(XU @ U.T)))


def _greedy(problem, training_set, tol, max_basis_size, criterion, norm, callback, kind):
    train, tol, nmax = _check(problem, training_set, tol, max_basis_size, criterion, norm)
    state, residual = _init(problem, nmax)
    history, selected = [], []
    train_device = jnp.asarray(train)
    while True:
        crit = np.asarray(_criterion(problem, state, train_device, criterion, norm))
        worst = int(np.argmax(crit))
        history.append(float(crit[worst]))
        if callback is not None:
            callback(int(state.N), history[-1])
        if not math.isfinite(history[-1]):
            raise ValueError("the error estimate is not finite; check the problem data "
                             "(dtype, coercivity of the operators).")
        if (tol is not None and history[-1] <= tol) or int(state.N) >= nmax:
            break
        mu = train[worst]
        u, scale = _solve(problem, jnp.asarray(mu))
        if kind == "pod":
            phi, scale = _pod_direction(problem, state.V, u)
        else:
            phi = u
        state, independent = _extend(problem, state, phi, scale, residual)
        if not independent:  # the snapshot is already in the span: nothing to add
            break
        selected.append(np.asarray(mu))
    rom, basis = _finish(problem, state)
    sel = np.stack(selected) if selected else np.zeros((0, problem.num_params))
    return GreedyResult(rom, basis, np.asarray(history), sel)
