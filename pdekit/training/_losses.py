"""Losses and metrics for operator learning, on batches ``(B, C, *spatial)``.

All are *relative* per-sample norms averaged over the batch, so they do not depend on the
resolution or the scale of the data:

    relative_lp(pred, y) = mean_b ||pred_b - y_b||_p / ||y_b||_p
    h1(pred, y)          = mean_b ||pred_b - y_b||_{H1} / ||y_b||_{H1},
                           ||v||_{H1}^2 = ||v||^2 + sum_i ||d_i v||^2

Norms are discrete approximations of the continuous ones (grid sums scaled by the cell volume,
which cancels in the ratio). Derivatives for H1 are spectral (exact for band-limited periodic
data) or second-order finite differences (``periodic=False``; one-sided at the boundary).
"""

from collections.abc import Sequence

import jax.numpy as jnp
from jaxtyping import Array, Float

from .._misc import check_finite_scalar


def _check_pair(pred, target, name):
    if pred.shape != target.shape:
        raise ValueError(f"`{name}`: prediction shape {pred.shape} differs from the target "
                         f"shape {target.shape}.")
    if pred.ndim < 2:
        raise ValueError(f"`{name}` expects batches (B, C, *spatial), got shape {pred.shape}.")


def _per_sample_norm(v, p):
    flat = v.reshape(v.shape[0], -1)
    if p == jnp.inf:
        return jnp.max(jnp.abs(flat), axis=1)
    return jnp.sum(jnp.abs(flat) ** p, axis=1) ** (1.0 / p)


def relative_lp(pred: Float[Array, " B C *spatial"], target: Float[Array, " B C *spatial"],
                p: float = 2.0, *, reduce: bool = True) -> Array:
    """Mean over the batch of ``||pred - target||_p / ||target||_p`` (per sample).

    **Arguments:** `pred`, `target`: ``(B, C, *spatial)``; `p` >= 1 (``inf`` allowed);
    `reduce`: ``False`` returns the ``(B,)`` per-sample ratios.

    **Raises:** ``ValueError`` for mismatched shapes or ``p < 1``.
    """
    _check_pair(pred, target, "relative_lp")
    p = check_finite_scalar("p", p) if p != jnp.inf else p
    if p < 1:
        raise ValueError(f"`p` must be >= 1, got {p}.")
    ratio = _per_sample_norm(pred - target, p) / _per_sample_norm(target, p)
    return jnp.mean(ratio) if reduce else ratio


def relative_l2(pred, target, *, reduce: bool = True) -> Array:
    """Mean per-sample relative L2 error: the headline metric (``relative_lp`` with p = 2)."""
    return relative_lp(pred, target, 2.0, reduce=reduce)


def _gradients(v, periodic: bool, lengths: Sequence[float]):
    d = v.ndim - 2
    out = []
    for i in range(d):
        axis = 2 + i
        n = v.shape[axis]
        h = lengths[i] / n if periodic else lengths[i] / (n - 1)
        if periodic:
            k = jnp.fft.fftfreq(n, d=h).astype(v.dtype) * jnp.asarray(2 * jnp.pi, v.dtype)
            if n % 2 == 0:  # the Nyquist mode has no consistent real derivative
                k = k.at[n // 2].set(0)
            shape = [1] * v.ndim
            shape[axis] = n
            vh = jnp.fft.fft(v, axis=axis)
            dv = jnp.fft.ifft(1j * k.reshape(shape) * vh, axis=axis).real
            out.append(dv.astype(v.dtype))
        else:
            out.append(jnp.gradient(v, h, axis=axis))
    return out


def h1(pred: Float[Array, " B C *spatial"], target: Float[Array, " B C *spatial"], *,
       periodic: bool = True, domain_length: float | Sequence[float] = 1.0,
       reduce: bool = True) -> Array:
    """Mean relative H1 error ``||e||_{H1} / ||target||_{H1}`` per sample.

    **Arguments:** `pred`, `target`: ``(B, C, *spatial)``; `periodic`: spectral derivatives
    (periodic grid ``x_j = j L / N``) or finite differences (grid with both end points,
    ``x_j = j L / (N - 1)``); `domain_length`: ``L`` per axis (a number for all axes);
    `reduce`: ``False`` returns per-sample ratios.

    **Raises:** ``ValueError`` for mismatched shapes or a non-positive `domain_length`.
    """
    _check_pair(pred, target, "h1")
    d = pred.ndim - 2
    lengths = ((domain_length,) * d if isinstance(domain_length, (int, float))
               else tuple(domain_length))
    if len(lengths) != d:
        raise ValueError(f"`domain_length` needs {d} values, got {domain_length}.")
    lengths = [check_finite_scalar("domain_length", v, positive=True) for v in lengths]

    def sq_norm(v):
        tot = jnp.sum(v.reshape(v.shape[0], -1) ** 2, axis=1)
        for g in _gradients(v, periodic, lengths):
            tot = tot + jnp.sum(g.reshape(g.shape[0], -1) ** 2, axis=1)
        return tot

    ratio = jnp.sqrt(sq_norm(pred - target) / sq_norm(target))
    return jnp.mean(ratio) if reduce else ratio
