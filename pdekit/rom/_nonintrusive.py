r"""Non-intrusive reduced-order models: POD of snapshot files plus regression of the reduced
coefficients over the parameters (no access to the full-order operators).

``u(mu) ~ U c(mu)`` with ``U`` the POD modes of the snapshot matrix and ``c`` a regression
fitted on the training coefficients ``c_s = U^T W u_s``:

- :class:`NonIntrusiveROM`: a radial basis function interpolant (polyharmonic spline plus a
  polynomial of degree <= 1, as ``scipy.interpolate.RBFInterpolator``'s default), parameters
  scaled to the unit box first so kernels see comparable axes;
- :class:`NonIntrusiveMLP`: a small multilayer perceptron trained by
  :func:`pdekit.training.fit` (Adam, relative L2 loss on the coefficients, i.e. the relative
  error of the field inside the POD space), with the parameters mapped to ``[-1, 1]^P`` and
  the coefficients standardised (normalisers stored in the model).

Evaluation is pure JAX: it jits, vmaps over parameters and runs in float32.
"""

from __future__ import annotations

import equinox as eqx
import jax
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
        if kernel not in _KERNELS:
            raise ValueError(f"`kernel` must be one of {_KERNELS}, got {kernel!r}.")
        epsilon = check_finite_scalar("epsilon", epsilon, positive=True)
        smoothing = check_finite_scalar("smoothing", smoothing, nonnegative=True)
        X, mu, lo, hi = _prepare(snapshots, params, mu_min, mu_max)
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


def _prepare(snapshots, params, mu_min, mu_max):
    """Snapshot matrix `(n, S)` (from an array or a ``Snapshots``), parameters `(S, P)` and
    the box, checked."""
    if hasattr(snapshots, "matrix") and hasattr(snapshots, "params"):
        if params is None:
            params = snapshots.params
        snapshots = snapshots.matrix()
    X = jnp.asarray(snapshots)
    if params is None:
        raise ValueError("`params` is required with a snapshot matrix (shape (S, P)).")
    mu = np.asarray(params, dtype=np.float64)
    if mu.ndim == 1:
        mu = mu[:, None]
    if X.ndim != 2 or mu.ndim != 2 or mu.shape[0] != X.shape[1]:
        raise ValueError(f"`params` must have shape (S, P) with S = {X.shape[-1]} "
                         f"snapshots (columns of `snapshots`), got {mu.shape}.")
    S, P = mu.shape
    if S < P + 1:
        raise ValueError(f"need at least P + 1 = {P + 1} training parameters, got {S}.")
    lo = mu.min(axis=0) if mu_min is None else np.asarray(mu_min, np.float64)
    hi = mu.max(axis=0) if mu_max is None else np.asarray(mu_max, np.float64)
    if lo.shape != (P,) or hi.shape != (P,) or np.any(hi <= lo):
        raise ValueError(f"parameter box must have mu_max > mu_min with {P} entries each, got "
                         f"{lo}, {hi}.")
    check_params(mu, tuple(lo), tuple(hi), "params")
    return X, mu, lo, hi


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


# ---------------------------------------------------------------------------------------
# POD + MLP
# ---------------------------------------------------------------------------------------

_ACTIVATIONS = ("tanh", "gelu", "silu")


def _activation(name, x):
    return {"tanh": jnp.tanh, "gelu": jax.nn.gelu, "silu": jax.nn.silu}[name](x)


def _num_params(sizes) -> int:
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


def _mlp_apply(params, sizes, activation, x):
    """The MLP with its weights packed in one flat vector (layer by layer: ``W`` `(out,
    in)` row-major, then ``b``), so the model is a handful of plain arrays on disk."""
    offset = 0
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        W = params[offset:offset + a * b].reshape(b, a)
        offset += a * b
        x = W @ x + params[offset:offset + b]
        offset += b
        if i < len(sizes) - 2:
            x = _activation(activation, x)
    return x


def _mlp_init(key, sizes, dtype):
    """Glorot-uniform weights, zero biases."""
    parts = []
    for k, (a, b) in zip(jax.random.split(key, len(sizes) - 1), zip(sizes[:-1], sizes[1:])):
        lim = np.sqrt(6.0 / (a + b))
        parts += [jax.random.uniform(k, (b * a,), dtype, -lim, lim), jnp.zeros((b,), dtype)]
    return jnp.concatenate(parts)


class _CoefficientMLP(eqx.Module):
    """Normalised parameters `(P,)` -> normalised coefficients `(r,)` (what `fit` trains)."""

    params: Float[Array, " p"]
    sizes: tuple[int, ...] = eqx.field(static=True)
    activation: str = eqx.field(static=True)

    def __call__(self, x):
        return _mlp_apply(self.params, self.sizes, self.activation, x)


class NonIntrusiveMLP(eqx.Module):
    """POD + a multilayer perceptron for the reduced coefficients.

    **Fields:** `modes` `(n, r)`, `params` `(p,)` (the MLP's weights, packed: see
    :func:`_mlp_apply`), `x_mean`, `x_std` `(P,)` (parameter normaliser: the box centre and
    half-width), `y_mean`, `y_std` `(r,)` (coefficient normaliser: training mean and standard
    deviation), static `sizes` (``(P, *hidden, r)``), `activation`, `mu_min`, `mu_max`.

    Build it with :meth:`fit`; evaluate with :meth:`coefficients` / :meth:`__call__`; save
    it with :func:`pdekit.rom.save_rom` like the other ROMs.
    """

    modes: Float[Array, "n r"]
    params: Float[Array, " p"]
    x_mean: Float[Array, " P"]
    x_std: Float[Array, " P"]
    y_mean: Float[Array, " r"]
    y_std: Float[Array, " r"]
    sizes: tuple[int, ...] = eqx.field(static=True)
    activation: str = eqx.field(static=True)
    mu_min: tuple[float, ...] = eqx.field(static=True)
    mu_max: tuple[float, ...] = eqx.field(static=True)

    def __check_init__(self):
        P, r = len(self.mu_min), self.modes.shape[1]
        if len(self.sizes) < 2 or self.sizes[0] != P or self.sizes[-1] != r:
            raise ValueError(f"NonIntrusiveMLP: `sizes` must run from P = {P} to r = {r}, got "
                             f"{self.sizes}.")
        if self.params.shape != (_num_params(self.sizes),):
            raise ValueError(f"NonIntrusiveMLP: `params` must have shape "
                             f"({_num_params(self.sizes)},), got {self.params.shape}.")
        for name, k in (("x_mean", P), ("x_std", P), ("y_mean", r), ("y_std", r)):
            if getattr(self, name).shape != (k,):
                raise ValueError(f"NonIntrusiveMLP: `{name}` must have shape ({k},).")
        if self.activation not in _ACTIVATIONS:
            raise ValueError(f"`activation` must be one of {_ACTIVATIONS}, got "
                             f"{self.activation!r}.")

    @staticmethod
    def fit(snapshots, params, *, rank: int | None = None, tol: float | None = None,
            mu_min=None, mu_max=None, product=None, hidden: tuple[int, ...] = (64, 64),
            activation: str = "tanh", epochs: int = 2000, batch_size: int | None = None,
            learning_rate: float = 3e-3, seed: int = 0, validation=None,
            progress: bool = False) -> tuple[NonIntrusiveMLP, dict]:
        """Fit from a snapshot matrix `(n, S)` (or a :class:`pdekit.data.Snapshots`) and
        parameters `(S, P)`: POD, then the MLP trained with :func:`pdekit.training.fit`
        (Adam with a cosine-decayed learning rate, mean relative L2 loss on the
        coefficients).

        **Arguments:** `rank`, `tol`, `mu_min`, `mu_max`, `product` as in
        :meth:`NonIntrusiveROM.fit`; `hidden` (widths of the hidden layers), `activation`
        (``tanh``, ``gelu``, ``silu``), `epochs`, `batch_size` (default: all of `S`, full
        batch), `learning_rate` (peak), `seed` (weights and data order), `validation`
        (optional ``(snapshots (n, V), params (V, P))``, evaluated as an eval set: its
        relative L2 error of the coefficients in the POD space), `progress` (tqdm bar).

        **Returns:** ``(model, history)`` (the history of :func:`pdekit.training.fit`).

        **Raises:** `ValueError` for mismatched shapes, non-finite data, bad sizes.
        """
        import optax

        from ..data import Dataset
        from ..training import Normalized, Normalizer
        from ..training import fit as train_fit

        hidden = tuple(int(h) for h in hidden)
        if any(h < 1 for h in hidden):
            raise ValueError(f"`hidden` must hold positive widths, got {hidden}.")
        if activation not in _ACTIVATIONS:
            raise ValueError(f"`activation` must be one of {_ACTIVATIONS}, got {activation!r}.")
        learning_rate = check_finite_scalar("learning_rate", learning_rate, positive=True)
        X, mu, lo, hi = _prepare(snapshots, params, mu_min, mu_max)
        S, P = mu.shape
        batch_size = S if batch_size is None else int(batch_size)
        if not 1 <= batch_size <= S:
            raise ValueError(f"`batch_size` must be in [1, {S}], got {batch_size}.")
        basis = pod(X, rank=rank, tol=tol, product=product)
        dtype = X.dtype
        coef = np.asarray(basis.project(X, product).T)  # (S, r)
        r = coef.shape[1]
        sizes = (P, *hidden, r)
        x_norm = Normalizer((lo + hi) / 2, (hi - lo) / 2, eps=0.0, dtype=dtype)
        y_norm = Normalizer(coef.mean(0), coef.std(0) + 1e-12 * np.abs(coef).max(), eps=0.0,
                            dtype=dtype)
        net = _CoefficientMLP(_mlp_init(jax.random.key(seed), sizes, dtype), sizes, activation)
        model = Normalized(net, x_norm, y_norm)
        train = Dataset.from_arrays(mu.astype(dtype), coef.astype(dtype))
        eval_sets = {}
        if validation is not None:
            Xv, muv, _, _ = _prepare(validation[0], validation[1], lo, hi)
            cv = np.asarray(basis.project(Xv, product).T)
            eval_sets["validation"] = Dataset.from_arrays(muv.astype(dtype), cv.astype(dtype))
        steps = epochs * (S // batch_size)
        opt = optax.adam(optax.cosine_decay_schedule(learning_rate, max(steps, 1), 1e-3))
        model, history = train_fit(model, train, optimizer=opt, epochs=epochs,
                                   batch_size=batch_size, seed=seed, eval_sets=eval_sets,
                                   eval_every=max(epochs // 20, 1), progress=progress)
        out = NonIntrusiveMLP(basis.modes, model.model.params, x_norm.mean, x_norm.std,
                              y_norm.mean, y_norm.std, sizes, activation,
                              tuple(lo.tolist()), tuple(hi.tolist()))
        return out, history

    def check_params(self, mu, name: str = "mu") -> np.ndarray:
        return check_params(mu, self.mu_min, self.mu_max, name)

    @eqx.filter_jit
    def coefficients(self, mu: Float[Array, " P"]) -> Float[Array, " r"]:
        """Reduced coefficients for one parameter `(P,)` (vmap for a batch)."""
        x = (jnp.asarray(mu, self.params.dtype) - self.x_mean) / self.x_std
        return _mlp_apply(self.params, self.sizes, self.activation, x) * self.y_std + self.y_mean

    @eqx.filter_jit
    def __call__(self, mu: Float[Array, " P"]) -> Float[Array, " n"]:
        """The approximate field ``U c(mu)`` for one parameter, shape `(n,)`."""
        return self.modes @ self.coefficients(mu)
