"""MgNO: neural operator whose linear maps are multigrid V-cycles (He, Liu, Xu, ICLR 2024).

A layer is ``u <- act(V(u) + W u + b)`` with ``V`` one learned V-cycle (3x3 convolution
smoothers per level, stride-2 convolution restriction, stride-2 transposed-convolution
prolongation) and ``W`` a 1x1 linear map. Boundary conditions enter through the padding of
every stencil: zeros (Dirichlet), reflect (Neumann) or circular (periodic).
"""

import functools
import itertools
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
from ._fno import gelu_erf

PADDINGS = ("zeros", "reflect", "circular")
_PAD_MODE = {"reflect": "reflect", "circular": "wrap"}


# "gelu" is torch's nn.GELU default (exact erf), as in the reference code; `gelu_erf`'s
# derivative comes out of the forward pass (an MgNO training step at 64^2: 0.75-0.79 ->
# 0.57-0.60 CPU-s against differentiating jax.nn.gelu(approximate=False))
ACTIVATIONS = {"gelu": gelu_erf, "relu": jax.nn.relu, "tanh": jnp.tanh, "silu": jax.nn.silu,
               "identity": lambda x: x}


# The network runs channels-last (N, *spatial, C) internally: XLA-CPU's convolution kernels
# (YNNPACK/Eigen) work in NHWC, and a channels-first graph spent ~40 % of an MgNO training
# step in the layout transposes XLA put around every convolution (profiled, see
# docs/mgno_deeponet.md). The public `conv` / `conv_transpose` keep the channels-first
# PyTorch convention and weights stay (out, in, *kernel) as in the reference code.
_DIMS = {1: ("NWC", "WIO", "NWC"), 2: ("NHWC", "HWIO", "NHWC")}


def _kio(w):
    # (O, I, *k) -> (*k, I, O)
    d = w.ndim - 2
    return jnp.transpose(w, tuple(range(2, 2 + d)) + (1, 0))


def _pad_cl(x, width: int, padding: str):
    d = x.ndim - 2
    cfg = [(0, 0)] + [(width, width)] * d + [(0, 0)]
    if padding == "zeros":
        return jnp.pad(x, cfg)
    return jnp.pad(x, cfg, mode=_PAD_MODE[padding])


def _lax_conv(x, k, stride: int, pad: int):
    # channels-last x (N, *s, Ci), kernel (*k, Ci, Co), `pad` zeros on every side
    d = x.ndim - 2
    return jax.lax.conv_general_dilated(x, k, (stride,) * d, [(pad, pad)] * d,
                                        dimension_numbers=_DIMS[d])


# the same convolution with the hand-written cotangents below
_conv = jax.custom_vjp(_lax_conv, nondiff_argnums=(2, 3))


def _conv_fwd(x, k, stride, pad):
    return _lax_conv(x, k, stride, pad), (x, k)


def _conv_bwd(stride, pad, res, g):
    # Both cotangents written as *forward* convolutions in the layout XLA-CPU hands to
    # YNNPACK. XLA's own transpose rules compute the same numbers, but inside a while-loop
    # body (a `lax.scan` over micro-batches, as `pdekit.training.fit(microbatch=...)` runs)
    # their convolutions fell back to a generic loop emitter, 10-37x slower (a 3x3 kernel
    # gradient at 64^2, 24 channels: 1.08 s against 31 ms; docs/mgno_deeponet.md).
    x, k = res
    d = x.ndim - 2
    ks, n_in, n_out = k.shape[:d], x.shape[1:-1], g.shape[1:-1]
    span = [(m - 1) * stride + 1 for m in n_out]  # extent of g once stride-dilated
    # input gradient: the stride-dilated g correlated with the flipped, in/out-swapped kernel
    kt = jnp.swapaxes(jnp.flip(k, tuple(range(d))), -1, -2)
    dx = jax.lax.conv_general_dilated(
        g, kt, (1,) * d,
        [(n - 1 - pad, L - sp + pad) for n, L, sp in zip(ks, n_in, span)],
        lhs_dilation=(stride,) * d, dimension_numbers=_DIMS[d])
    # kernel gradient dk[a, i, o] = sum_{n, p} x_pad[n, s p + a, i] g[n, p, o]: a forward
    # convolution with batch i and feature n, x as (Ci, *s, N), g as the kernel (*s, N, Co).
    # (Under jax.vmap it becomes a grouped convolution, slow on CPU: a vmapped MgNO step took
    # 1.52 against 0.87 CPU-s. That is why `MgNO.__call__`, which vmap sees, keeps XLA's rules.)
    xt = jnp.transpose(x, (d + 1,) + tuple(range(1, d + 1)) + (0,))
    gt = jnp.transpose(g, tuple(range(1, d + 1)) + (0, d + 1))
    dk = jax.lax.conv_general_dilated(
        xt, gt, (1,) * d, [(pad, n - 1 - L - pad + sp) for n, L, sp in zip(ks, n_in, span)],
        rhs_dilation=(stride,) * d, dimension_numbers=_DIMS[d])  # (Ci, *k, Co)
    return dx, jnp.transpose(dk, tuple(range(1, d + 1)) + (0, d + 1))


_conv.defvjp(_conv_fwd, _conv_bwd)


def conv_cl(x: Float[Array, " N *s Ci"], w: Float[Array, " Co Ci *k"], *, stride: int = 1,
            padding: str = "zeros", custom_vjp: bool = False) -> Float[Array, " N *s2 Co"]:
    """:func:`conv` on a channels-last batch ``(N, *spatial, C)`` (weights still OIHW).

    `custom_vjp=True`: the same numbers with hand-written cotangents (fast inside
    ``lax.scan`` on CPU, reverse mode only); `False`: JAX's rules (every transformation)."""
    half = w.shape[-1] // 2
    if padding == "zeros":
        pad = half
    else:
        x = _pad_cl(x, half, padding)
        pad = 0
    return (_conv if custom_vjp else _lax_conv)(x, _kio(w), stride, pad)


def conv(x: Float[Array, " N Ci *s"], w: Float[Array, " Co Ci *k"], *, stride: int = 1,
         padding: str = "zeros") -> Float[Array, " N Co *s2"]:
    """Odd-size ("same") convolution of a channels-first batch, boundary by `padding`.

    With `stride=2` the output has ``ceil(n / 2)`` points per axis, output point ``i`` centred
    on input point ``2 i`` (PyTorch ``Conv(kernel, stride=2, padding=kernel // 2)``).
    Weights are ``(out, in, *kernel)`` (OIHW) and the product is a cross-correlation.
    """
    return jnp.moveaxis(conv_cl(jnp.moveaxis(x, 1, -1), w, stride=stride, padding=padding),
                        -1, 1)


def conv_transpose_cl(v: Float[Array, " N *c Ci"], w: Float[Array, " Ci Co *k"],
                      out_spatial: Sequence[int], *, padding: str = "zeros",
                      custom_vjp: bool = False) -> Float[Array, " N *s Co"]:
    """:func:`conv_transpose` on a channels-last batch ``(N, *coarse, C)`` (`custom_vjp` as
    in :func:`conv_cl`)."""
    conv = _conv if custom_vjp else _lax_conv
    d = v.ndim - 2
    n_c = v.shape[1:-1]
    vp = _pad_cl(v, 1, padding)
    phases = []
    for r in itertools.product((0, 1), repeat=d):
        # phase r: fine point 2m + r = sum_t vp[m + r + t] w[3 - r - 2t], t in {0, 1}^d: a
        # 2-tap VALID convolution of the padded coarse field from offset r
        k = w
        for i, ri in enumerate(r):
            k = jnp.take(k, jnp.array([3 - ri, 1 - ri]), axis=2 + i)
        win = jax.lax.slice(vp, (0,) + tuple(r) + (0,),
                            (vp.shape[0],) + tuple(ri + n + 1 for ri, n in zip(r, n_c))
                            + (vp.shape[-1],))
        phases.append(conv(win, jnp.transpose(k, tuple(range(2, 2 + d)) + (0, 1)), 1, 0))
    out = jnp.stack(phases, axis=0)  # (2^d, N, *n_c, Co), phase index r row-major
    n, co = v.shape[0], w.shape[1]
    out = out.reshape((2,) * d + (n,) + tuple(n_c) + (co,))
    # (r_1..r_d, N, m_1..m_d, Co) -> (N, m_1, r_1, ..., m_d, r_d, Co) -> (N, 2 m + r ..., Co)
    perm = (d,) + tuple(x for i in range(d) for x in (d + 1 + i, i)) + (2 * d + 1,)
    out = out.transpose(perm).reshape((n,) + tuple(2 * m for m in n_c) + (co,))
    return out[(slice(None),) + tuple(slice(0, m) for m in out_spatial)]


def conv_transpose(v: Float[Array, " N Ci *c"], w: Float[Array, " Ci Co *k"],
                   out_spatial: Sequence[int], *,
                   padding: str = "zeros") -> Float[Array, " N Co *s"]:
    """Stride-2, kernel-4 transposed convolution (prolongation), cropped to `out_spatial`.

    Equals PyTorch ``ConvTranspose(kernel_size=4, stride=2, padding=1)`` (weights
    ``(in, out, *kernel)``, output ``2 n_c`` per axis) for zero padding, keeping the first
    ``out_spatial`` points; with reflect/circular padding the coarse field is extended by one
    point by that rule first, so contributions that would leave the domain fold back in. For a
    kernel ``[w0, w1, w2, 0]`` it is the exact adjoint of :func:`conv` with kernel
    ``[w0, w1, w2]`` and stride 2 (zero padding; circular when the sizes are even).

    Computed by output phase (sub-pixel form) rather than XLA's lhs-dilated convolution,
    whose gradient was 4x slower on CPU (docs/mgno_deeponet.md): fine point ``2m + r`` only
    sees the coarse points ``m + r + t - 1``, ``t in {0, 1}``, with kernel tap ``3 - r - 2t``:
    each of the ``2^d`` phases is a 2-tap convolution, interleaved afterwards; no zero-dilated
    input.
    """
    out = conv_transpose_cl(jnp.moveaxis(v, 1, -1), w, out_spatial, padding=padding)
    return jnp.moveaxis(out, -1, 1)


def host_rng(key: PRNGKeyArray) -> np.random.Generator:
    """A NumPy generator seeded by a JAX key, for parameter initialisation on the host.

    Eager ``jax.random`` draws compile one XLA program per weight shape (seconds for a small
    network on a CPU); initial weights drawn on the host cost microseconds and are as
    reproducible: the same `key` gives the same weights.
    """
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        key = jax.random.key_data(key)
    return np.random.default_rng(np.asarray(key).astype(np.uint64).ravel().tolist())


def uniform_init(rng: np.random.Generator, specs, dtype) -> list[Array]:
    """PyTorch's default init (kaiming_uniform, a = sqrt(5): ``U(+-1/sqrt(fan_in))``) for
    each ``(shape, fan_in)`` in `specs`."""
    return [jnp.asarray(rng.uniform(-1.0, 1.0, shape) / math.sqrt(fan_in), dtype=dtype)
            for shape, fan_in in specs]


def _per_level(name: str, value: Any, levels: int, minimum: int) -> tuple[int, ...]:
    if isinstance(value, (int,)) and not isinstance(value, bool):
        value = (value,) * levels
    try:
        value = tuple(value)
    except TypeError:
        raise ValueError(f"`{name}` must be an int or a sequence of {levels} ints, "
                         f"got {value!r}.") from None
    if len(value) != levels:
        raise ValueError(f"`{name}` must have one entry per level ({levels}), got {value!r}.")
    return tuple(check_positive_int(f"{name}[{i}]", v, minimum=minimum)
                 for i, v in enumerate(value))


class VCycle(eqx.Module):
    r"""One multigrid V-cycle used as a learned linear operator ``f -> u`` (an MgNO "MgConv").

    With smoothers ``S`` (``C_f -> C_u``) and operators ``A`` (``C_u -> C_f``), all 3x3
    stencils, level ``l`` runs ``u <- u + S(f - A u)`` (the first step at the finest level is
    ``u = S f``); going down, ``f <- R(f)`` (or ``R(f - A u)`` in residual form) and
    ``u <- \Pi u`` with stride-2 convolutions ``R``, ``\Pi``; going up, ``u_l <- u_l +
    P u_{l+1}`` with a stride-2 transposed convolution ``P`` then the post-smoothing steps.
    This is the reference implementation's structure (``MgConv_DC``), without its
    resolution-tied normalisation.

    **Arguments:**
    - `in_channels` (``C_f``), `out_channels` (``C_u``): channels of ``f`` and ``u``.
    - `levels`: grid levels (1 = no coarsening: a sequence of smoothing steps).
    - `pre_smooth`, `post_smooth`: smoothing steps per level (an int for all levels or one per
      level, finest first); `pre_smooth[0] >= 1`.
    - `padding`: `"zeros"` (Dirichlet), `"reflect"` (Neumann) or `"circular"` (periodic).
    - `residual`: restrict the residual ``f - A u`` instead of ``f`` (one more ``A`` per level).
    - `num_spatial_dims`: 1 or 2. `dtype`: parameter dtype. `key`: PRNG key.

    Call on one sample ``f`` of shape ``(C_f, *spatial)``; returns ``(C_u, *spatial)``.
    """

    smoothers: tuple[tuple[Array, ...], ...]
    post_smoothers: tuple[tuple[Array, ...], ...]
    restrict_u: tuple[Array, ...]
    restrict_f: tuple[Array, ...]
    residual_ops: tuple[Array, ...]
    prolong: tuple[Array, ...]
    in_channels: int = eqx.field(static=True)
    out_channels: int = eqx.field(static=True)
    pre_smooth: tuple[int, ...] = eqx.field(static=True)
    post_smooth: tuple[int, ...] = eqx.field(static=True)
    padding: str = eqx.field(static=True)
    residual: bool = eqx.field(static=True)
    num_spatial_dims: int = eqx.field(static=True)

    def __init__(self, in_channels: int, out_channels: int, *, levels: int = 6,
                 pre_smooth: int | Sequence[int] = 1, post_smooth: int | Sequence[int] = 0,
                 padding: str = "zeros", residual: bool = False, num_spatial_dims: int = 2,
                 dtype: Any = None, key: PRNGKeyArray):
        cf = check_positive_int("in_channels", in_channels)
        cu = check_positive_int("out_channels", out_channels)
        levels = check_positive_int("levels", levels)
        pre = _per_level("pre_smooth", pre_smooth, levels, 0)
        post = _per_level("post_smooth", post_smooth, levels, 0)
        if pre[0] < 1:
            raise ValueError(f"`pre_smooth[0]` must be >= 1 (the finest level starts with "
                             f"u = S f), got {pre[0]}.")
        if padding not in PADDINGS:
            raise ValueError(f"`padding` must be one of {PADDINGS}, got {padding!r}.")
        if num_spatial_dims not in (1, 2):
            raise ValueError(f"`num_spatial_dims` must be 1 or 2, got {num_spatial_dims!r}.")
        dtype = default_float_dtype(dtype)
        d = num_spatial_dims
        k3, k4 = (3,) * d, (4,) * d
        specs: list[tuple[tuple[int, ...], int]] = []

        def stencil(co, ci):  # record a 3x3 stencil; its index into `specs`
            specs.append(((co, ci) + k3, ci * 3**d))
            return len(specs) - 1

        def step(first):
            s = stencil(cu, cf)
            return (s,) if first else (s, stencil(cf, cu))

        smoothers = tuple(
            tuple(step(l == 0 and i == 0) for i in range(pre[l])) for l in range(levels))
        post_smoothers = tuple(
            tuple(step(False) for _ in range(post[l])) for l in range(levels))
        restrict_u = tuple(stencil(cu, cu) for _ in range(levels - 1))
        restrict_f = tuple(stencil(cf, cf) for _ in range(levels - 1))
        residual_ops = tuple(stencil(cf, cu) for _ in range(levels - 1)) if residual else ()
        prolong = []
        for _ in range(levels - 1):
            # torch ConvTranspose weight (in, out, *k); its fan-in is computed from dim 1.
            specs.append(((cu, cu) + k4, cu * 4**d))
            prolong.append(len(specs) - 1)
        w = uniform_init(host_rng(key), specs, dtype)

        def pick(idx):
            return tuple(pick(i) for i in idx) if isinstance(idx, tuple) else w[idx]

        self.smoothers, self.post_smoothers = pick(smoothers), pick(post_smoothers)
        self.restrict_u, self.restrict_f = pick(restrict_u), pick(restrict_f)
        self.residual_ops, self.prolong = pick(residual_ops), pick(tuple(prolong))
        self.in_channels, self.out_channels = cf, cu
        self.pre_smooth, self.post_smooth = pre, post
        self.padding, self.residual, self.num_spatial_dims = padding, bool(residual), d

    @property
    def levels(self) -> int:
        return len(self.pre_smooth)

    def grid_sizes(self, spatial: Sequence[int]) -> list[tuple[int, ...]]:
        """Grid shape at each level for a finest grid `spatial` (``ceil`` halving)."""
        sizes = [tuple(spatial)]
        for _ in range(self.levels - 1):
            sizes.append(tuple(-(-n // 2) for n in sizes[-1]))
        return sizes

    def check_spatial(self, spatial: Sequence[int]) -> None:
        """Raise `ValueError` if the grid `spatial` cannot carry this V-cycle."""
        spatial = tuple(spatial)
        if len(spatial) != self.num_spatial_dims:
            raise ValueError(f"expected {self.num_spatial_dims} spatial axes, got shape "
                             f"{spatial}.")
        sizes = self.grid_sizes(spatial)
        if self.padding == "circular" and any(n % 2**(self.levels - 1) for n in spatial):
            raise ValueError(f"circular padding with {self.levels} levels needs every spatial "
                             f"size divisible by {2**(self.levels - 1)}, got {spatial}; use "
                             "fewer `levels` or resample the data.")
        if self.padding == "reflect" and min(sizes[-1]) < 2:
            raise ValueError(f"reflect padding needs >= 2 points per axis on the coarsest grid, "
                             f"got {sizes[-1]} for input {spatial} with {self.levels} levels; "
                             "use fewer `levels`.")

    def apply(self, f: Float[Array, " N Cf *s"], *,
              custom_vjp: bool = True) -> Float[Array, " N Cu *s"]:
        """The V-cycle on a batch ``(N, C_f, *spatial)`` (the vmap-free core; `custom_vjp`:
        see :meth:`MgNO.apply`)."""
        out = self.apply_channels_last(jnp.moveaxis(f, 1, -1), custom_vjp=custom_vjp)
        return jnp.moveaxis(out, -1, 1)

    def apply_channels_last(self, f: Float[Array, " N *s Cf"], *,
                            custom_vjp: bool = True) -> Float[Array, " N *s Cu"]:
        """The V-cycle on a channels-last batch ``(N, *spatial, C_f)``."""
        pad = self.padding
        conv = functools.partial(conv_cl, custom_vjp=custom_vjp)
        conv_transpose = functools.partial(conv_transpose_cl, custom_vjp=custom_vjp)

        def smooth(u, f, s_a):
            if len(s_a) == 1:
                return conv(f, s_a[0], padding=pad)
            s, a = s_a
            return u + conv(f - conv(u, a, padding=pad), s, padding=pad)

        us, fs, u = [], [], None
        for l in range(self.levels):
            if l > 0:
                r = f - conv(u, self.residual_ops[l - 1], padding=pad) if self.residual else f
                f = conv(r, self.restrict_f[l - 1], stride=2, padding=pad)
                u = conv(u, self.restrict_u[l - 1], stride=2, padding=pad)
            for s_a in self.smoothers[l]:
                u = smooth(u, f, s_a)
            us.append(u)
            fs.append(f)
        u = us[-1]
        for s_a in self.post_smoothers[-1]:
            u = smooth(u, fs[-1], s_a)
        for l in range(self.levels - 2, -1, -1):
            u = us[l] + conv_transpose(u, self.prolong[l], us[l].shape[1:-1], padding=pad)
            for s_a in self.post_smoothers[l]:
                u = smooth(u, fs[l], s_a)
        return u

    def __call__(self, f: Float[Array, " Cf *s"]) -> Float[Array, " Cu *s"]:
        if f.ndim != self.num_spatial_dims + 1 or f.shape[0] != self.in_channels:
            raise ValueError(f"VCycle expects one sample of shape ({self.in_channels}, "
                             f"*spatial) with {self.num_spatial_dims} spatial axes, got "
                             f"{f.shape}. For batches use `jax.vmap`.")
        self.check_spatial(f.shape[1:])
        return self.apply(f[None], custom_vjp=False)[0]


class MgNO(eqx.Module):
    r"""Multigrid neural operator: ``u_{k+1} = act(V_k u_k + W_k u_k + b_k)``, then a 1x1 head.

    Each ``V_k`` is a :class:`VCycle` (the paper's bounded linear operator between neurons,
    parameterised by multigrid), ``W_k, b_k`` a 1x1 linear map with bias; the first layer maps
    the input channels straight to `width` (no lifting network) and the output is
    ``Q u_L`` with a bias-free 1x1 map ``Q`` (no projection network). No normalisation layer:
    the same weights apply at every resolution (the stencils are per-grid-point, as in a CNN,
    so the learned operator changes with the grid spacing; see docs/mgno_deeponet.md).

    **Arguments:**
    - `in_channels`, `out_channels`: channels of the input and output fields.
    - `width`: hidden channels ``C_u`` (default 24). `num_layers`: MgNO layers (default 4).
    - `levels`, `pre_smooth`, `post_smooth`, `padding`, `residual`: the V-cycles' set-up
      (see :class:`VCycle`; defaults: 6 levels, 1 pre-smoothing step, 0 post, zero padding).
    - `activation`: `"gelu"` (exact, as PyTorch's default), `"relu"`, `"tanh"`, `"silu"`.
    - `num_spatial_dims`: 1 or 2. `dtype`: parameter dtype (default float32, float64 under
      x64). `key`: PRNG key.

    **Call:** ``model(x)`` with one sample ``x`` of shape ``(in_channels, *spatial)`` returns
    ``(out_channels, *spatial)``; batch with :meth:`apply_batch` (what
    ``pdekit.training.fit`` uses) or ``jax.vmap``: the same numbers. ``apply_batch``'s
    gradients are hand-written (fast inside ``lax.scan`` on CPU; reverse mode only),
    ``model(x)``'s are JAX's own (every transformation, forward mode included).

    **Raises:** `ValueError` for a bad argument (named), or at trace time for an input whose
    shape the V-cycle cannot coarsen (circular padding needs sizes divisible by
    ``2**(levels-1)``).

    Reference: He, Liu, Xu, "MgNO: Efficient parameterization of linear operators via
    multigrid", ICLR 2024, https://openreview.net/forum?id=0ZsEfOq5LC.
    """

    vcycles: tuple[VCycle, ...]
    linear_w: tuple[Array, ...]
    linear_b: tuple[Array, ...]
    head: Float[Array, " Cout C"]
    in_channels: int = eqx.field(static=True)
    out_channels: int = eqx.field(static=True)
    activation: str = eqx.field(static=True)
    num_spatial_dims: int = eqx.field(static=True)
    config: str = eqx.field(static=True)  # JSON of the constructor arguments (checkpoints)

    def __init__(self, in_channels: int, out_channels: int, *, width: int = 24,
                 num_layers: int = 4, levels: int = 6, pre_smooth: int | Sequence[int] = 1,
                 post_smooth: int | Sequence[int] = 0, padding: str = "zeros",
                 residual: bool = False, activation: str = "gelu", num_spatial_dims: int = 2,
                 dtype: Any = None, key: PRNGKeyArray):
        cin = check_positive_int("in_channels", in_channels)
        cout = check_positive_int("out_channels", out_channels)
        width = check_positive_int("width", width)
        num_layers = check_positive_int("num_layers", num_layers)
        if activation not in ACTIVATIONS:
            raise ValueError(f"`activation` must be one of {tuple(ACTIVATIONS)}, got "
                             f"{activation!r}.")
        dtype = default_float_dtype(dtype)
        kv, kw = jax.random.split(key)
        chans = [cin] + [width] * (num_layers - 1)
        self.vcycles = tuple(
            VCycle(c, width, levels=levels, pre_smooth=pre_smooth, post_smooth=post_smooth,
                   padding=padding, residual=residual, num_spatial_dims=num_spatial_dims,
                   dtype=dtype, key=k)
            for c, k in zip(chans, jax.random.split(kv, num_layers)))
        specs = ([((width, c), c) for c in chans] + [((width,), c) for c in chans]
                 + [((cout, width), width)])
        lin = uniform_init(host_rng(kw), specs, dtype)
        self.linear_w = tuple(lin[:num_layers])
        self.linear_b = tuple(lin[num_layers:2 * num_layers])
        self.head = lin[-1]
        self.in_channels, self.out_channels = cin, cout
        self.activation, self.num_spatial_dims = activation, num_spatial_dims
        vc = self.vcycles[0]
        self.config = json.dumps({
            "model": "MgNO", "in_channels": cin, "out_channels": cout, "width": width,
            "num_layers": num_layers, "levels": vc.levels, "pre_smooth": list(vc.pre_smooth),
            "post_smooth": list(vc.post_smooth), "padding": padding, "residual": bool(residual),
            "activation": activation, "num_spatial_dims": num_spatial_dims,
            "dtype": jnp.dtype(dtype).name})

    @classmethod
    def darcy_reference(cls, in_channels: int = 1, out_channels: int = 1, *,
                        padding: str = "zeros", dtype: Any = None,
                        key: PRNGKeyArray) -> "MgNO":
        """The reference Darcy configuration (``MgNO_DC``: 4 layers, 24 channels, 6 levels,
        one pre-smoothing step per level and two on the coarsest): 572,661 parameters."""
        return cls(in_channels, out_channels, width=24, num_layers=4, levels=6,
                   pre_smooth=(1, 1, 1, 1, 1, 2), post_smooth=0, padding=padding,
                   activation="gelu", dtype=dtype, key=key)

    @property
    def dtype(self):
        return self.head.dtype

    def apply(self, x: Float[Array, " N Cin *s"], *,
              custom_vjp: bool = True) -> Float[Array, " N Cout *s"]:
        """The network on a batch ``(N, C, *spatial)`` (what ``vmap(model)`` computes).

        `custom_vjp=True`: the convolutions' cotangents are hand-written forward
        convolutions, which XLA:CPU keeps fast inside ``lax.scan`` (``fit``'s micro-batches);
        reverse mode only. `False`: JAX's own rules, for every transformation (what
        ``model(x)`` uses, so ``jax.vmap(model)``, ``jax.jvp`` and ``jacfwd`` work)."""
        act = ACTIVATIONS[self.activation]
        u = jnp.moveaxis(x.astype(self.dtype), 1, -1)  # channels-last inside (see conv_cl)
        lead = (None,) * (self.num_spatial_dims + 1)
        for vc, w, b in zip(self.vcycles, self.linear_w, self.linear_b):
            lin = jnp.einsum("oc,n...c->n...o", w, u) + b[lead]
            u = act(vc.apply_channels_last(u, custom_vjp=custom_vjp) + lin)
        return jnp.moveaxis(jnp.einsum("oc,n...c->n...o", self.head, u), -1, 1)

    def apply_batch(self, x: Float[Array, " N Cin *s"]) -> Float[Array, " N Cout *s"]:
        """The network on a batch ``(N, in_channels, *spatial)``: the same numbers as
        ``jax.vmap(model)(x)``, without the vmap, with the custom-VJP convolutions of
        :meth:`apply` (``pdekit.training.fit`` calls this; reverse mode only).

        **Raises:** `ValueError` at trace time for a wrong shape (see :meth:`__call__`).
        """
        if x.ndim != self.num_spatial_dims + 2 or x.shape[1] != self.in_channels:
            raise ValueError(f"MgNO.apply_batch expects a batch of shape (N, "
                             f"{self.in_channels}, *spatial) with {self.num_spatial_dims} "
                             f"spatial axes, got {x.shape}.")
        self.vcycles[0].check_spatial(x.shape[2:])
        return self.apply(x)

    def __call__(self, x: Float[Array, " Cin *s"]) -> Float[Array, " Cout *s"]:
        if x.ndim != self.num_spatial_dims + 1 or x.shape[0] != self.in_channels:
            raise ValueError(f"MgNO expects one sample of shape ({self.in_channels}, *spatial) "
                             f"with {self.num_spatial_dims} spatial axes, got {x.shape}. For "
                             "batches use `apply_batch` or `jax.vmap`.")
        self.vcycles[0].check_spatial(x.shape[1:])
        # JAX's own convolution rules: a custom VJP would become a grouped convolution
        # under jax.vmap(model) (docs/mgno_deeponet.md), and forward mode keeps working
        return self.apply(x[None], custom_vjp=False)[0]


def mgno_from_config(config: dict, *, key: PRNGKeyArray) -> MgNO:
    """An :class:`MgNO` of the configuration ``json.loads(model.config)`` (new weights)."""
    c = {k: v for k, v in config.items() if k != "model"}
    return MgNO(c.pop("in_channels"), c.pop("out_channels"), key=key, **c)


def count_params(model: Any) -> int:
    """Number of scalar entries in the inexact-array leaves of `model`."""
    return sum(int(a.size) for a in jax.tree_util.tree_leaves(eqx.filter(model,
                                                                          eqx.is_inexact_array)))
