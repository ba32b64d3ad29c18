"""Spectral convolution over a truncated real FFT (the Fourier layer of FNO/TFNO).

Mode convention
---------------
For ``d`` spatial axes the layer applies a learned complex multiplier ``W(k)`` to the Fourier
coefficients ``c_k = (1/N) sum_x u(x) exp(-i k.x)`` of its input (``norm="forward"``: the
coefficients, hence the layer, do not depend on the resolution ``N``) and returns
``y(x) = sum_k W(k) c_k exp(i k.x)`` over the kept frequencies, as a real field (the Hermitian
half is implied by ``irfftn``).

* ``convention="pdekit"`` (default): ``modes=(m_1, ..., m_d)`` keeps every frequency with
  ``|k_i| < m_i``: ``2 m_i - 1`` frequencies on each leading axis (``0..m_i-1`` and
  ``-(m_i-1)..-1``) and ``m_d`` on the last (rfft) axis (``0..m_d-1``). The set is symmetric,
  so a 1D ``modes=16`` keeps rfft modes 0..15 (as in the original FNO code).
* ``convention="neuraloperator"``: ``modes=(n_1, ..., n_d)`` counts the full spectrum, as
  neuraloperator's ``n_modes`` does: ``n_i`` centred frequencies on each leading axis
  (``-ceil(n_i/2) .. n_i - ceil(n_i/2) - 1``, e.g. -8..7 for 16) and ``n_d // 2 + 1`` on the
  last axis (0..8 for 16), giving neuraloperator's weight shapes ``(C_in, C_out, 16, 9)``.

Weights are indexed in FFT order on each leading axis: index ``j < n_pos`` is frequency ``j``,
index ``j >= n_pos`` is frequency ``j - n_pos - n_neg`` (neuraloperator stores the same numbers
in fftshifted order). Complex weights are stored as a leading real/imaginary axis of size 2, so
optimisers only ever see real leaves.
"""

import math
from collections.abc import Sequence
from typing import Literal

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from .._misc import check_positive_int, default_float_dtype
from ._factorisation import AbstractWeightFactory, DenseTensor, DenseWeights

Convention = Literal["pdekit", "neuraloperator"]
Implementation = Literal["factorized", "reconstructed"]
IMPLEMENTATIONS = ("factorized", "reconstructed")
# "auto" transform: DFT matmuls up to this many grid points per sample (measured on CPU: 64x64
# forward+backward 1.7x faster than the truncated FFT; see docs/operators.md), FFTs beyond
DFT_MAX_POINTS = 128 * 128


def kept_modes(modes: Sequence[int], convention: Convention = "pdekit"
               ) -> tuple[tuple[int, int], ...]:
    """Per-axis ``(n_pos, n_neg)``: frequencies ``0..n_pos-1`` and ``-n_neg..-1`` are kept.

    The last axis (rfft) always has ``n_neg = 0``.

    **Arguments:** `modes`: one positive int per spatial axis; `convention`: ``"pdekit"`` or
    ``"neuraloperator"`` (see the module docstring).

    **Raises:** ``ValueError`` for an unknown convention or a non-positive mode count.
    """
    if convention not in ("pdekit", "neuraloperator"):
        raise ValueError(
            f"`convention` must be 'pdekit' or 'neuraloperator', got {convention!r}.")
    modes = tuple(check_positive_int("modes", m) for m in modes)
    if not modes:
        raise ValueError("`modes` must name at least one spatial axis.")
    out = []
    for i, m in enumerate(modes):
        last = i == len(modes) - 1
        if convention == "pdekit":
            out.append((m, 0) if last else (m, m - 1))
        else:
            if last:
                out.append((m // 2 + 1, 0))
            else:
                n_neg = (m + 1) // 2
                out.append((m - n_neg, n_neg))
    return tuple(out)


def weight_mode_shape(modes: Sequence[int], convention: Convention = "pdekit") -> tuple[int, ...]:
    """Shape of the frequency part of the spectral weight, ``(n_pos + n_neg, ...)``."""
    return tuple(p + n for p, n in kept_modes(modes, convention))


def _check_resolution(spatial: Sequence[int], kept) -> None:
    for i, (n, (p, q)) in enumerate(zip(spatial, kept)):
        last = i == len(kept) - 1
        if (n // 2 + 1 < p) if last else (n < p + q):
            need = 2 * (p - 1) if last else p + q
            raise ValueError(
                f"Input resolution {tuple(spatial)} is too coarse for the spectral layer: axis "
                f"{i} keeps {p + q} frequencies and needs at least {max(need, 1)} points.")


def truncated_rfftn(u: Float[Array, " C *spatial"], kept) -> Array:
    """Fourier coefficients ``(1/N) sum u e^{-ik.x}`` of the kept frequencies only.

    Transforms the last axis first (rfft, then keep ``n_pos`` columns), so every further FFT
    runs on the truncated array only: cheaper than slicing a full ``rfftn``.
    """
    d = len(kept)
    c = jnp.fft.rfft(u, axis=-1, norm="forward")[..., : kept[-1][0]]
    for ax in range(d - 1):
        axis = u.ndim - d + ax
        c = jnp.fft.fft(c, axis=axis, norm="forward")
        p, q = kept[ax]
        n = c.shape[axis]
        if p + q < n:
            pos = jax.lax.slice_in_dim(c, 0, p, axis=axis)
            neg = jax.lax.slice_in_dim(c, n - q, n, axis=axis)
            c = jnp.concatenate([pos, neg], axis=axis) if q else pos
    return c


def truncated_irfftn(c: Array, kept, spatial: Sequence[int]) -> Array:
    """Inverse of :func:`truncated_rfftn`: zero-fill the dropped frequencies, ``irfftn``."""
    d = len(kept)
    for ax in range(d - 1):
        axis = c.ndim - d + ax
        p, q = kept[ax]
        n = spatial[ax]
        if p + q < n:
            pos = jax.lax.slice_in_dim(c, 0, p, axis=axis)
            neg = jax.lax.slice_in_dim(c, p, p + q, axis=axis)
            zshape = list(c.shape)
            zshape[axis] = n - p - q
            c = jnp.concatenate([pos, jnp.zeros(zshape, c.dtype), neg], axis=axis)
        c = jnp.fft.ifft(c, axis=axis, norm="forward")
    return jnp.fft.irfft(c, n=spatial[-1], axis=-1, norm="forward")


def _freqs(p: int, q: int) -> np.ndarray:
    return np.concatenate([np.arange(p), np.arange(-q, 0)]).astype(np.float64)


def batched_left_matmul(mat: Array, z: Array, axis: int) -> Array:
    """``mat (k, n)`` applied along `axis` (length n) of `z`, as one canonical batched GEMM
    ``(P, k, n) @ (P, n, R)`` (XLA:CPU otherwise transposes `z` around a plain dot)."""
    shape = z.shape
    p, r = math.prod(shape[:axis]), math.prod(shape[axis + 1:])
    zz = z.reshape(p, shape[axis], r)
    out = jnp.einsum("pkn,pnr->pkr", jnp.broadcast_to(mat, (p, *mat.shape)), zz)
    return out.reshape(*shape[:axis], mat.shape[0], *shape[axis + 1:])


def _complex_axis(z, axis, mat):
    """Apply a complex matrix ``mat (k, n)`` along `axis` of ``z = [re | im]`` (halves on the
    last axis), with one real matmul against ``[Re mat; Im mat]``."""
    k = mat.shape[0]
    stacked = np.concatenate([mat.real, mat.imag], axis=0)  # (2k, n)
    y = batched_left_matmul(jnp.asarray(stacked, z.dtype), z, axis)
    m = z.shape[-1] // 2
    er = jax.lax.slice_in_dim(y, 0, k, axis=axis)
    ei = jax.lax.slice_in_dim(y, k, 2 * k, axis=axis)
    re = er[..., :m] - ei[..., m:]
    im = er[..., m:] + ei[..., :m]
    return jnp.concatenate([re, im], axis=-1)


def dft_forward(u: Array, kept) -> Array:
    """Same coefficients as :func:`truncated_rfftn` by matrix products with the truncated DFT
    matrices, returned as ``[re | im]`` halves on the last axis (real arithmetic only).

    For the small grids and mode counts of FNOs, matmuls (and their matmul adjoints) run
    faster on CPU than FFTs of the whole grid, and they never touch the dropped modes.
    """
    d = len(kept)
    n = u.shape[-1]
    x = np.arange(n) / n
    k = _freqs(*kept[-1])
    ang = 2 * np.pi * np.outer(x, k)
    mat = np.concatenate([np.cos(ang), -np.sin(ang)], axis=1) / n  # (n, 2m)
    z = u @ jnp.asarray(mat, u.dtype)
    for ax in range(d - 1):
        axis = u.ndim - d + ax
        n = u.shape[axis]
        e = np.exp(-2j * np.pi * np.outer(_freqs(*kept[ax]), np.arange(n) / n)) / n
        z = _complex_axis(z, axis, e)
    return z


def dft_inverse(z: Array, kept, spatial: Sequence[int]) -> Array:
    """Inverse of :func:`dft_forward` (as :func:`truncated_irfftn`: zero dropped modes)."""
    d = len(kept)
    for ax in range(d - 1):
        axis = z.ndim - d + ax
        n = spatial[ax]
        e = np.exp(2j * np.pi * np.outer(np.arange(n) / n, _freqs(*kept[ax])))
        z = _complex_axis(z, axis, e)
    n = spatial[-1]
    k = _freqs(*kept[-1])
    h = np.where((k == 0) | (2 * k == n), 1.0, 2.0)[:, None]  # Hermitian half-spectrum weights
    ang = 2 * np.pi * np.outer(k, np.arange(n) / n)
    mat = np.concatenate([h * np.cos(ang), -h * np.sin(ang)], axis=0)  # (2m, n)
    return z @ jnp.asarray(mat, z.dtype)


def check_implementation(implementation) -> str:
    """`implementation` if it is ``"factorized"`` or ``"reconstructed"``, else ``ValueError``."""
    if implementation not in IMPLEMENTATIONS:
        raise ValueError("`implementation` must be 'factorized' or 'reconstructed', got "
                         f"{implementation!r}.")
    return implementation


def init_std(in_channels: int, out_channels: int) -> float:
    """Standard deviation of the initial complex weights, ``sqrt(2 / (C_in + C_out))``."""
    return math.sqrt(2.0 / (in_channels + out_channels))


class SpectralConv(eqx.Module):
    """Fourier layer ``u -> F^{-1}[W(k) F[u](k)] + b`` with truncated modes (one sample).

    ``W(k)`` is a complex ``(C_in, C_out)`` matrix per kept frequency; see the module docstring
    for which frequencies are kept. The layer is resolution independent: the same weights act
    on any grid with enough points, and on a band-limited input the output at two resolutions
    is the same function sampled twice.

    **Arguments:**
    - `in_channels`, `out_channels`: channel counts ``C_in``, ``C_out``.
    - `modes`: kept modes per spatial axis (tuple of length 1, 2 or 3; sets the dimension).
    - `convention`: ``"pdekit"`` (default) or ``"neuraloperator"`` (its ``n_modes`` counting).
    - `factorization`: a weight factory (:class:`DenseWeights` default, :class:`CPWeights`,
      :class:`TuckerWeights`); ignored when `weight` is given.
    - `implementation`: how a factorised (CP/Tucker) weight meets the Fourier coefficients:
      ``"factorized"`` (default) contracts the coefficients with the factors directly, so the
      dense weight and its gradient are never formed; ``"reconstructed"`` expands the dense
      weight first. Same numbers up to rounding; dense weights ignore it.
    - `external_weight`: hold no weight; the caller passes ``weight=`` at each call (TFNO's
      joint factorisation: one factorised tensor for all layers, sliced per layer).
    - `bias`: add a learned per-channel bias (default ``True``, as neuraloperator does;
      initialised at zero, or as neuraloperator does, ``init_std * N(0, 1)``, with
      ``convention="neuraloperator"``).
    - `transform`: ``"fft"`` (truncated ``rfftn``), ``"dft"`` (matrix products with the
      truncated DFT matrices: faster on CPU for small grids) or ``"auto"`` (default: dft up to
      ``DFT_MAX_POINTS`` grid points, else fft). Both compute the same numbers.
    - `key`: PRNG key. `dtype`: real dtype of the parameters (default float32, float64 under x64).

    **Raises:** ``ValueError`` for bad channel counts or modes, naming the argument.
    """

    weight: eqx.Module | None
    bias: Float[Array, " C_out"] | None
    in_channels: int = eqx.field(static=True)
    out_channels: int = eqx.field(static=True)
    modes: tuple[int, ...] = eqx.field(static=True)
    kept: tuple[tuple[int, int], ...] = eqx.field(static=True)
    convention: str = eqx.field(static=True)
    transform: str = eqx.field(static=True)
    implementation: str = eqx.field(static=True)

    def __init__(self, in_channels: int, out_channels: int, modes: Sequence[int] | int, *,
                 convention: Convention = "pdekit",
                 factorization: AbstractWeightFactory | None = None,
                 implementation: Implementation = "factorized",
                 external_weight: bool = False, bias: bool = True, transform: str = "auto",
                 key: PRNGKeyArray, dtype=None):
        self.in_channels = check_positive_int("in_channels", in_channels)
        self.out_channels = check_positive_int("out_channels", out_channels)
        if isinstance(modes, int):
            modes = (modes,)
        if len(modes) not in (1, 2, 3):
            raise ValueError(f"`modes` must have 1, 2 or 3 entries, got {tuple(modes)}.")
        self.kept = kept_modes(modes, convention)
        self.modes = tuple(int(m) for m in modes)
        self.convention = convention
        if transform not in ("auto", "fft", "dft"):
            raise ValueError(f"`transform` must be 'auto', 'fft' or 'dft', got {transform!r}.")
        self.transform = transform
        self.implementation = check_implementation(implementation)
        dtype = default_float_dtype(dtype)
        shape = (self.in_channels, self.out_channels, *weight_mode_shape(modes, convention))
        wkey = key
        self.weight = None
        if not external_weight:
            factory = DenseWeights() if factorization is None else factorization
            if not isinstance(factory, AbstractWeightFactory):
                raise ValueError("`factorization` must be DenseWeights(), CPWeights(rank) or "
                                 f"TuckerWeights(rank), got {factorization!r}.")
            self.weight = factory.build(shape, key=wkey, dtype=dtype, std=init_std(
                self.in_channels, self.out_channels))
        self.bias = None
        if bias:
            # neuraloperator draws the bias as init_std * N(0, 1); the pdekit convention starts
            # it at zero (either way the weights above are drawn from `key` unchanged)
            std = init_std(self.in_channels, self.out_channels)
            self.bias = (std * jax.random.normal(jax.random.fold_in(key, 1),
                                                 (self.out_channels,), dtype)
                         if convention == "neuraloperator"
                         else jnp.zeros((self.out_channels,), dtype))

    @property
    def ndim(self) -> int:
        return len(self.modes)

    @property
    def weight_shape(self) -> tuple[int, ...]:
        """``(C_in, C_out, *mode_shape)``: the shape of the complex weight ``W``."""
        return (self.in_channels, self.out_channels,
                *weight_mode_shape(self.modes, self.convention))

    def __call__(self, u: Float[Array, " C_in *spatial"], *,
                 weight: "tuple[Array, Array] | eqx.Module | None" = None
                 ) -> Float[Array, " C_out *spatial"]:
        """Apply the layer to one sample ``(C_in, *spatial)`` (see :meth:`apply_batch`).

        `weight` (only with ``external_weight=True``): ``(re, im)`` of shape
        ``weight_shape``, or a weight Module of that shape (``DenseTensor``, ``CPTensor``,
        ``TuckerTensor``), contracted as `implementation` says.
        """
        d = self.ndim
        if u.ndim != d + 1 or u.shape[0] != self.in_channels:
            raise ValueError(
                f"SpectralConv expects one sample of shape ({self.in_channels}, *spatial) with "
                f"{d} spatial axes, got {u.shape}. For batches use `jax.vmap` or "
                "`apply_batch`.")
        return self.apply_batch(u[None], weight=weight)[0]

    def apply_batch(self, u: Float[Array, " B C_in *spatial"], *,
                    weight: "tuple[Array, Array] | eqx.Module | None" = None
                    ) -> Float[Array, " B C_out *spatial"]:
        """The layer on a batch ``(B, C_in, *spatial)``: same numbers as ``jax.vmap``, with the
        matmuls written batched (faster on CPU than what vmap produces)."""
        d = self.ndim
        if u.ndim != d + 2 or u.shape[1] != self.in_channels:
            raise ValueError(f"SpectralConv.apply_batch expects (B, {self.in_channels}, "
                             f"*spatial) with {d} spatial axes, got {u.shape}.")
        spatial = u.shape[2:]
        _check_resolution(spatial, self.kept)
        if (weight is None) == (self.weight is None):
            raise ValueError("Pass `weight=` exactly when the layer was built with "
                             "`external_weight=True`.")
        use_dft = self.transform == "dft" or (
            self.transform == "auto" and math.prod(spatial) <= DFT_MAX_POINTS)
        if use_dft:
            z = dft_forward(u, self.kept)
            m = z.shape[-1] // 2
            c = jax.lax.complex(z[..., :m], z[..., m:])
        else:
            c = truncated_rfftn(u, self.kept)
        w = self.weight if weight is None else weight
        if isinstance(w, tuple):
            w = DenseTensor(jnp.stack(w))
        elif self.implementation == "reconstructed" and not isinstance(w, DenseTensor):
            w = DenseTensor(jnp.stack(w()))
        # Channel mixing per frequency: one einsum (a batched matmul over the kept modes; the
        # same contraction as a 1x1 convolution was several times slower on CPU), or for a
        # factorised weight one contraction with its factors (see `implementation`).
        out = w.mix(c)
        if use_dft:
            y = dft_inverse(jnp.concatenate([out.real, out.imag], axis=-1), self.kept, spatial)
        else:
            y = truncated_irfftn(out, self.kept, spatial)
        y = y.astype(u.dtype)
        if self.bias is not None:
            y = y + self.bias.reshape((1, -1) + (1,) * d)
        return y
