"""Quadrature rules on the reference interval, triangle and tetrahedron.

Reference cells: interval ``[0, 1]``, triangle ``{x, y >= 0, x + y <= 1}`` and tetrahedron
``{x, y, z >= 0, x + y + z <= 1}``. Low degrees use classical symmetric rules (fewest points,
which matters for assembly speed); higher degrees use collapsed (Duffy) Gauss rules, which
are exact to the requested degree for any degree.
"""

from __future__ import annotations

import functools

import numpy as np


def _gauss01(n: int) -> tuple[np.ndarray, np.ndarray]:
    x, w = np.polynomial.legendre.leggauss(n)
    return (x + 1.0) / 2.0, w / 2.0


@functools.cache
def _duffy(dim: int, degree: int) -> tuple[np.ndarray, np.ndarray]:
    # Collapsed coordinates: the Jacobian (1-s)^(dim-1-j) raises the polynomial degree by
    # at most dim-1, so ceil((degree + dim) / 2) Gauss points per direction suffice.
    n = max(1, (degree + dim) // 2 + 1)
    s, w = _gauss01(n)
    if dim == 2:
        u, v = np.meshgrid(s, s, indexing="ij")
        wu, wv = np.meshgrid(w, w, indexing="ij")
        x = u.ravel()
        y = (v * (1 - u)).ravel()
        weights = (wu * wv * (1 - u)).ravel()
        return np.stack([x, y], axis=1), weights
    u, v, t = np.meshgrid(s, s, s, indexing="ij")
    wu, wv, wt = np.meshgrid(w, w, w, indexing="ij")
    x = u
    y = v * (1 - u)
    z = t * (1 - u) * (1 - v)
    weights = wu * wv * wt * (1 - u) ** 2 * (1 - v)
    return np.stack([x.ravel(), y.ravel(), z.ravel()], axis=1), weights.ravel()


def quadrature(dim: int, degree: int) -> tuple[np.ndarray, np.ndarray]:
    """Points and weights of a rule exact for polynomials of total degree ``degree``.

    **Arguments:**
    - `dim`: 1 (interval), 2 (triangle) or 3 (tetrahedron).
    - `degree`: polynomial degree integrated exactly (>= 0).

    **Returns:** `(points, weights)` with shapes `(q, dim)` and `(q,)`; the weights sum to the
    reference cell's measure (1, 1/2, 1/6).
    """
    if dim not in (1, 2, 3):
        raise ValueError(f"`dim` must be 1, 2 or 3, got {dim}.")
    if int(degree) != degree or degree < 0:
        raise ValueError(f"`degree` must be a non-negative integer, got {degree!r}.")
    degree = int(degree)
    if dim == 1:
        x, w = _gauss01(degree // 2 + 1)
        return x[:, None], w
    if dim == 2:
        if degree <= 1:
            return np.array([[1 / 3, 1 / 3]]), np.array([0.5])
        if degree == 2:
            p = np.array([[1 / 6, 1 / 6], [2 / 3, 1 / 6], [1 / 6, 2 / 3]])
            return p, np.full(3, 1 / 6)
        if degree <= 4:  # Dunavant/Strang-Fix 6-point rule, degree 4
            a, b = 0.445948490915965, 0.091576213509771
            wa, wb = 0.223381589678011 / 2, 0.109951743655322 / 2
            p = np.array(
                [[a, a], [1 - 2 * a, a], [a, 1 - 2 * a], [b, b], [1 - 2 * b, b], [b, 1 - 2 * b]]
            )
            return p, np.array([wa, wa, wa, wb, wb, wb])
        return _duffy(2, degree)
    if degree <= 1:
        return np.array([[0.25, 0.25, 0.25]]), np.array([1 / 6])
    if degree == 2:
        a, b = 0.1381966011250105, 0.5854101966249685
        p = np.array([[a, a, a], [b, a, a], [a, b, a], [a, a, b]])
        return p, np.full(4, 1 / 24)
    return _duffy(3, degree)
