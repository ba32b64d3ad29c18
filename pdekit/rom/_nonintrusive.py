r"""Non-intrusive reduced-order models: POD of snapshot files plus regression of the reduced
coefficients over the parameters (no access to the full-order operators).

``u(mu) ~ U c(mu)`` with ``U`` the POD modes of the snapshot matrix and ``c`` a radial basis
function interpolant (polyharmonic spline plus a polynomial of degree <= 1, as
``scipy.interpolate.RBFInterpolator``'s default), fitted on the training coefficients
``c_s = U^T W u_s``. Parameters are scaled to the unit box first, so kernels see comparable
axes. Evaluation is pure JAX: it jits, vmaps over parameters and runs in float32.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._misc import check_finite_scalar
from ._affine import check_params
from ._pod import pod

_KERNELS = ("thin_plate_spline", "cubic", "linear", "quintic", "gaussian")


def _kernel(name: str, r, epsilon):
    r = r * epsilon
    if name == "thin_plate_spline":
        return jnp.where(r > 0, r**2 * jnp.log(jnp.where(r > 0, r, 1.0)), 0.0)
    if name == "cubic":
        return r**3
    if name == "quintic":
        return -(r**5)
    if name == "linear":
        return -r
    return jnp.exp(-(r**2))  # gaussian


def _distances(a, b):
    d2 = jnp.sum((a[:, None, :] - b[None, :, :]) ** 2, axis=-1)
    return jnp.sqrt(jnp.maximum(d2, 0.0))


class NonIntrusiveROM(eqx.Module):
    """POD + RBF interpolation of the reduced coefficients.

    **Fields:** `modes` `(n, r)`, `centers` `(S, P)` (training parameters scaled to
    ``[0, 1]^P``), `weights` `(S, r)` and `poly` `(P + 1, r)` (RBF and linear-polynomial
    coefficients), static `mu_min`, `mu_max`, `kernel`, `epsilon`.

    Build it with :meth:`fit`; evaluate with :meth:`coefficients` / :meth:`__call__`.
    """

    modes: Float[Array, "n r"]
    centers: Float[Array, "S P"]
    weights: Float[Array, "S r"]
    poly: Float[Array, "P1 r"]
    mu_min: tuple[float, ...] = eqx.field(static=True)
    mu_max: tuple[float, ...] = eqx.field(static=True)
    kernel: str = eqx.field(static=True, default="thin_plate_spline")
    epsilon: float = eqx.field(static=True, default=1.0)

    def __check_init__(self):
        S, P = self.centers.shape
        r = self.modes.shape[1]
        if self.weights.shape != (S, r) or self.poly.shape != (P + 1, r):
            raise ValueError(f"NonIntrusiveROM: `weights`/`poly` must have shapes ({S}, {r}), "
                             f"({P + 1}, {r}); got {self.weights.shape}, {self.poly.shape}.")
        if self.kernel not in _KERNELS:
            raise ValueError(f"`kernel` must be one of {_KERNELS}, got {self.kernel!r}.")

    @staticmethod
    def fit(snapshots, params, *, rank: int | None = None, tol: float | None = None,
            mu_min=None, mu_max=None, kernel: str = "thin_plate_spline",
            epsilon: float = 1.0, smoothing: float = 0.0, product=None) -> NonIntrusiveROM:
        """Fit from a snapshot matrix `(n, S)` (or a :class:`pdekit.data.Snapshots`, whose
        `params` are used when `params` is None) and parameters `(S, P)`.

        **Arguments:** `rank`/`tol` (POD truncation, :func:`pdekit.rom.pod`), `mu_min`,
        `mu_max` (parameter box; default: the training set's bounding box), `kernel` (one of
        ``thin_plate_spline``, ``cubic``, ``quintic``, ``linear``, ``gaussian``),
        `epsilon` (kernel shape, > 0), `smoothing` (>= 0; 0 interpolates), `product`
        (POD inner product).

        **Raises:** `ValueError` for mismatched shapes, non-finite data, a bad kernel, or
        fewer than ``P + 1`` training parameters.
        """
        if hasattr(snapshots, "matrix") and hasattr(snapshots, "params"):
            if params is None:
                params = snapshots.params
            snapshots = snapshots.matrix()
        X = jnp.asarray(snapshots)
        mu = np.asarray(params, dtype=np.float64)
        if mu.ndim == 1:
            mu = mu[:, None]
        if X.ndim != 2 or mu.ndim != 2 or mu.shape[0] != X.shape[1]:
            raise ValueError(f"`params` must have shape (S, P) with S = {X.shape[-1]} "
                             f"snapshots (columns of `snapshots`), got {mu.shape}.")
        if kernel not in _KERNELS:
            raise ValueError(f"`kernel` must be one of {_KERNELS}, got {kernel!r}.")
        epsilon = check_finite_scalar("epsilon", epsilon, positive=True)
        smoothing = check_finite_scalar("smoothing", smoothing, nonnegative=True)
        S, P = mu.shape
        if S < P + 1:
            raise ValueError(f"need at least P + 1 = {P + 1} training parameters, got {S}.")
        lo = mu.min(axis=0) if mu_min is None else np.asarray(mu_min, np.float64)
        hi = mu.max(axis=0) if mu_max is None else np.asarray(mu_max, np.float64)
        if np.any(hi <= lo):
            raise ValueError(f"parameter box must have mu_max > mu_min, got {lo}, {hi}.")
        check_params(mu, tuple(lo), tuple(hi), "params")
        basis = pod(X, rank=rank, tol=tol, product=product)
        coef = basis.project(X, product).T  # (S, r)
        dtype = X.dtype
        centers = jnp.asarray((mu - lo) / (hi - lo), dtype)
        weights, poly = _fit_rbf(centers, coef, kernel, epsilon, smoothing)
        return NonIntrusiveROM(basis.modes, centers, weights, poly, tuple(lo.tolist()),
                               tuple(hi.tolist()), kernel, epsilon)

    def check_params(self, mu, name: str = "mu") -> np.ndarray:
        return check_params(mu, self.mu_min, self.mu_max, name)

    @eqx.filter_jit
    def coefficients(self, mu: Float[Array, " P"]) -> Float[Array, " r"]:
        """Reduced coefficients for one parameter `(P,)` (vmap for a batch)."""
        dtype = self.centers.dtype
        lo, hi = jnp.asarray(self.mu_min, dtype), jnp.asarray(self.mu_max, dtype)
        x = ((jnp.asarray(mu, dtype) - lo) / (hi - lo))[None, :]
        k = _kernel(self.kernel, _distances(x, self.centers), self.epsilon)  # (1, S)
        p = jnp.concatenate([jnp.ones((1, 1), dtype), x], axis=1)
        return (k @ self.weights + p @ self.poly)[0]

    @eqx.filter_jit
    def __call__(self, mu: Float[Array, " P"]) -> Float[Array, " n"]:
        """The approximate field ``U c(mu)`` for one parameter, shape `(n,)`."""
        return self.modes @ self.coefficients(mu)


def _fit_rbf(centers, values, kernel, epsilon, smoothing):
    """Solve ``[[K + s I, P], [P^T, 0]] [w; c] = [values; 0]`` (linear polynomial tail)."""
    S, P = centers.shape
    dtype = centers.dtype
    K = _kernel(kernel, _distances(centers, centers), epsilon) + smoothing * jnp.eye(S,
                                                                                    dtype=dtype)
    Pm = jnp.concatenate([jnp.ones((S, 1), dtype), centers], axis=1)
    top = jnp.concatenate([K, Pm], axis=1)
    bottom = jnp.concatenate([Pm.T, jnp.zeros((P + 1, P + 1), dtype)], axis=1)
    lhs = jnp.concatenate([top, bottom])
    rhs = jnp.concatenate([values, jnp.zeros((P + 1, values.shape[1]), dtype)])
    sol = jnp.linalg.solve(lhs, rhs)
    if not bool(jnp.all(jnp.isfinite(sol))):
        raise ValueError("the RBF system is singular (duplicate training parameters?); pass "
                         "`smoothing` > 0 or remove duplicates.")
    return sol[:S], sol[S:]
