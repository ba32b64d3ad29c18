"""Timings at 1e5 and 1e6 unknowns (slow; run with
``pytest -m slow -s tests/solvers/linalg/test_perf.py``). Prints a table of set-up time, first
call (with compilation), a second call, iterations and relative residual."""

import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pdekit.solvers import linalg

from .problems import poisson_2d, random_rhs


def _timed(fn):
    t0 = time.perf_counter()
    out = jax.block_until_ready(fn())
    return out, time.perf_counter() - t0


@pytest.mark.slow
@pytest.mark.parametrize("n", [316, 1000])
def test_large_poisson_timings(n):
    mat = poisson_2d(n, contrast=100.0)
    A = linalg.CSRMatrix.from_scipy(mat)
    b = jnp.asarray(random_rhs(n * n))
    amg, t_build = _timed(lambda: linalg.AMG.build(A))
    methods = {"cg-amg": linalg.CG(rtol=1e-10, preconditioner=amg)}
    if n <= 316:
        methods["cg-jacobi"] = linalg.CG(rtol=1e-10, max_steps=20_000,
                                         preconditioner=linalg.Jacobi())
        methods["direct"] = linalg.Direct()
    print(f"\nn={n * n}  AMG levels {amg.sizes()}  set-up {t_build:.2f} s  operator complexity "
          f"{sum(amg.operator_nnz()) / amg.operator_nnz()[0]:.2f}")
    for name, method in methods.items():
        (x, stats), t1 = _timed(lambda m=method: linalg.solve_with_stats(A, b, m))
        (x, stats), t2 = _timed(lambda m=method: linalg.solve_with_stats(A, b, m))
        rel = np.linalg.norm(np.asarray(b) - mat @ np.asarray(x)) / np.linalg.norm(np.asarray(b))
        print(f"  {name:10s} steps {int(stats['num_steps']):5d}  first {t1:6.2f} s  "
              f"second {t2:6.2f} s  rel. residual {rel:.1e}")
        assert rel < 1e-9
        if name == "cg-amg":
            assert int(stats["num_steps"]) <= 25
            assert t2 < 20.0
