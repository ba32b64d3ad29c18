"""Fourier neural operator (FNO) and its tensorised variant (TFNO), 1D/2D/3D.

Architecture (Li et al. 2021, doi:10.48550/arXiv.2010.08895; the neuraloperator 2.0 layout):

    x -> [x, grid] -> lifting MLP -> pad -> L x FourierBlock -> unpad -> projection MLP

    FourierBlock(v) = act( act(K v + W v) ... ):
        z = SpectralConv(v) + W_skip v            (linear skip, no bias)
        z = act(z)                                 (not after the last block)
        z = ChannelMLP(z) + g * v                  (optional; soft-gated skip g per channel)
        z = act(z)                                 (not after the last block)

TFNO (Kossaifi et al. 2023, doi:10.48550/arXiv.2310.00120) is the same model with its spectral
weights factorised (CP or Tucker), either per layer or jointly: one tensor of shape
``(L, C, C, *modes)`` for all L layers.
"""

import json
import math
from collections.abc import Callable, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.scipy.special import erf
from jaxtyping import Array, Float, PRNGKeyArray

from .._misc import check_finite_scalar, check_positive_int, default_float_dtype
from ._factorisation import AbstractWeightFactory, DenseTensor, DenseWeights, TuckerWeights
from ._spectral_conv import (
    Convention,
    Implementation,
    SpectralConv,
    check_implementation,
    init_std,
    weight_mode_shape,
)


@jax.custom_jvp
def gelu_erf(x: Array) -> Array:
    """Exact GELU ``x * Phi(x)`` (``Phi`` the standard normal CDF, through ``erf``): PyTorch's
    and neuraloperator's default. (``jax.nn.gelu`` defaults to the tanh approximation.)

    Its derivative ``Phi(x) + x phi(x)`` comes out of the same elementwise pass, so reverse
    mode keeps one array per activation and the backward pass is one multiply (cheaper than
    what differentiating the erf formula gives on CPU; every JAX transformation works).
    """
    return x * _normal_cdf(x)


def _normal_cdf(x):
    return 0.5 * (1.0 + erf(x * (1.0 / math.sqrt(2.0))))


@gelu_erf.defjvp
def _gelu_erf_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    cdf = _normal_cdf(x)
    pdf = jnp.exp(-0.5 * x * x) * (1.0 / math.sqrt(2.0 * math.pi))
    return x * cdf, t * (cdf + x * pdf)


# activations FNO accepts beside the jax.nn functions, by the name stored in its config
EXTRA_ACTIVATIONS = {"gelu_erf": gelu_erf}


def activation_from_name(name: str) -> Callable:
    """The activation an FNO config names: ``"gelu_erf"`` or a ``jax.nn`` function name."""
    if name in EXTRA_ACTIVATIONS:
        return EXTRA_ACTIVATIONS[name]
    fn = getattr(jax.nn, name, None)
    if not callable(fn):
        raise ValueError(f"Unknown activation {name!r}: expected 'gelu_erf' or a jax.nn "
                         "function name.")
    return fn


def grid_channels(spatial: Sequence[int], dtype) -> Float[Array, " d *spatial"]:
    """Coordinates ``x_i = j_i / N_i`` in ``[0, 1)`` per axis, as ``d`` channels."""
    axes = [jnp.arange(n, dtype=dtype) / jnp.asarray(n, dtype) for n in spatial]
    return jnp.stack(jnp.meshgrid(*axes, indexing="ij"))


class PointwiseLinear(eqx.Module):
    """``y[o, x] = sum_i A[o, i] u[i, x] + b[o]`` at every grid point (a 1x1 convolution,
    written as an einsum: XLA's 1x1 convolution is several times slower on CPU)."""

    weight: Float[Array, " C_out C_in"]
    bias: Float[Array, " C_out"] | None

    def __init__(self, in_channels: int, out_channels: int, *, bias: bool = True,
                 key: PRNGKeyArray, dtype=None):
        dtype = default_float_dtype(dtype)
        bound = 1.0 / math.sqrt(in_channels)  # torch's Conv1d default (kaiming uniform)
        wk, bk = jax.random.split(key)
        self.weight = jax.random.uniform(wk, (out_channels, in_channels), dtype, -bound, bound)
        self.bias = (jax.random.uniform(bk, (out_channels,), dtype, -bound, bound)
                     if bias else None)

    def __call__(self, u: Float[Array, " C_in *spatial"]) -> Float[Array, " C_out *spatial"]:
        return self.apply_batch(u[None])[0]

    def apply_batch(self, u: Float[Array, " B C_in *spatial"]) -> Float[Array, " B C_out *spatial"]:
        # an explicit batched GEMM (B, o, i) @ (B, i, N): what vmap makes of `W @ u` costs
        # two transposes of the activations on XLA:CPU (2.2x slower, measured)
        b, c = u.shape[:2]
        flat = u.reshape(b, c, -1)
        w = jnp.broadcast_to(self.weight.astype(u.dtype), (b, *self.weight.shape))
        y = jnp.einsum("boi,bin->bon", w, flat)
        if self.bias is not None:
            y = y + self.bias.astype(u.dtype)[None, :, None]
        return y.reshape(b, -1, *u.shape[2:])


class ChannelMLP(eqx.Module):
    """Pointwise MLP over channels: ``Linear -> act -> Linear`` (``n_layers`` linears)."""

    layers: tuple[PointwiseLinear, ...]
    activation: Callable = eqx.field(static=True)

    def __init__(self, in_channels: int, out_channels: int, hidden_channels: int, *,
                 n_layers: int = 2, activation: Callable = jax.nn.gelu,
                 key: PRNGKeyArray, dtype=None):
        sizes = [in_channels] + [hidden_channels] * (n_layers - 1) + [out_channels]
        keys = jax.random.split(key, n_layers)
        self.layers = tuple(PointwiseLinear(a, b, key=k, dtype=dtype)
                            for a, b, k in zip(sizes[:-1], sizes[1:], keys))
        self.activation = activation

    def __call__(self, u):
        return self.apply_batch(u[None])[0]

    def apply_batch(self, u):
        for i, layer in enumerate(self.layers):
            u = layer.apply_batch(u)
            if i < len(self.layers) - 1:
                u = self.activation(u)
        return u


def _instance_norm(u, eps=1e-5):
    # per-sample, per-channel over space: resolution independent (no running statistics)
    axes = tuple(range(2, u.ndim))
    mean = jnp.mean(u, axis=axes, keepdims=True)
    var = jnp.var(u, axis=axes, keepdims=True)
    return (u - mean) * jax.lax.rsqrt(var + jnp.asarray(eps, u.dtype))


class FNO(eqx.Module):
    """Fourier neural operator ``a(x) -> u(x)`` on a periodic (or padded) grid; one sample.

    **Arguments:**
    - `in_channels`, `out_channels`: channels of the input ``a`` and the output ``u``.
    - `modes`: kept Fourier modes per axis (length 1, 2 or 3 sets the dimension); see
      :class:`SpectralConv` for the `convention`.
    - `width`: hidden channels ``C`` of the Fourier layers. `n_layers`: number of layers ``L``.
    - `lifting_ratio`, `projection_ratio`: hidden sizes of the lifting/projection MLPs as
      multiples of `width` (default 2, as neuraloperator).
    - `grid`: append the coordinates ``x in [0, 1)^d`` as ``d`` extra input channels.
    - `channel_mlp`: expansion of the per-layer channel MLP (default 0.5; ``None`` for none).
    - `norm`: ``None`` or ``"instance"`` (per-channel normalisation over space, after the
      spectral convolution and after the channel MLP).
    - `padding`: domain padding as a fraction of the resolution per axis (zeros appended at the
      end of each axis; ``round(padding * N)`` points, so it scales with resolution). Use it for
      non-periodic problems (e.g. 0.125 for Darcy).
    - `factorization`: spectral weight parameterisation (``DenseWeights()`` default,
      ``CPWeights(rank)``, ``TuckerWeights(rank)``); `joint`: one factorised tensor for all
      layers instead of one per layer; `implementation`: ``"factorized"`` (default: the
      Fourier coefficients are contracted with the factors directly, the dense weight is
      never formed) or ``"reconstructed"`` (expand the dense weight, then contract); see
      :class:`SpectralConv`.
    - `activation`: pointwise nonlinearity (a ``jax.nn`` function, default ``jax.nn.gelu``,
      the tanh approximation; or :func:`gelu_erf`, the exact GELU neuraloperator uses).
    - `transform`: how the spectral layers transform (see :class:`SpectralConv`).
    - `key`: PRNG key; `dtype`: parameter dtype (float32 default, float64 under x64).

    **Raises:** ``ValueError`` for a bad argument, naming it.
    """

    lifting: ChannelMLP
    convs: tuple[SpectralConv, ...]
    skips: tuple[PointwiseLinear, ...]
    mlps: tuple[ChannelMLP, ...] | None
    gates: tuple[Float[Array, " C"], ...] | None
    joint_weight: eqx.Module | None
    projection: ChannelMLP
    in_channels: int = eqx.field(static=True)
    out_channels: int = eqx.field(static=True)
    modes: tuple[int, ...] = eqx.field(static=True)
    width: int = eqx.field(static=True)
    n_layers: int = eqx.field(static=True)
    grid: bool = eqx.field(static=True)
    norm: str | None = eqx.field(static=True)
    padding: tuple[float, ...] = eqx.field(static=True)
    activation: Callable = eqx.field(static=True)
    implementation: str = eqx.field(static=True)
    config: str = eqx.field(static=True)  # JSON of the constructor arguments

    def __init__(self, in_channels: int, out_channels: int, modes: Sequence[int] | int,
                 width: int = 32, n_layers: int = 4, *, convention: Convention = "pdekit",
                 lifting_ratio: float = 2, projection_ratio: float = 2, grid: bool = True,
                 channel_mlp: float | None = 0.5, norm: str | None = None,
                 padding: float | Sequence[float] = 0.0,
                 factorization: AbstractWeightFactory | None = None, joint: bool = False,
                 implementation: Implementation = "factorized",
                 activation: Callable = jax.nn.gelu, transform: str = "auto",
                 key: PRNGKeyArray, dtype=None):
        self.in_channels = check_positive_int("in_channels", in_channels)
        self.out_channels = check_positive_int("out_channels", out_channels)
        self.width = check_positive_int("width", width)
        self.n_layers = check_positive_int("n_layers", n_layers)
        if isinstance(modes, int):
            modes = (modes,)
        modes = tuple(modes)
        if len(modes) not in (1, 2, 3):
            raise ValueError(f"`modes` must have 1, 2 or 3 entries, got {modes}.")
        self.modes = tuple(check_positive_int("modes", m) for m in modes)
        d = len(modes)
        if norm not in (None, "instance"):
            raise ValueError(f"`norm` must be None or 'instance', got {norm!r}.")
        pad = (padding,) * d if isinstance(padding, (int, float)) else tuple(padding)
        if len(pad) != d:
            raise ValueError(f"`padding` needs one value per spatial axis ({d}), got {padding}.")
        self.padding = tuple(check_finite_scalar("padding", p, nonnegative=True) for p in pad)
        if any(p >= 1 for p in self.padding):
            raise ValueError(f"`padding` is a fraction of the resolution (< 1), got {padding}.")
        for name, r in (("lifting_ratio", lifting_ratio), ("projection_ratio", projection_ratio)):
            check_finite_scalar(name, r, positive=True)
        if channel_mlp is not None:
            check_finite_scalar("channel_mlp", channel_mlp, positive=True)
        factory = DenseWeights() if factorization is None else factorization
        if not isinstance(factory, AbstractWeightFactory):
            raise ValueError("`factorization` must be DenseWeights(), CPWeights(rank) or "
                             f"TuckerWeights(rank), got {factorization!r}.")
        self.implementation = check_implementation(implementation)
        dtype = default_float_dtype(dtype)
        name = getattr(activation, "__name__", "")
        if activation is not jax.nn.gelu and (
                EXTRA_ACTIVATIONS.get(name, getattr(jax.nn, name, None)) is not activation):
            raise ValueError("`activation` must be a function of jax.nn (e.g. jax.nn.gelu) or "
                             "pdekit.operators.gelu_erf, so that the model can be saved and "
                             "rebuilt by name.")
        self.grid, self.norm, self.activation = bool(grid), norm, activation
        config = {
            "model": "FNO", "in_channels": self.in_channels, "out_channels": self.out_channels,
            "modes": list(self.modes), "width": self.width, "n_layers": self.n_layers,
            "convention": convention, "lifting_ratio": float(lifting_ratio),
            "projection_ratio": float(projection_ratio), "grid": self.grid,
            "channel_mlp": None if channel_mlp is None else float(channel_mlp),
            "norm": norm, "padding": list(self.padding),
            "factorization": factory.to_config(), "joint": bool(joint),
            "activation": activation.__name__, "dtype": str(jnp.dtype(dtype)),
            "transform": transform,
        }
        if implementation != "factorized":
            # only when not the default: the weights are the same either way, so checkpoints
            # written before this option existed still match the default's configuration
            config["implementation"] = implementation
        self.config = json.dumps(config, sort_keys=True)
        C = self.width
        keys = jax.random.split(key, 4 * self.n_layers + 4)
        k = iter(keys[:-1])  # keys[-1]: the joint tensor (other weights same as unjointed)
        lift_in = self.in_channels + (d if grid else 0)
        self.lifting = ChannelMLP(lift_in, C, int(lifting_ratio * C), activation=activation,
                                  key=next(k), dtype=dtype)
        self.projection = ChannelMLP(C, self.out_channels, int(projection_ratio * C),
                                     activation=activation, key=next(k), dtype=dtype)
        self.convs = tuple(
            SpectralConv(C, C, modes, convention=convention, factorization=factory,
                         implementation=implementation, external_weight=joint,
                         transform=transform, key=next(k), dtype=dtype)
            for _ in range(self.n_layers))
        self.joint_weight = None
        if joint:
            shape = (self.n_layers, C, C, *weight_mode_shape(modes, convention))
            self.joint_weight = factory.build(shape, key=keys[-1], dtype=dtype,
                                              std=init_std(C, C))
        self.skips = tuple(PointwiseLinear(C, C, bias=False, key=next(k), dtype=dtype)
                           for _ in range(self.n_layers))
        if channel_mlp is None:
            self.mlps, self.gates = None, None
        else:
            hidden = max(1, round(C * channel_mlp))
            self.mlps = tuple(ChannelMLP(C, C, hidden, activation=activation, key=next(k),
                                         dtype=dtype) for _ in range(self.n_layers))
            self.gates = tuple(jnp.ones((C,), dtype) for _ in range(self.n_layers))

    @property
    def ndim(self) -> int:
        return len(self.modes)

    def materialise(self) -> "FNO":
        """The same model with every factorised spectral weight expanded to a dense tensor
        (same outputs; used by ``pdekit.training.fit`` to expand a TFNO's weights once per
        step instead of once per micro-batch). Dense weights, and factorised ones with
        ``implementation="factorized"`` (never expanded), are returned unchanged."""
        if self.implementation == "factorized":
            return self

        def dense(t):
            return t if t is None or isinstance(t, DenseTensor) else DenseTensor(jnp.stack(t()))

        convs = tuple(c if isinstance(c.weight, (DenseTensor, type(None)))
                      else eqx.tree_at(lambda m: m.weight, c, dense(c.weight))
                      for c in self.convs)
        out = eqx.tree_at(lambda m: m.convs, self, convs)
        if self.joint_weight is not None and not isinstance(self.joint_weight, DenseTensor):
            out = eqx.tree_at(lambda m: m.joint_weight, out, dense(self.joint_weight))
        return out

    def _pad_widths(self, spatial):
        return tuple(int(round(p * n)) for p, n in zip(self.padding, spatial))

    def __call__(self, a: Float[Array, " C_in *spatial"]) -> Float[Array, " C_out *spatial"]:
        """Map one input ``(C_in, *spatial)`` to ``(C_out, *spatial)`` at the same resolution.

        For a batch use :meth:`apply_batch` (same numbers, faster) or ``jax.vmap``.
        """
        d = self.ndim
        if a.ndim != d + 1 or a.shape[0] != self.in_channels:
            raise ValueError(
                f"FNO expects one sample of shape ({self.in_channels}, *spatial) with {d} "
                f"spatial axes, got {a.shape}. For batches use `apply_batch` or `jax.vmap`.")
        return self.apply_batch(a[None])[0]

    def apply_batch(self, a: Float[Array, " B C_in *spatial"]
                    ) -> Float[Array, " B C_out *spatial"]:
        """The model on a batch ``(B, C_in, *spatial)`` -> ``(B, C_out, *spatial)``."""
        d = self.ndim
        if a.ndim != d + 2 or a.shape[1] != self.in_channels:
            raise ValueError(f"FNO.apply_batch expects (B, {self.in_channels}, *spatial) with "
                             f"{d} spatial axes, got {a.shape}.")
        b, spatial = a.shape[0], a.shape[2:]
        v = a
        if self.grid:
            g = grid_channels(spatial, a.dtype)
            v = jnp.concatenate([v, jnp.broadcast_to(g, (b, *g.shape))], axis=1)
        v = self.lifting.apply_batch(v)
        pads = self._pad_widths(spatial)
        if any(pads):
            v = jnp.pad(v, [(0, 0), (0, 0)] + [(0, p) for p in pads])
        joint = self.joint_weight
        if (joint is not None and self.implementation == "reconstructed"
                and not isinstance(joint, DenseTensor)):
            joint = DenseTensor(jnp.stack(joint()))  # expand the whole (L, ...) tensor once
        act = self.activation
        for l in range(self.n_layers):
            last = l == self.n_layers - 1
            # one layer of the joint tensor, still factorised (CP/Tucker `layer(l)`)
            w = None if joint is None else joint.layer(l)
            z = self.convs[l].apply_batch(v, weight=w)
            if self.norm == "instance":
                z = _instance_norm(z)
            z = z + self.skips[l].apply_batch(v)
            if not last:
                z = act(z)
            if self.mlps is not None:
                gate = self.gates[l].astype(v.dtype).reshape((1, -1) + (1,) * d)
                z = self.mlps[l].apply_batch(z) + gate * v
                if self.norm == "instance":
                    z = _instance_norm(z)
                if not last:
                    z = act(z)
            v = z
        if any(pads):
            v = v[(slice(None), slice(None)) + tuple(slice(0, n) for n in spatial)]
        return self.projection.apply_batch(v)


def TFNO(in_channels: int, out_channels: int, modes: Sequence[int] | int, width: int = 32,
         n_layers: int = 4, *, factorization: AbstractWeightFactory | None = None,
         joint: bool = False, **kwargs) -> FNO:
    """Tensorised FNO: an :class:`FNO` with factorised spectral weights.

    `factorization` defaults to ``TuckerWeights(0.1)`` (neuraloperator's TFNO default:
    Tucker, rank 0.1); `joint=True` factorises all layers' weights as one tensor
    ``(L, C, C, *modes)`` (the TFNO paper's joint factorisation). Other arguments as
    :class:`FNO`.
    """
    factorization = TuckerWeights(0.1) if factorization is None else factorization
    return FNO(in_channels, out_channels, modes, width, n_layers,
               factorization=factorization, joint=joint, **kwargs)


def count_params(model: eqx.Module) -> int:
    """Number of real trainable parameters (complex weights count twice: real, imaginary).

    Also counts an abstract model from ``eqx.filter_eval_shape`` (nothing allocated).
    """
    def is_float(x):
        return (isinstance(x, jax.ShapeDtypeStruct) and jnp.issubdtype(x.dtype, jnp.inexact)
                ) or eqx.is_inexact_array(x)

    leaves = [x for x in jax.tree_util.tree_leaves(model) if is_float(x)]
    return int(sum(math.prod(x.shape) for x in leaves))
