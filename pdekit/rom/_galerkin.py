r"""Galerkin reduced-basis models with an offline/online split and a residual-based
a-posteriori error estimator.

**Offline** (:func:`galerkin_rom`, or the greedy algorithms): with an ``X``-orthonormal
basis ``V`` `(n, N)`, project ``A_N^q = V^T A_q V``, ``f_N^q = V^T f_q`` and (time-dependent)
``M_N = V^T M V``. The residual ``r(mu) = f(mu) - A(mu) V u_N`` is an affine combination
``sum_k c_k(mu) g_k`` of `K` fixed vectors (``f_q``, ``A_q v_n`` [, ``M v_n``]); their Riesz
representers ``w_k = X^{-1} g_k`` are orthonormalised in ``X`` (Gram-Schmidt twice),
``[w_1 ... w_K] = Q R``, so that ``||r(mu)||_{X'} = ||R c(mu)||_2``. This avoids the
cancellation of the textbook quadratic form ``c^T G c`` (which loses half the digits, so
estimates stall near ``sqrt(eps)``); pyMOR orthonormalises its residual range for the same
reason.

**Online** (:class:`GalerkinROM`): only reduced arrays (`(Qa, N, N)`, `(Qf, N)`, `(M, K)`
with ``K = Qf + Qa N`` [``+ N``]) -- checked at construction -- so a solve costs
``O(Q N^2 + N^3 + K^2)`` whatever the full-order size, and vmaps over parameters.

**Estimator convention.** ``Delta(mu) = ||r(mu)||_{X'} / sqrt(alpha_LB(mu))`` bounds the
*energy-norm* error ``||u(mu) - V u_N(mu)||_mu`` (``||v||_mu^2 = v^T A(mu) v``), because
``||e||_mu^2 = r(e) <= ||r||_{X'} ||e||_X <= ||r||_{X'} ||e||_mu / sqrt(alpha_LB)``.
The effectivity is reported as ``Delta / true error`` (>= 1 means a bound). pyMOR's
``coercive_rb_reductor`` estimates the ``X``-norm error by ``||r||_{X'} / alpha_LB`` instead;
``estimate(mu, norm="product")`` gives that quantity for comparison.
For the heat equation (implicit Euler, ``u^0 = 0``) the estimator bounds the space-time
energy error ``(||e^K||_M^2 + sum_k dt ||e^k||_mu^2)^(1/2) <= (sum_k dt ||r^k||_{X'}^2 /
alpha_LB)^(1/2)`` (test the error equation with ``e^k`` and use Young's inequality).
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._misc import check_finite_array
from ..solvers import linalg
from ._affine import AffineProblem, affine_coefficients, check_params


class GalerkinROM(eqx.Module):
    """The online part of a Galerkin reduced-basis model (reduced arrays only).

    **Fields:** `operators` `(Qa, N, N)`, `rhs` `(Qf, N)`, `mass` `(N, N)` or None,
    `residual` `(M, K)` (see the module docstring), `theta_a` `(Qa, P+1)`, `theta_f`
    `(Qf, P+1)`, `theta_ref` `(Qa,)` (``theta^a(mu_ref)`` for min-theta), and the static
    `mu_min`, `mu_max`, `dt`, `num_steps`.

    **Raises:** `ValueError` at construction if any array's shape is not one of these
    reduced shapes (so no full-order array can reach the online stage).
    """

    operators: Float[Array, "Qa N N"]
    rhs: Float[Array, "Qf N"]
    mass: Float[Array, "N N"] | None
    residual: Float[Array, "M K"]
    theta_a: Float[Array, "Qa P1"]
    theta_f: Float[Array, "Qf P1"]
    theta_ref: Float[Array, " Qa"]
    mu_min: tuple[float, ...] = eqx.field(static=True)
    mu_max: tuple[float, ...] = eqx.field(static=True)
    dt: float | None = eqx.field(static=True, default=None)
    num_steps: int | None = eqx.field(static=True, default=None)

    def __check_init__(self):
        qa, N = self.operators.shape[0], self.operators.shape[-1]
        qf, p = self.rhs.shape[0], len(self.mu_min)
        k = qf + qa * N + (N if self.mass is not None else 0)
        expected = {
            "operators": (qa, N, N), "rhs": (qf, N), "theta_a": (qa, p + 1),
            "theta_f": (qf, p + 1), "theta_ref": (qa,),
        }
        if self.mass is not None:
            expected["mass"] = (N, N)
        for name, shape in expected.items():
            if getattr(self, name).shape != shape:
                raise ValueError(f"GalerkinROM: `{name}` must have the reduced shape {shape}, "
                                 f"got {getattr(self, name).shape}.")
        if self.residual.ndim != 2 or self.residual.shape[1] != k or self.residual.shape[0] > k:
            raise ValueError(f"GalerkinROM: `residual` must have shape (M <= {k}, {k}), got "
                             f"{self.residual.shape}.")
        if (self.dt is None) != (self.mass is None):
            raise ValueError("GalerkinROM: `mass` and `dt`/`num_steps` go together.")

    @property
    def basis_size(self) -> int:
        return int(self.operators.shape[-1])

    def check_params(self, mu, name: str = "mu") -> np.ndarray:
        """Eager box check (see :func:`pdekit.rom.check_params`)."""
        return check_params(mu, self.mu_min, self.mu_max, name)

    def _theta(self, mu):
        return affine_coefficients(self.theta_a, mu), affine_coefficients(self.theta_f, mu)

    def alpha(self, mu) -> Float[Array, ""]:
        """Min-theta coercivity lower bound ``alpha_LB(mu)``."""
        return jnp.min(self._theta(mu)[0] / self.theta_ref)

    @eqx.filter_jit
    def solve(self, mu) -> Float[Array, " N"] | Float[Array, "T N"]:
        """Reduced coefficients `u_N` `(N,)` (or `(num_steps, N)`) for one parameter `mu`
        `(P,)`; vmap over a batch. Check the box first with :meth:`check_params`."""
        return self.solve_and_estimate(mu)[0]

    @eqx.filter_jit
    def estimate(self, mu, norm: str = "energy") -> Float[Array, ""]:
        """Error bound for one parameter: ``norm="energy"`` (default) bounds
        ``||u - V u_N||_mu``; ``norm="product"`` bounds ``||u - V u_N||_X`` (pyMOR's)."""
        return self.solve_and_estimate(mu, norm)[1]

    @eqx.filter_jit
    def solve_and_estimate(self, mu, norm: str = "energy"):
        """``(u_N, Delta)`` for one parameter (see :meth:`solve`, :meth:`estimate`)."""
        if norm not in ("energy", "product"):
            raise ValueError(f"`norm` must be 'energy' or 'product', got {norm!r}.")
        ta, tf = self._theta(mu)
        alpha = jnp.min(ta / self.theta_ref)
        return _online(self.operators, self.rhs, self.mass, self.residual, ta, tf, alpha,
                       self.dt, self.num_steps, norm)

    def energy_norm(self, u_N, mu) -> Float[Array, ""]:
        """``||V u_N||_mu = sqrt(u_N^T A_N(mu) u_N)`` (reduced, as V is fixed)."""
        A = jnp.tensordot(self._theta(mu)[0], self.operators, 1)
        return jnp.sqrt(jnp.maximum(u_N @ A @ u_N, 0.0))


def _online(AN, fN, MN, R, ta, tf, alpha, dt, num_steps, norm, pad=None):
    """Reduced solve and estimate. `pad` `(N,)` marks unused basis slots (1.0) of the
    fixed-size arrays the greedy algorithms use; they get a unit diagonal and stay 0."""
    scale = jnp.sqrt(alpha) if norm == "energy" else alpha
    A = jnp.tensordot(ta, AN, 1)
    f = tf @ fN
    if MN is None:
        if pad is not None:
            A = A + jnp.diag(pad)
        u = jnp.linalg.solve(A, f)
        c = jnp.concatenate([tf, -(u[:, None] * ta[None, :]).ravel()])
        return u, jnp.linalg.norm(R @ c) / scale
    M = MN if pad is None else MN + jnp.diag(pad)
    lu = jax.scipy.linalg.lu_factor(M + dt * A)

    def step(u_prev, _):
        u = jax.scipy.linalg.lu_solve(lu, M @ u_prev + dt * f)
        du = (u - u_prev) / dt
        coef = jnp.concatenate([-(u[:, None] * ta[None, :]), -du[:, None]], axis=1)
        c = jnp.concatenate([tf, coef.ravel()])
        return u, (u, jnp.sum((R @ c) ** 2))

    _, (us, r2) = jax.lax.scan(step, jnp.zeros_like(f), None, length=num_steps)
    if norm == "energy":
        return us, jnp.sqrt(dt * jnp.sum(r2) / alpha)
    return us, jnp.sqrt(dt * jnp.sum(r2)) / alpha  # l2-in-time of the X-norm errors


# ---------------------------------------------------------------------------------------
# offline helpers (full order), shared by galerkin_rom and the greedy algorithms
# ---------------------------------------------------------------------------------------


def orthonormality_error(problem: AffineProblem, basis: Float[Array, "n N"]) -> float:
    """``max |V^T X V - I|`` (host)."""
    X = problem.product()
    XV = jax.vmap(X.matvec, in_axes=1, out_axes=1)(basis)
    G = basis.T @ XV
    return float(jnp.max(jnp.abs(G - jnp.eye(G.shape[0], dtype=G.dtype))))


def _orth_tolerance(dtype) -> float:
    return 1e-8 if jnp.dtype(dtype) == jnp.float64 else 1e-3


def check_basis(problem: AffineProblem, basis) -> Array:
    """Eagerly check a reduced basis `(n, N)`: shape, finite, ``X``-orthonormal.

    **Raises:** `ValueError` naming `basis` and how far it is from orthonormal."""
    basis = jnp.asarray(basis)
    if basis.ndim != 2 or basis.shape[0] != problem.size or basis.shape[1] < 1:
        raise ValueError(f"`basis` must have shape ({problem.size}, N) with N >= 1 (one basis "
                         f"vector per column, free DOFs only), got {basis.shape}.")
    check_finite_array("basis", basis)
    basis = basis.astype(problem.rhs.dtype)
    err = orthonormality_error(problem, basis)
    tol = _orth_tolerance(basis.dtype)
    if not err <= tol:
        raise ValueError(f"`basis` is not orthonormal in the problem's inner product X "
                         f"(max |V^T X V - I| = {err:.2e} > {tol:.0e}); orthonormalise it "
                         "first (e.g. pdekit.rom.pod(snapshots, product=problem.product())).")
    return basis


class RieszSolver:
    """``g -> X^{-1} g`` with ``X`` factorised once on the host (scipy SuperLU, symmetric
    mode), for the many Riesz representers of the offline stage. (`linalg.Direct` would
    refactorise ``X`` at every call; the greedy needs ``Qa`` solves per iteration.)"""

    def __init__(self, X: linalg.CSRMatrix, dtype=None):
        import scipy.sparse.linalg as spla

        if hasattr(X, "to_scipy"):  # a CSRMatrix (else: a scipy sparse matrix and `dtype`)
            X, dtype = X.to_scipy(), X.data.dtype
        A = X.astype(np.float64).tocsc()  # factorised in float64 for any dtype
        self.dtype = dtype
        self.lu = spla.splu(A, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                            options=dict(SymmetricMode=True))

    def solve64(self, G) -> np.ndarray:
        """``X^{-1} g`` for the rows of `G` `(k, n)`, float64 numpy in and out."""
        return self.lu.solve(np.ascontiguousarray(np.asarray(G, np.float64).T)).T

    def __call__(self, G: Float[Array, "k n"]) -> Float[Array, "k n"]:
        return jnp.asarray(self.solve64(G), self.dtype)


def _dot(a, b):
    # not BLAS: OpenBLAS threads level-1 products above 1e4 entries, which thrashes on a
    # loaded machine (measured 30x slower); these vectors are short-lived and small
    return np.einsum("i,i->", a, b)


def _in_block(X, B, XB, passes, tiny, scale):
    """Gram-Schmidt (X inner product) within a small block of rows, `passes` times per
    vector (host, float64). Returns the new rows, their X-images and the upper-triangular
    `T` with ``B_old^T = B_new^T T`` (a row whose remainder is below ``tiny * scale`` is
    dropped: zero row, zero diagonal)."""
    k = B.shape[0]
    rows, xrows, cols = [], [], []
    for i in range(k):  # k = Qa (+1): small
        w, xw = B[i].copy(), XB[i].copy()
        c = np.zeros((k,))
        for _ in range(passes):
            for j in range(i):
                cj = _dot(rows[j], xw)
                w -= cj * rows[j]
                xw -= cj * xrows[j]
                c[j] += cj
        nrm = math.sqrt(max(float(_dot(w, xw)), 0.0))
        ok = nrm > tiny * scale[i]
        w = w / nrm if ok else np.zeros_like(w)
        rows.append(w)
        # a fresh X-image: the tracked `xw` of a round-off remainder is not X w (its
        # absolute error is eps ||X w_orig||), and later projections use it
        xrows.append(X @ w)
        c[i] = nrm if ok else 0.0
        cols.append(c)
    return np.stack(rows), np.stack(xrows), np.stack(cols, axis=1)


class ResidualBasis:
    """The ``X``-orthonormalised Riesz representers of the residual vectors, kept on the
    host (float64, numpy/scipy BLAS) next to the factorisation of ``X``: only the small
    factor `R` `(Kmax, Kmax)` ever reaches the online stage. (Host-side because the Riesz
    solves are host-side anyway; this also avoids compiling a large unrolled kernel.)

    :meth:`insert` adds the duals ``G`` `(k, n)` of the next `k` residual vectors: their
    representers ``W = X^{-1} G`` are orthonormalised against the stored rows of ``Q`` and
    among themselves, stored as rows ``first .. first + k - 1`` of ``Q``, and their
    coefficients as the same columns of ``R`` (so that ``W^T = Q^T R[:, cols]``, ``R``
    upper triangular).

    Block classical Gram-Schmidt twice against ``Q``, twice within the block, then one
    clean-up pass of the normalised block against ``Q`` and within the block. The clean-up
    matters: the affine residual vectors are *exactly* dependent once snapshots are in the
    basis (``sum_q mu_q A_q u(mu) = f``), so some remainders are round-off, and normalising
    them amplifies their non-orthogonality (DGKS reorthogonalisation; pyMOR's
    ``gram_schmidt`` re-iterates for the same reason). Remainders below ``1e3 eps`` (of the
    problem's dtype) of the vector's norm are dropped (zero row)."""

    def __init__(self, X: linalg.CSRMatrix, kmax: int, dtype=None):
        if hasattr(X, "to_scipy"):  # a CSRMatrix (else: a scipy sparse matrix and `dtype`)
            X, dtype = X.to_scipy(), X.data.dtype
        self.X = X.astype(np.float64).tocsr()
        self.riesz = RieszSolver(self.X, dtype)
        self.tiny = 1e3 * float(jnp.finfo(dtype).eps)
        n = self.X.shape[0]
        self.Q = np.zeros((kmax, n))
        self.R = np.zeros((kmax, kmax))
        self.size = 0  # rows of Q in use (dropped ones included, as zero rows)

    def insert(self, G: Float[Array, "k n"]) -> None:
        G = np.asarray(G, dtype=np.float64)
        first, k = self.size, G.shape[0]
        if first + k > self.Q.shape[0]:
            raise ValueError(f"ResidualBasis: room for {self.Q.shape[0]} vectors, "
                             f"{first + k} requested.")
        W = self.riesz.solve64(G)
        XW = G
        scale = np.sqrt(np.maximum(np.sum(W * G, axis=1), 0.0))
        Qo = self.Q[:first]
        H = np.zeros((k, first))
        for _ in range(2):
            h = XW @ Qo.T  # (k, first): <w_i, q_j>_X
            W = W - h @ Qo
            XW = (self.X @ W.T).T
            H += h
        B, XB, C = _in_block(self.X, W, XW, 2, self.tiny, scale)  # W^T = Q^T H^T + B^T C
        h = XB @ Qo.T  # clean-up pass: B^T = Q^T h^T + B2^T T
        B = B - h @ Qo
        B2, _, T = _in_block(self.X, B, (self.X @ B.T).T, 1, self.tiny, np.ones(k))
        self.Q[first:first + k] = B2
        self.R[:first, first:first + k] = (H + C.T @ h).T
        self.R[first:first + k, first:first + k] = T @ C
        self.size = first + k

    def factor(self, dtype, size: int | None = None) -> Float[Array, "K K"]:
        """``R`` (the leading `size` x `size` block, default all) as a JAX array."""
        k = self.R.shape[0] if size is None else size
        return jnp.asarray(self.R[:k, :k], dtype)


def _reduced_arrays(problem: AffineProblem, basis):
    """Projected operators, load, mass and the residual factor ``R`` for a basis `(n, N)`."""
    X = problem.product()
    n, N = basis.shape
    AV = jax.vmap(lambda d: jax.vmap(linalg.CSRMatrix(problem.pattern, d).matvec, in_axes=1,
                                     out_axes=1)(basis))(problem.operator_data)  # (qa, n, N)
    AN = jnp.einsum("ni,qnj->qij", basis, AV)
    fN = problem.rhs @ basis
    per = [jnp.moveaxis(AV, 2, 0)]  # (N, qa, n); order per basis vector: A_q v_n [, M v_n]
    MN = None
    if problem.time_dependent:
        MV = jax.vmap(problem.mass().matvec, in_axes=1, out_axes=1)(basis)
        MN = basis.T @ MV
        per.append(MV.T[:, None, :])
    blocks = np.asarray(jnp.concatenate(per, axis=1))  # (N, per, n)
    qf = problem.rhs.shape[0]
    residual = ResidualBasis(X, qf + blocks.shape[0] * blocks.shape[1])
    residual.insert(problem.rhs)
    for j in range(N):
        residual.insert(blocks[j])
    R = residual.factor(basis.dtype)
    return AN, fN, MN, R


def galerkin_rom(problem: AffineProblem, basis: Float[Array, "n N"]) -> GalerkinROM:
    """Offline stage for a given ``X``-orthonormal `basis` `(n, N)` (free DOFs, one vector
    per column): Galerkin projection and the residual representers.

    **Raises:** `ValueError` if the basis has the wrong shape, non-finite entries, or is not
    ``X``-orthonormal (nothing is computed then)."""
    if not isinstance(problem, AffineProblem):
        raise ValueError(f"`problem` must be an AffineProblem, got {type(problem).__name__}.")
    basis = check_basis(problem, basis)
    AN, fN, MN, R = _reduced_arrays(problem, basis)
    return rom_from_arrays(problem, AN, fN, MN, R)


def host_product(problem: AffineProblem):
    """``X = A(mu_ref)`` as a scipy CSR matrix (float64), built on the host (no XLA)."""
    import scipy.sparse as sps

    data = _theta_ref(problem) @ np.asarray(problem.operator_data, np.float64)
    pat = problem.pattern
    return sps.csr_matrix((data, np.asarray(pat.cols), np.asarray(pat.indptr)),
                          shape=(problem.size, problem.size))


def _theta_ref(problem: AffineProblem) -> np.ndarray:
    T = np.asarray(problem.theta_a, np.float64)
    return T[:, 0] + T[:, 1:] @ np.asarray(problem.mu_ref, np.float64)


def rom_from_arrays(problem: AffineProblem, AN, fN, MN, R) -> GalerkinROM:
    ref = jnp.asarray(_theta_ref(problem), AN.dtype)  # host: nothing to compile
    return GalerkinROM(
        operators=AN, rhs=fN, mass=MN, residual=R, theta_a=problem.theta_a,
        theta_f=problem.theta_f, theta_ref=ref, mu_min=problem.mu_min, mu_max=problem.mu_max,
        dt=problem.dt, num_steps=problem.num_steps,
    )
