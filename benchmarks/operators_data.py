"""Benchmark data for the operator benchmark (numpy + scipy only): Darcy 2D and Burgers 1D.

Written once to ``benchmarks/out/operators-<case>.npz`` and read by both contenders (pdekit and
the neuraloperator runner), with the training statistics and the per-epoch sample orders, so
both see the same arrays in the same order.

* Darcy (Li et al. 2021 set-up): ``-div(a grad u) = 1`` on the unit square, ``u = 0`` on the
  boundary; ``a = 12`` where a Gaussian random field ``N(0, (-Lap + 9)^-2)`` is positive, else
  3; second-order finite differences (harmonic face averages) on an ``s x s`` node grid with
  the boundary nodes included; sparse LU per sample.
* Burgers: ``u_t + (u^2/2)_x = nu u_xx`` on the periodic unit interval, ``nu = 0.1``, ``t1 = 1``,
  ``u0 ~ N(0, 625 (-Lap + 25)^-2)``; pseudo-spectral, 2/3 dealiasing, integrating-factor RK4.
"""

import numpy as np


def grf_2d(rng, n_samples, s, *, alpha=2.0, tau=3.0):
    """Periodic Gaussian random fields with covariance ``(-Lap + tau^2)^-alpha`` on s x s."""
    k = np.fft.fftfreq(s, d=1.0 / s)
    kx, ky = np.meshgrid(k, k, indexing="ij")
    sqrt_eig = (4 * np.pi**2 * (kx**2 + ky**2) + tau**2) ** (-alpha / 2)
    sqrt_eig[0, 0] = 0.0
    xi = rng.standard_normal((n_samples, s, s)) + 1j * rng.standard_normal((n_samples, s, s))
    return np.real(np.fft.ifft2(xi * sqrt_eig * s * s))


def darcy(n_samples: int, s: int = 64, *, seed: int = 0):
    """``(a, u)``: arrays ``(n, 1, s, s)`` float32 of coefficient and solution."""
    import scipy.sparse as sp
    import scipy.sparse.linalg as spla

    rng = np.random.default_rng(seed)
    a_all = np.where(grf_2d(rng, n_samples, s) > 0, 12.0, 3.0)
    h = 1.0 / (s - 1)
    m = s - 2  # interior nodes per axis
    idx = np.arange(m * m).reshape(m, m)
    u_all = np.zeros((n_samples, s, s))
    for n in range(n_samples):
        a = a_all[n]
        ax = 2 * a[1:, :] * a[:-1, :] / (a[1:, :] + a[:-1, :])  # faces between i and i+1
        ay = 2 * a[:, 1:] * a[:, :-1] / (a[:, 1:] + a[:, :-1])
        east, west = ax[1:, 1:-1], ax[:-1, 1:-1]  # for interior node (i, j): (i+1/2), (i-1/2)
        north, south = ay[1:-1, 1:], ay[1:-1, :-1]
        diag = (east + west + north + south).ravel()
        rows, cols, vals = [idx.ravel()], [idx.ravel()], [diag]
        for di, dj, coef in ((1, 0, east), (-1, 0, west), (0, 1, north), (0, -1, south)):
            i0, i1 = max(0, -di), m - max(0, di)
            j0, j1 = max(0, -dj), m - max(0, dj)
            rows.append(idx[i0:i1, j0:j1].ravel())
            cols.append(idx[i0 + di:i1 + di, j0 + dj:j1 + dj].ravel())
            vals.append(-coef[i0:i1, j0:j1].ravel())
        A = sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                          shape=(m * m, m * m))
        u_all[n, 1:-1, 1:-1] = spla.spsolve(A, np.full(m * m, h * h)).reshape(m, m)
    return (a_all[:, None].astype(np.float32), u_all[:, None].astype(np.float32))


def burgers(n_samples: int, s: int = 256, *, seed: int = 0, nu: float = 0.1, t1: float = 1.0,
            dt: float = 5e-4):
    """``(u0, u(t1))``: arrays ``(n, 1, s)`` float32."""
    rng = np.random.default_rng(seed)
    k = np.fft.rfftfreq(s, d=1.0 / s)
    sqrt_eig = 25.0 * (4 * np.pi**2 * k**2 + 25.0) ** (-1.0)
    sqrt_eig[0] = 0.0
    xi = rng.standard_normal((n_samples, k.size)) + 1j * rng.standard_normal((n_samples, k.size))
    u_hat = xi * sqrt_eig * s / np.sqrt(2)
    u0 = np.fft.irfft(u_hat, n=s)
    kk = 2j * np.pi * k
    lin = -nu * (2 * np.pi * k) ** 2
    keep = (k < s / 3).astype(float)  # 2/3 rule

    def nonlin(v_hat):
        v = np.fft.irfft(v_hat, n=s)
        return -0.5 * kk * np.fft.rfft(v * v) * keep

    e1, e2 = np.exp(lin * dt / 2), np.exp(lin * dt)
    v = np.fft.rfft(u0)
    for _ in range(int(round(t1 / dt))):
        k1 = nonlin(v)
        k2 = nonlin(e1 * (v + dt / 2 * k1))
        k3 = nonlin(e1 * v + dt / 2 * k2)
        k4 = nonlin(e2 * v + dt * e1 * k3)
        v = e2 * v + dt / 6 * (e2 * k1 + 2 * e1 * (k2 + k3) + k4)
    u1 = np.fft.irfft(v, n=s)
    return u0[:, None].astype(np.float32), u1[:, None].astype(np.float32)
