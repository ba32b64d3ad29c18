"""Direct (SuperLU) on the two pattern branches: structurally symmetric (symmetric mode,
minimum degree on A^T + A) and non-symmetric (default ordering), against numpy."""

import jax.numpy as jnp
import numpy as np
import pytest
import scipy.sparse as sps

from pdekit.solvers import linalg


def _rand_rhs(n, seed=0):
    return np.random.default_rng(seed).standard_normal(n)


@pytest.mark.parametrize("kind", ["symmetric-pattern-needs-pivoting", "nonsymmetric-pattern"])
def test_direct_matches_dense_solve(kind):
    n = 40
    rng = np.random.default_rng(1)
    if kind == "symmetric-pattern-needs-pivoting":
        # 2x2 blocks [[0, s], [t, 0]]: zero diagonal, so diagonal pivoting alone would fail
        blocks = [sps.csr_matrix(np.array([[0.0, 1.0 + rng.random()], [2.0 + rng.random(), 0.0]]))
                  for _ in range(n // 2)]
        M = sps.block_diag(blocks, format="csr")
        M = M + sps.diags(np.full(n - 2, 0.1), 2, shape=(n, n)) + sps.diags(np.full(n - 2, 0.3), -2)
    else:
        M = sps.eye(n) * 4 + sps.diags(rng.random(n - 1), 1, shape=(n, n))  # upper bidiagonal
    M = sps.csr_matrix(M)
    b = _rand_rhs(n)
    x = linalg.solve(linalg.CSRMatrix.from_scipy(M), jnp.asarray(b), linalg.Direct())
    np.testing.assert_allclose(np.asarray(x), np.linalg.solve(M.toarray(), b),
                               rtol=1e-10, atol=1e-12)
