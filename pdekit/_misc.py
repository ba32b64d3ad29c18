"""Small helpers shared by every layer: dtype resolution and argument validation."""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


def enable_x64(enabled: bool = True) -> None:
    """Switch JAX to 64-bit floats (float64/complex128) for everything created afterwards.

    Call it at the top of a script, before any array is created. pdekit never calls this
    on import; entry points (CLI ``--x64``, examples, tests) call it explicitly.
    """
    jax.config.update("jax_enable_x64", bool(enabled))


def x64_enabled() -> bool:
    """Whether JAX currently creates 64-bit floats by default."""
    return bool(jax.config.read("jax_enable_x64"))


def default_float_dtype(dtype: Any = None) -> jnp.dtype:
    """Resolve ``dtype`` (``None`` means float64 under x64, else float32)."""
    if dtype is None:
        return jnp.dtype(jnp.float64 if x64_enabled() else jnp.float32)
    dtype = jnp.dtype(dtype)
    if not jnp.issubdtype(dtype, jnp.floating):
        raise ValueError(f"`dtype` must be a real floating dtype, got {dtype}.")
    if dtype == jnp.float64 and not x64_enabled():
        raise ValueError(
            "`dtype=float64` was requested but JAX runs in 32-bit mode; call "
            "`pdekit.enable_x64()` (or set JAX_ENABLE_X64=1) before creating arrays."
        )
    return dtype


def default_complex_dtype(dtype: Any = None) -> jnp.dtype:
    """Complex counterpart of :func:`default_float_dtype` (complex128 under x64)."""
    real = default_float_dtype(None if dtype is None else jnp.finfo(dtype).dtype)
    return jnp.dtype(jnp.complex128 if real == jnp.float64 else jnp.complex64)


def check_positive_int(name: str, value: Any, *, even: bool = False, minimum: int = 1) -> int:
    """Return ``value`` as an int, or raise ``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"`{name}` must be an integer, got {value!r} ({type(value).__name__}).")
    value = int(value)
    if value < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}, got {value}.")
    if even and value % 2:
        raise ValueError(f"`{name}` must be even, got {value}.")
    return value


def check_finite_scalar(name: str, value: Any, *, positive: bool = False,
                        nonnegative: bool = False) -> float:
    """Return ``value`` as a float, or raise ``ValueError`` naming ``name``."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"`{name}` must be a real number, got {value!r}.") from None
    if not math.isfinite(out):
        raise ValueError(f"`{name}` must be finite, got {out}.")
    if positive and not out > 0:
        raise ValueError(f"`{name}` must be > 0, got {out}.")
    if nonnegative and out < 0:
        raise ValueError(f"`{name}` must be >= 0, got {out}.")
    return out


def is_tracer(value: Any) -> bool:
    """True for a value traced by ``jit``/``vmap``/``grad`` (no concrete data to check)."""
    return isinstance(value, jax.core.Tracer)


def check_finite_array(name: str, value: Any) -> None:
    """Raise ``ValueError`` if a concrete array contains NaN or inf (no-op on tracers)."""
    if is_tracer(value):
        return
    arr = np.asarray(value)
    if arr.size and not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"`{name}` contains {bad} non-finite value(s) (NaN or inf).")
