"""DeepONet (Lu, Jin, Pang, Zhang, Karniadakis 2021) and POD-DeepONet (Lu et al. 2022).

``G(a)(y)_k = sum_j b_kj(a) t_kj(y) + c_k``: a branch net ``b`` encodes the input function
at fixed sensors, a trunk net ``t`` (or a fixed POD basis) encodes the query point ``y``.
"""

import json
import math
from collections.abc import Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from .._misc import check_positive_int, default_float_dtype
from ._mgno import conv, host_rng, uniform_init

ACTIVATIONS = {"tanh": jnp.tanh, "relu": jax.nn.relu, "gelu": jax.nn.gelu,
               "silu": jax.nn.silu}
BRANCHES = ("mlp", "cnn")


def _check_in_shape(in_shape: Any) -> tuple[int, ...]:
    try:
        shape = tuple(int(n) for n in in_shape)
    except TypeError:
        raise ValueError(f"`in_shape` must be a tuple (C, *sensors), got {in_shape!r}.") from None
    if len(shape) < 2 or min(shape) < 1:
        raise ValueError(f"`in_shape` must be (C, *sensors) with positive sizes, got {shape}.")
    return shape


class _MLP(eqx.Module):
    # Fully connected net ``in -> width (x depth) -> out``, optionally an *ensemble* of
    # `ensemble` independent nets stored with a leading axis (the stacked DeepONet's branch:
    # one scalar net per basis function, evaluated together by batched matmuls).
    weights: tuple[Array, ...]
    biases: tuple[Array, ...]
    activation: str = eqx.field(static=True)
    final_activation: bool = eqx.field(static=True)

    def __init__(self, in_size, out_size, width, depth, activation, final_activation, dtype,
                 rng, ensemble=None):
        sizes = [in_size] + [width] * depth + [out_size]
        lead = () if ensemble is None else (ensemble,)
        # eqx.nn.Linear's init: U(+-1/sqrt(fan_in)) for weights and biases
        self.weights = tuple(uniform_init(rng, [(lead + (o, i), i)], dtype)[0]
                             for i, o in zip(sizes[:-1], sizes[1:]))
        self.biases = tuple(uniform_init(rng, [(lead + (o,), i)], dtype)[0]
                            for i, o in zip(sizes[:-1], sizes[1:]))
        self.activation, self.final_activation = activation, bool(final_activation)

    def __call__(self, x):
        act = ACTIVATIONS[self.activation]
        n = len(self.weights)
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            x = jnp.einsum("...oi,...i->...o", w, x) + b
            if i < n - 1 or self.final_activation:
                x = act(x)
        return x


class _Stacked(eqx.Module):
    # `n` independent scalar-output MLPs (the "stacked" DeepONet).
    nets: _MLP

    def __init__(self, n, in_size, width, depth, activation, dtype, rng):
        self.nets = _MLP(in_size, 1, width, depth, activation, False, dtype, rng, ensemble=n)

    def __call__(self, x):
        return self.nets(jnp.broadcast_to(x, (self.nets.weights[0].shape[0],) + x.shape))[:, 0]


class _CNN(eqx.Module):
    # Branch for gridded inputs: stride-2 3x3 convolutions (zero padding; channels doubling
    # from width/4 up to width) until the grid is <= 8 points per axis, then a linear map to
    # the basis coefficients.
    kernels: tuple[Array, ...]
    biases: tuple[Array, ...]
    linear: _MLP
    activation: str = eqx.field(static=True)

    def __init__(self, in_shape, out_size, width, activation, dtype, rng):
        c, *spatial = in_shape
        d = len(spatial)
        kernels, biases, ch = [], [], max(width // 4, 4)
        while max(spatial) > 8 and len(kernels) < 6:
            w, b = uniform_init(rng, [((ch, c) + (3,) * d, c * 3**d), ((ch,), c * 3**d)], dtype)
            kernels.append(w)
            biases.append(b)
            spatial = [-(-n // 2) for n in spatial]
            c, ch = ch, min(2 * ch, width)
        self.kernels, self.biases = tuple(kernels), tuple(biases)
        self.linear = _MLP(c * math.prod(spatial), out_size, 0, 0, activation, False, dtype, rng)
        self.activation = activation

    def __call__(self, x):
        act = ACTIVATIONS[self.activation]
        extra = (slice(None),) + (None,) * (x.ndim - 1)
        for w, b in zip(self.kernels, self.biases):
            x = act(conv(x[None], w, stride=2)[0] + b[extra])
        return self.linear(x.reshape(-1))


def _make_branch(kind, in_shape, n_out, width, depth, stacked, activation, dtype, rng):
    if kind == "cnn":
        if stacked:
            raise ValueError("`stacked=True` needs `branch='mlp'` (one small MLP per basis "
                             "function); a stacked CNN branch is not offered.")
        if len(in_shape) not in (2, 3):
            raise ValueError(f"`branch='cnn'` needs 1D or 2D gridded input, got `in_shape` "
                             f"{in_shape}.")
        return _CNN(in_shape, n_out, width, activation, dtype, rng)
    n_in = math.prod(in_shape)
    if stacked:
        return _Stacked(n_out, n_in, width, depth, activation, dtype, rng)
    return _MLP(n_in, n_out, width, depth, activation, False, dtype, rng)


def _branch_call(branch, x, in_shape, dtype):
    if x.shape != in_shape:
        raise ValueError(f"expected one input sample of shape {in_shape}, got {x.shape}. For "
                         "batches use `jax.vmap`.")
    x = x.astype(dtype)
    return branch(x) if isinstance(branch, _CNN) else branch(x.reshape(-1))


class DeepONet(eqx.Module):
    r"""Deep operator network ``G(a)(y)_k = sum_{j<p} b_{kj}(a) t_{kj}(y) + c_k``.

    The branch net sees the input function ``a`` at fixed sensors (an MLP on the flattened
    ``(C, *sensors)`` values, or a CNN for gridded inputs); the trunk net is an MLP on a query
    point ``y`` of dimension ``d`` with its activation also on the last layer, as in the paper.
    With several outputs, branch and trunk give ``num_outputs * p`` values, split into one
    group of ``p`` per output. *Unstacked* (default): one branch net with ``p`` outputs;
    *stacked*: ``p`` independent scalar branch nets.

    **Arguments:**
    - `in_shape`: shape ``(C, *sensors)`` of one input sample (e.g. ``(1, 100)``).
    - `coords`: the default query points, ``(*out_spatial, d)`` (e.g. the dataset's output
      grid), so that ``model(x)`` returns ``(num_outputs, *out_spatial)`` like the grid
      operators; or an int ``d`` (then query points must be passed).
    - `num_basis`: ``p`` (default 64). `num_outputs`: output channels (default 1).
    - `branch`: `"mlp"` or `"cnn"`. `width`: hidden width (both nets). `branch_depth`,
      `trunk_depth`: hidden layers. `stacked`: one branch net per basis function.
    - `activation`: `"tanh"` (default), `"relu"`, `"gelu"`, `"silu"`.
    - `dtype`: parameter dtype (float32 default, float64 under x64). `key`: PRNG key.

    **Call:** ``model(x, points=None)``: `x` one input sample ``in_shape``; `points`
    ``(n, d)`` query coordinates (default: `coords`). Returns ``(num_outputs, n)``, or
    ``(num_outputs, *out_spatial)`` at the default points (not trained: gradients stop
    there, and :meth:`trainable` is the filter spec without them). *Aligned* data (the
    same points for every sample): ``jax.vmap(model, in_axes=(0, None))(xs, points)``
    evaluates the trunk once; *unaligned*: ``jax.vmap(model)(xs, points)`` with ``points``
    ``(B, n, d)``.

    **Raises:** `ValueError` naming a bad argument, or at trace time for a wrong input shape.

    Reference: Lu et al., Nature Machine Intelligence 3, 218 (2021),
    https://doi.org/10.1038/s42256-021-00302-5.
    """

    branch: eqx.Module
    trunk: _MLP
    bias: Float[Array, " K"]
    coords: Array | None
    in_shape: tuple[int, ...] = eqx.field(static=True)
    coord_dim: int = eqx.field(static=True)
    num_basis: int = eqx.field(static=True)
    num_outputs: int = eqx.field(static=True)
    config: str = eqx.field(static=True)  # JSON of the constructor arguments (checkpoints)

    def __init__(self, in_shape: Sequence[int], coords: Array | int, *, num_basis: int = 64,
                 num_outputs: int = 1, branch: str = "mlp", width: int = 128,
                 branch_depth: int = 2, trunk_depth: int = 3, stacked: bool = False,
                 activation: str = "tanh", dtype: Any = None, key: PRNGKeyArray):
        in_shape = _check_in_shape(in_shape)
        p = check_positive_int("num_basis", num_basis)
        k = check_positive_int("num_outputs", num_outputs)
        width = check_positive_int("width", width)
        branch_depth = check_positive_int("branch_depth", branch_depth, minimum=0)
        trunk_depth = check_positive_int("trunk_depth", trunk_depth, minimum=0)
        if branch not in BRANCHES:
            raise ValueError(f"`branch` must be one of {BRANCHES}, got {branch!r}.")
        if activation not in ACTIVATIONS:
            raise ValueError(f"`activation` must be one of {tuple(ACTIVATIONS)}, got "
                             f"{activation!r}.")
        dtype = default_float_dtype(dtype)
        if isinstance(coords, (int, np.integer)) and not isinstance(coords, bool):
            d = check_positive_int("coords", coords)
            grid = None
        else:
            grid = jnp.asarray(coords, dtype=dtype)
            if grid.ndim < 2:
                raise ValueError(f"`coords` must be an int d or an array (*out_spatial, d), "
                                 f"got shape {grid.shape}.")
            d = int(grid.shape[-1])
        rng = host_rng(key)
        self.branch = _make_branch(branch, in_shape, k * p, width, branch_depth, stacked,
                                   activation, dtype, rng)
        self.trunk = _MLP(d, k * p, width, trunk_depth, activation, True, dtype, rng)
        self.bias = jnp.zeros((k,), dtype)
        self.coords = grid
        self.in_shape, self.coord_dim, self.num_basis, self.num_outputs = in_shape, d, p, k
        self.config = json.dumps({
            "model": "DeepONet", "in_shape": list(in_shape),
            "coords": d if grid is None else list(grid.shape), "num_basis": p,
            "num_outputs": k, "branch": branch, "width": width, "branch_depth": branch_depth,
            "trunk_depth": trunk_depth, "stacked": bool(stacked), "activation": activation,
            "dtype": jnp.dtype(dtype).name})

    @property
    def dtype(self):
        return self.bias.dtype

    def trainable(self) -> Any:
        """Filter spec (a pytree of bools) of the trainable leaves: all but `coords`."""
        spec = jax.tree_util.tree_map(eqx.is_inexact_array, self)
        if self.coords is None:
            return spec
        return eqx.tree_at(lambda m: m.coords, spec, replace=False)

    def __call__(self, x: Float[Array, " C *sensors"],
                 points: Float[Array, " n d"] | None = None) -> Float[Array, " K ..."]:
        k, p = self.num_outputs, self.num_basis
        if points is None:
            if self.coords is None:
                raise ValueError("this DeepONet has no default `coords`; pass `points` (n, d).")
            out_spatial = self.coords.shape[:-1]
            points = jax.lax.stop_gradient(self.coords).reshape(-1, self.coord_dim)
        else:
            if points.ndim != 2 or points.shape[1] != self.coord_dim:
                raise ValueError(f"`points` must have shape (n, {self.coord_dim}), got "
                                 f"{points.shape}.")
            out_spatial = points.shape[:1]
        b = _branch_call(self.branch, x, self.in_shape, self.dtype).reshape(k, p)
        t = jax.vmap(self.trunk)(points.astype(self.dtype)).reshape(-1, k, p)
        out = jnp.einsum("kp,nkp->kn", b, t) + self.bias[:, None]
        return out.reshape((k,) + tuple(out_spatial))


class PODDeepONet(eqx.Module):
    r"""POD-DeepONet: ``G(a)(y_i)_k = sum_{j<p} b_{kj}(a) phi_{kj}(y_i) + phi_{k0}(y_i) + c_k``
    with a fixed basis ``phi`` (POD modes of the training outputs) instead of a trunk net.

    The basis and mean are passed in as arrays (build them from the training outputs, e.g.
    with ``pdekit.rom``'s POD, in the calling layer); they are not trained: the call stops
    their gradients and :meth:`trainable` / :func:`count_trainable` leave them out. The output
    lives on the basis's points only.

    **Arguments:**
    - `in_shape`: shape ``(C, *sensors)`` of one input sample.
    - `basis`: ``(p, *out_spatial)`` for one output, or ``(num_outputs, p, *out_spatial)``.
    - `mean`: ``(num_outputs, *out_spatial)`` (or ``(*out_spatial)`` for one output), added to
      the output (default zero).
    - `num_outputs`: output channels (default 1).
    - `branch`, `width`, `branch_depth`, `stacked`, `activation`, `dtype`, `key`: as in
      :class:`DeepONet`.

    **Call:** ``model(x)`` returns ``(num_outputs, *out_spatial)``.
    """

    branch: eqx.Module
    basis: Float[Array, " K p n"]
    mean: Float[Array, " K n"]
    bias: Float[Array, " K"]
    in_shape: tuple[int, ...] = eqx.field(static=True)
    out_spatial: tuple[int, ...] = eqx.field(static=True)
    num_basis: int = eqx.field(static=True)
    num_outputs: int = eqx.field(static=True)
    config: str = eqx.field(static=True)  # JSON of the constructor arguments (checkpoints)

    def __init__(self, in_shape: Sequence[int], basis: Array, mean: Array | None = None, *,
                 num_outputs: int = 1, branch: str = "mlp", width: int = 128, branch_depth: int = 2,
                 stacked: bool = False, activation: str = "tanh", dtype: Any = None,
                 key: PRNGKeyArray):
        in_shape = _check_in_shape(in_shape)
        dtype = default_float_dtype(dtype)
        width = check_positive_int("width", width)
        branch_depth = check_positive_int("branch_depth", branch_depth, minimum=0)
        if branch not in BRANCHES:
            raise ValueError(f"`branch` must be one of {BRANCHES}, got {branch!r}.")
        if activation not in ACTIVATIONS:
            raise ValueError(f"`activation` must be one of {tuple(ACTIVATIONS)}, got "
                             f"{activation!r}.")
        k = check_positive_int("num_outputs", num_outputs)
        basis = np.asarray(basis)
        if k == 1:
            basis = basis[None]
        if basis.ndim < 3 or basis.shape[0] != k or basis.size == 0 \
                or not np.all(np.isfinite(basis)):
            raise ValueError(f"`basis` must be a finite array (p, *out_spatial) for one output "
                             f"or (num_outputs={k}, p, *out_spatial), got shape "
                             f"{np.shape(basis)[int(k == 1):]}.")
        p, out_spatial = basis.shape[1], basis.shape[2:]
        mean = np.zeros((k,) + out_spatial) if mean is None else np.asarray(mean)
        if mean.shape not in ((k,) + out_spatial, out_spatial if k == 1 else None) \
                or not np.all(np.isfinite(mean)):
            raise ValueError(f"`mean` must be finite with shape {(k,) + out_spatial} (or "
                             f"{out_spatial} for one output), got {mean.shape}.")
        self.branch = _make_branch(branch, in_shape, k * p, width, branch_depth, stacked,
                                   activation, dtype, host_rng(key))
        self.basis = jnp.asarray(basis.reshape(k, p, -1), dtype)
        self.mean = jnp.asarray(mean.reshape(k, -1), dtype)
        self.bias = jnp.zeros((k,), dtype)
        self.in_shape, self.out_spatial = in_shape, tuple(int(n) for n in out_spatial)
        self.num_basis, self.num_outputs = int(p), int(k)
        self.config = json.dumps({
            "model": "PODDeepONet", "in_shape": list(in_shape),
            "basis": list(basis.shape[int(k == 1):]), "num_outputs": int(k), "branch": branch,
            "width": width, "branch_depth": branch_depth, "stacked": bool(stacked),
            "activation": activation, "dtype": jnp.dtype(dtype).name})

    @property
    def dtype(self):
        return self.bias.dtype

    def trainable(self) -> Any:
        """Filter spec (a pytree of bools) marking the trainable leaves: all but basis/mean."""
        spec = jax.tree_util.tree_map(eqx.is_inexact_array, self)
        return eqx.tree_at(lambda m: (m.basis, m.mean), spec, replace=(False, False))

    def __call__(self, x: Float[Array, " C *sensors"]) -> Float[Array, " K *out"]:
        k, p = self.num_outputs, self.num_basis
        b = _branch_call(self.branch, x, self.in_shape, self.dtype).reshape(k, p)
        basis = jax.lax.stop_gradient(self.basis)
        mean = jax.lax.stop_gradient(self.mean)
        out = jnp.einsum("kp,kpn->kn", b, basis) + mean + self.bias[:, None]
        return out.reshape((k,) + self.out_spatial)


def deeponet_from_config(config: dict, *, key: PRNGKeyArray) -> DeepONet | PODDeepONet:
    """A (POD-)DeepONet of the configuration ``json.loads(model.config)``: new weights,
    zero `coords` / basis / mean of the recorded shapes (a checkpoint fills them in)."""
    c = {k: v for k, v in config.items() if k != "model"}
    dtype = c["dtype"]
    if config.get("model") == "PODDeepONet":
        basis = np.zeros(c.pop("basis"), dtype)
        return PODDeepONet(c.pop("in_shape"), basis, key=key, **c)
    coords = c.pop("coords")
    if not isinstance(coords, int):
        coords = jnp.zeros(coords, dtype)
    return DeepONet(c.pop("in_shape"), coords, key=key, **c)


def count_trainable(model: Any) -> int:
    """Trainable scalar parameters of `model` (a POD basis and mean do not count)."""
    spec = model.trainable() if hasattr(model, "trainable") else \
        jax.tree_util.tree_map(eqx.is_inexact_array, model)
    params = eqx.filter(model, spec)
    return sum(int(a.size) for a in jax.tree_util.tree_leaves(params))
