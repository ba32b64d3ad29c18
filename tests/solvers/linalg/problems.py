"""Test matrices built with scipy: 2D Poisson (5-point, Dirichlet) with variable coefficient."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sps


def poisson_2d(n: int, contrast: float = 1.0, seed: int = 0) -> sps.csr_matrix:
    """Finite-volume matrix of ``-div(k grad u)`` on an ``n x n`` interior grid of the unit
    square with homogeneous Dirichlet data (SPD M-matrix, scaled by ``h^2``).

    ``k`` is piecewise constant on ``(n+1) x (n+1)`` cells, random in ``[1, contrast]``
    (log-uniform) and harmonically averaged onto the edges; ``contrast=1`` gives the
    standard 5-point Laplacian (= P1 stiffness on a right-triangle mesh).
    """
    rng = np.random.default_rng(seed)
    m = n + 2  # nodes including the boundary
    if contrast == 1.0:
        k = np.ones((m, m))
    else:
        k = np.exp(rng.uniform(0.0, np.log(contrast), size=(m, m)))
    idx = -np.ones((m, m), dtype=np.int64)
    idx[1:-1, 1:-1] = np.arange(n * n).reshape(n, n)
    rows, cols, vals = [], [], []
    diag = np.zeros(n * n)
    for di, dj in ((1, 0), (0, 1)):
        a, b = idx[: m - di, : m - dj], idx[di:, dj:]
        ka, kb = k[: m - di, : m - dj], k[di:, dj:]
        w = 2 * ka * kb / (ka + kb)
        ia, ib = a >= 0, b >= 0
        np.add.at(diag, a[ia], w[ia])
        np.add.at(diag, b[ib], w[ib])
        both = ia & ib
        for s, t in ((a, b), (b, a)):
            rows.append(s[both])
            cols.append(t[both])
            vals.append(-w[both])
    rows.append(np.arange(n * n))
    cols.append(np.arange(n * n))
    vals.append(diag)
    mat = sps.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n * n, n * n)
    )
    mat.sum_duplicates()
    mat.sort_indices()
    return mat


def random_rhs(n_unknowns: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(n_unknowns)
