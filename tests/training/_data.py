"""Synthetic operators with known answers, as pdekit.data splits (tests only)."""

import numpy as np


def band_limited(n_samples, num_points, k_max, *, seed, decay=1.0):
    """Random periodic real fields sum_{1<=k<=k_max} (a_k cos 2pi k x + b_k sin 2pi k x)/k^decay."""
    rng = np.random.default_rng(seed)
    x = np.arange(num_points) / num_points
    k = np.arange(1, k_max + 1)
    a = rng.standard_normal((n_samples, k_max)) / k**decay
    b = rng.standard_normal((n_samples, k_max)) / k**decay
    arg = 2 * np.pi * k[None, :, None] * x[None, None, :]
    u = np.einsum("sk,skx->sx", a, np.cos(arg)) + np.einsum("sk,skx->sx", b, np.sin(arg))
    v = np.einsum("sk,skx->sx", a / (2 * np.pi * k), np.sin(arg)) \
        - np.einsum("sk,skx->sx", b / (2 * np.pi * k), np.cos(arg))
    return u[:, None], v[:, None]  # (n, 1, N): input u, its zero-mean antiderivative v


def antiderivative_split(n, num_points=64, k_max=6, *, seed=0, dtype=np.float64):
    u, v = band_limited(n, num_points, k_max, seed=seed)
    return make_split(u.astype(dtype), v.astype(dtype))


def make_split(x, y):
    from pdekit.data import Dataset

    return Dataset.from_arrays(x, y)
