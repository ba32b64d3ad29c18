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
    """``pdekit.data.Dataset.from_arrays(x, y)``, or a stand-in with the agreed split API
    while the data package has not landed on this branch."""
    try:
        from pdekit.data import Dataset
    except ImportError:
        return _ArraySplit(x, y)
    return Dataset.from_arrays(x, y)


class _ArraySplit:  # the COORD.md loader API, in memory (tests only)
    def __init__(self, x, y):
        self.x, self.y = np.asarray(x), np.asarray(y)

    def __len__(self):
        return len(self.x)

    @property
    def x_shape(self):
        return self.x.shape[1:]

    @property
    def y_shape(self):
        return self.y.shape[1:]

    def arrays(self):
        return self.x, self.y

    def split(self, n_train, n_test):
        return (_ArraySplit(self.x[:n_train], self.y[:n_train]),
                _ArraySplit(self.x[-n_test:], self.y[-n_test:]))

    def subsample(self, factor):
        sl = (slice(None), slice(None)) + (slice(None, None, factor),) * (self.x.ndim - 2)
        return _ArraySplit(self.x[sl], self.y[sl])

    def num_batches(self, batch_size, drop_last=True):
        return len(self) // batch_size if drop_last else -(-len(self) // batch_size)

    def batches(self, batch_size, *, seed, epoch, drop_last=True):
        import jax
        import jax.numpy as jnp

        key = jax.random.fold_in(jax.random.key(int(seed)), int(epoch))
        perm = np.asarray(jax.random.permutation(key, len(self)))
        for b in range(self.num_batches(batch_size, drop_last)):
            pos = perm[b * batch_size:(b + 1) * batch_size]
            yield jnp.asarray(self.x[pos]), jnp.asarray(self.y[pos])

    def mean_std(self, axis=0):
        out = []
        for a in (self.x, self.y):
            m = a.astype(np.float64).mean(axis=axis, keepdims=True)
            s = a.astype(np.float64).std(axis=axis, keepdims=True)
            out.append((m[0], s[0]))
        return tuple(out)
