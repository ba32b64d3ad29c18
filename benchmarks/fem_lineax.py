"""lineax CG vs pdekit CG (the measurement behind dropping lineax, docs/linalg.md).

Same matrix (P1 Poisson on an n x n square, DIA matvec), same preconditioners (Jacobi, GMG)
wrapped as lineax operators: (1) per-step cost with 300 steps forced (tolerances out of
reach), (2) what each reports at rtol = 1e-8, atol = 0 (lineax's elementwise test).

    python benchmarks/fem_lineax.py [n]       # default n = 256; lineax is installed via diffrax
"""

import sys
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx

import pdekit
from pdekit.solvers import fem, linalg
from pdekit.solvers.linalg._sparse import matvec_operator

pdekit.enable_x64()
n = int(sys.argv[1]) if len(sys.argv) > 1 else 256
K = 300
space = fem.FunctionSpace(fem.unit_square_mesh(n), fem.P1())
A, b = fem.Poisson(space).system(1.0, 1.0)


def lineax_cg(A, b, pre, rtol, atol, steps):
    s = jax.ShapeDtypeStruct(b.shape, b.dtype)
    op = lx.FunctionLinearOperator(matvec_operator(A), s, tags=lx.positive_semidefinite_tag)
    M = lx.FunctionLinearOperator(pre.operator(A), s, tags=lx.positive_semidefinite_tag)
    sol = lx.linear_solve(op, b, lx.CG(rtol=rtol, atol=atol, max_steps=steps),
                          options={"preconditioner": M}, throw=False)
    return sol.value, sol.stats


for pname, pre in (("jacobi", linalg.Jacobi()), ("gmg", linalg.GMG(fem.grid_shape(space)))):
    x, st = eqx.filter_jit(lineax_cg)(A, b, pre, 1e-8, 0.0, 100_000)
    res = float(jnp.linalg.norm(b - A @ x) / jnp.linalg.norm(b))
    print(f"n={n} {pname:6s} lineax rtol=1e-8 atol=0: {int(st['num_steps'])} steps, "
          f"relative residual {res:.2e}", flush=True)
    cg = linalg.CG(rtol=1e-15, max_steps=K, preconditioner=pre)
    ours = eqx.filter_jit(lambda A, b, cg=cg: linalg.solve_with_stats(A, b, cg, throw=False))
    theirs = eqx.filter_jit(lambda A, b, pre=pre: lineax_cg(A, b, pre, 1e-15, 1e-300, K))
    for name, fn in (("pdekit", ours), ("lineax", theirs)):
        x, st = jax.block_until_ready(fn(A, b))
        ts = []
        for _ in range(3):
            t = time.perf_counter()
            jax.block_until_ready(fn(A, b))
            ts.append(time.perf_counter() - t)
        print(f"n={n} {pname:6s} {name:6s} {min(ts)*1e3:8.1f} ms for {int(st['num_steps'])} steps"
              f" = {min(ts)/int(st['num_steps'])*1e6:.1f} us/step", flush=True)
