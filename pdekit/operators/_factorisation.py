"""Complex weight tensors for spectral layers: dense, CP and Tucker factorisations.

A *factory* (``DenseWeights()``, ``CPWeights(rank)``, ``TuckerWeights(rank)``) is a small
static configuration; ``factory.build(shape, key=..., dtype=..., std=...)`` returns the
parameter Module (``DenseTensor``, ``CPTensor``, ``TuckerTensor``) whose call reconstructs the
full complex tensor as a ``(real, imag)`` pair. Every complex parameter is stored as a real
array with a leading axis of size 2 (real, imaginary), so optax sees real leaves only, and
parameter counts are counts of real numbers.

Parameter counts for a tensor of shape ``(s_1, ..., s_n)``:
- dense: ``2 prod(s_i)``;
- CP of rank ``R``: ``2 R sum(s_i)`` (factors ``(s_i, R)``, no separate weights);
- Tucker of ranks ``(r_1, ..., r_n)``: ``2 (prod(r_i) + sum(s_i r_i))``.

A float rank ``0 < rank <= 1`` is a compression ratio, resolved as tensorly does: CP rank
``round(rank prod(s) / sum(s))``; Tucker ranks ``round(s_i f)`` with ``f`` solving
``prod(s) f^n + sum(s_i^2) f = rank prod(s)``.
"""

import abc
import math
import string
from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray


def _cplx(x: Array) -> Array:
    return jax.lax.complex(x[0], x[1])


def _split(z: Array) -> tuple[Array, Array]:
    return jnp.real(z), jnp.imag(z)


def _normal(key, shape, std, dtype):
    # complex normal with E|z|^2 = std^2: real and imaginary parts each std/sqrt(2)
    return (std / math.sqrt(2.0)) * jax.random.normal(key, (2, *shape), dtype)


class AbstractWeightFactory(eqx.Module):
    """How a spectral weight tensor is parameterised (a static configuration)."""

    @abc.abstractmethod
    def build(self, shape: Sequence[int], *, key: PRNGKeyArray, dtype, std: float) -> eqx.Module:
        """Parameter Module for a complex tensor of `shape`, entries of standard deviation `std`."""

    @abc.abstractmethod
    def num_params(self, shape: Sequence[int]) -> int:
        """Number of real parameters for a tensor of `shape` (the formula, without building)."""

    def to_config(self) -> dict:
        """JSON-able description, inverse of :func:`factory_from_config`."""
        rank = getattr(self, "rank", None)
        kind = {"DenseWeights": "dense", "CPWeights": "cp", "TuckerWeights": "tucker"}
        out = {"kind": kind[type(self).__name__]}
        if rank is not None:
            out["rank"] = list(rank) if isinstance(rank, tuple) else rank
        return out


def _mix_expr(n_modes: int) -> tuple[str, str, str]:
    """Letters of ``c[b, i, *k]``, the output ``[b, o, *k]`` and the mode axes ``*k``."""
    k = "xyz"[:n_modes]
    return f"bi{k}", f"bo{k}", k


class DenseTensor(eqx.Module):
    """A full complex tensor, stored as ``(2, *shape)`` real numbers."""

    value: Float[Array, " 2 ..."]

    def __call__(self) -> tuple[Array, Array]:
        return self.value[0], self.value[1]

    def mix(self, c: Array) -> Array:
        """Channel mixing ``out[b, o, *k] = sum_i c[b, i, *k] T[i, o, *k]`` of complex
        Fourier coefficients ``c (B, C_in, *modes)`` by this ``(C_in, C_out, *modes)`` tensor."""
        x, out, k = _mix_expr(c.ndim - 2)
        return jnp.einsum(f"{x},io{k}->{out}", c, _cplx(self.value).astype(c.dtype))

    def layer(self, l: int) -> "DenseTensor":
        """Slice ``l`` of the leading axis (one layer of a joint ``(L, ...)`` tensor)."""
        return DenseTensor(self.value[:, l])


class CPTensor(eqx.Module):
    """CP (canonical polyadic) tensor ``T = sum_r prod_i A_i[:, r]``, complex factors."""

    factors: tuple[Float[Array, " 2 s r"], ...]

    def __call__(self) -> tuple[Array, Array]:
        n = len(self.factors)
        letters = string.ascii_lowercase[:n]
        expr = ",".join(f"{c}z" for c in letters) + "->" + letters
        return _split(jnp.einsum(expr, *[_cplx(f) for f in self.factors]))

    def mix(self, c: Array) -> Array:
        """:meth:`DenseTensor.mix` contracting `c` with the factors directly (in the cheapest
        order for these shapes), so neither the dense tensor nor its gradient is formed."""
        x, out, k = _mix_expr(c.ndim - 2)
        expr = f"{x},iR,oR," + ",".join(f"{a}R" for a in k) + f"->{out}"
        fs = [_cplx(f).astype(c.dtype) for f in self.factors]
        return jnp.einsum(expr, c, *fs, optimize="optimal")

    def layer(self, l: int) -> "CPTensor":
        """Layer ``l`` of a joint ``(L, ...)`` tensor: the first factor's row ``l`` scales the
        second factor (still a CP tensor, of the remaining modes)."""
        first, second = self.factors[0], self.factors[1]
        row = _cplx(first)[l]  # (R,)
        scaled = _cplx(second) * row[None, :]
        return CPTensor((jnp.stack(_split(scaled)), *self.factors[2:]))


class TuckerTensor(eqx.Module):
    """Tucker tensor ``T = G x_1 U_1 ... x_n U_n``, complex core and factors."""

    core: Float[Array, " 2 ..."]
    factors: tuple[Float[Array, " 2 s r"], ...]

    def __call__(self) -> tuple[Array, Array]:
        n = len(self.factors)
        full = string.ascii_lowercase[:n]
        ranks = string.ascii_uppercase[:n]
        expr = ranks + "," + ",".join(f"{a}{b}" for a, b in zip(full, ranks)) + "->" + full
        return _split(jnp.einsum(expr, _cplx(self.core), *[_cplx(f) for f in self.factors],
                                 optimize="greedy"))

    def mix(self, c: Array) -> Array:
        """:meth:`DenseTensor.mix` contracting `c` with the core and factors directly (in the
        cheapest order for these shapes), so neither the dense tensor nor its gradient is
        formed (neuraloperator's ``implementation="factorized"``)."""
        x, out, k = _mix_expr(c.ndim - 2)
        ranks = string.ascii_uppercase[:2 + len(k)]
        expr = (f"{x},{ranks},i{ranks[0]},o{ranks[1]},"
                + ",".join(f"{a}{r}" for a, r in zip(k, ranks[2:])) + f"->{out}")
        fs = [_cplx(f).astype(c.dtype) for f in self.factors]
        return jnp.einsum(expr, c, _cplx(self.core).astype(c.dtype), *fs, optimize="optimal")

    def layer(self, l: int) -> "TuckerTensor":
        """Layer ``l`` of a joint ``(L, ...)`` tensor: the core contracted with row ``l`` of the
        first factor (still a Tucker tensor, of the remaining modes)."""
        core = jnp.einsum("a...,a->...", _cplx(self.core), _cplx(self.factors[0])[l])
        return TuckerTensor(jnp.stack(_split(core)), self.factors[1:])


class DenseWeights(AbstractWeightFactory):
    """Unfactorised (dense) complex weights: the reference parameterisation."""

    def build(self, shape, *, key, dtype, std):
        return DenseTensor(_normal(key, tuple(shape), std, dtype))

    def num_params(self, shape):
        return 2 * math.prod(shape)


class CPWeights(AbstractWeightFactory):
    """CP-factorised weights of rank `rank` (int) or compression ratio (float in (0, 1]).

    **Raises:** ``ValueError`` if `rank` is not a positive int or a float in (0, 1].
    """

    rank: int | float = eqx.field(static=True)

    def __init__(self, rank: int | float = 0.1):
        _check_rank(rank)
        self.rank = rank

    def resolve_rank(self, shape) -> int:
        if isinstance(self.rank, float):
            return max(1, int(round(self.rank * math.prod(shape) / sum(shape))))
        return int(self.rank)

    def build(self, shape, *, key, dtype, std):
        r = self.resolve_rank(shape)
        keys = jax.random.split(key, len(shape))
        # entry variance = r * s^(2n): each entry sums r products of n factors
        s = (std / math.sqrt(r)) ** (1.0 / len(shape))
        fs = tuple(_normal(k, (n, r), s, dtype) for k, n in zip(keys, shape))
        return CPTensor(fs)

    def num_params(self, shape):
        return 2 * self.resolve_rank(shape) * sum(shape)


class TuckerWeights(AbstractWeightFactory):
    """Tucker-factorised weights: ranks as a tuple of ints, one int (all modes), or a float
    compression ratio in (0, 1] (``TuckerWeights(0.1)`` is neuraloperator's ``rank=0.1``).

    **Raises:** ``ValueError`` for a non-positive rank or a ratio outside (0, 1].
    """

    rank: int | float | tuple[int, ...] = eqx.field(static=True)

    def __init__(self, rank: int | float | Sequence[int] = 0.1):
        if isinstance(rank, (list, tuple)):
            for r in rank:
                _check_rank(r, allow_float=False)
            rank = tuple(int(r) for r in rank)
        else:
            _check_rank(rank)
        self.rank = rank

    def resolve_rank(self, shape) -> tuple[int, ...]:
        shape = tuple(shape)
        if isinstance(self.rank, tuple):
            if len(self.rank) != len(shape):
                raise ValueError(f"`rank` has {len(self.rank)} entries but the weight tensor "
                                 f"has {len(shape)} modes {shape}.")
            return tuple(min(r, s) for r, s in zip(self.rank, shape))
        if isinstance(self.rank, int):
            return tuple(min(self.rank, s) for s in shape)
        from scipy.optimize import brentq

        n, p = len(shape), float(math.prod(shape))
        sq = float(sum(s * s for s in shape))
        f = brentq(lambda x: p * x**n + sq * x - self.rank * p, 0.0, max(self.rank, 1.0))
        return tuple(max(int(round(s * f)), 1) for s in shape)

    def build(self, shape, *, key, dtype, std):
        ranks = self.resolve_rank(shape)
        keys = jax.random.split(key, len(shape) + 1)
        n = len(shape)
        # entry variance = prod(r) * s^(2(n+1)) (complex normals of E|z|^2 = s^2)
        s = (std / math.sqrt(math.prod(ranks))) ** (1.0 / (n + 1))
        core = _normal(keys[0], ranks, s, dtype)
        fs = tuple(_normal(k, (dim, r), s, dtype) for k, dim, r in zip(keys[1:], shape, ranks))
        return TuckerTensor(core, fs)

    def num_params(self, shape):
        ranks = self.resolve_rank(shape)
        return 2 * (math.prod(ranks) + sum(s * r for s, r in zip(shape, ranks)))


def _check_rank(rank, *, allow_float: bool = True) -> None:
    if isinstance(rank, bool):
        raise ValueError(f"`rank` must be a positive int or a float in (0, 1], got {rank!r}.")
    if isinstance(rank, (int, np.integer)):
        if rank < 1:
            raise ValueError(f"`rank` must be >= 1, got {rank}.")
        return
    if allow_float and isinstance(rank, float):
        if not 0.0 < rank <= 1.0:
            raise ValueError(f"`rank` as a compression ratio must be in (0, 1], got {rank}.")
        return
    raise ValueError(f"`rank` must be a positive int or a float in (0, 1], got {rank!r}.")


def dense_to_tucker(value: Float[Array, " 2 ..."]) -> TuckerTensor:
    """The exact full-rank Tucker form of a dense tensor: core = tensor, identity factors."""
    shape = value.shape[1:]
    eye = [jnp.stack([jnp.eye(n, dtype=value.dtype), jnp.zeros((n, n), value.dtype)])
           for n in shape]
    return TuckerTensor(value, tuple(eye))


def dense_to_cp(value: Float[Array, " 2 ..."]) -> CPTensor:
    """An exact CP form of a dense tensor, of rank ``prod(shape) / max(shape)``.

    The largest axis ``j`` carries the tensor's fibres, the other axes one-hot selectors of
    every multi-index (a Khatri-Rao basis), so the reconstruction is exact.
    """
    shape = value.shape[1:]
    j = int(np.argmax(shape))
    others = [i for i in range(len(shape)) if i != j]
    idx = np.array(list(np.ndindex(*[shape[i] for i in others]))).reshape(-1, len(others))
    r = idx.shape[0]
    factors = []
    for i in range(len(shape)):
        if i == j:
            moved = jnp.moveaxis(value, 1 + j, -1).reshape(2, r, shape[j])
            factors.append(jnp.swapaxes(moved, 1, 2))
        else:
            k = others.index(i)
            onehot = np.zeros((shape[i], r))
            onehot[idx[:, k], np.arange(r)] = 1.0
            factors.append(jnp.stack([jnp.asarray(onehot, value.dtype),
                                      jnp.zeros((shape[i], r), value.dtype)]))
    return CPTensor(tuple(factors))


def factory_from_config(config: dict) -> AbstractWeightFactory:
    """``{"kind": "dense" | "cp" | "tucker", "rank": ...}`` -> a weight factory."""
    kind = config.get("kind")
    if kind == "dense":
        return DenseWeights()
    if kind == "cp":
        return CPWeights(config["rank"])
    if kind == "tucker":
        r = config["rank"]
        return TuckerWeights(tuple(r) if isinstance(r, list) else r)
    raise ValueError(f"Unknown factorisation kind {kind!r} (expected dense, cp or tucker).")
