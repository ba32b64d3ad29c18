"""pyMOR side of benchmarks/rom_bench.py (runs in benchmarks/.venv-rom; not a pdekit module).

Reads the *same* FE matrices, training and test parameters that pdekit uses (an npz written
by rom_bench.py), so both sides reduce the identical full-order model:

- ``greedy``: thermal block, ``StationaryModel`` from ``NumpyMatrixOperator``s with
  ``ProjectionParameterFunctional``s, ``CoerciveRBReductor`` (product = X = sum_q A_q, the
  H1-seminorm; coercivity ``min(diffusion)``), ``rb_greedy`` with ``max_extensions``;
  reports offline time, the X-norm error on the test parameters, effectivities
  (estimate / X-error), ROM and FOM solve times.
- ``pod``: a snapshot matrix from the npz, pyMOR's ``pod`` (method of snapshots),
  ``randomized_svd`` and ``inc_vectorarray_hapod``.

Usage: ``python rom_pymor.py {greedy,pod} INPUT.npz --out OUT.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness as H  # noqa: E402

H.pin_threads()

import numpy as np  # noqa: E402
import scipy.sparse as sps  # noqa: E402


def _matrices(z):
    Q = int(z["Q"])
    n = int(z["n"])
    return [sps.csr_matrix((z[f"A{q}_data"], z[f"A{q}_indices"], z[f"A{q}_indptr"]),
                           shape=(n, n)) for q in range(Q)]


def greedy(z):
    from pymor.algorithms.greedy import rb_greedy
    from pymor.models.basic import StationaryModel
    from pymor.operators.constructions import LincombOperator, VectorOperator
    from pymor.operators.numpy import NumpyMatrixOperator
    from pymor.parameters.functionals import (
        ExpressionParameterFunctional,
        ProjectionParameterFunctional,
    )
    from pymor.reductors.coercive import CoerciveRBReductor

    mats = _matrices(z)
    Q = len(mats)
    ops = [NumpyMatrixOperator(A.tocsc()) for A in mats]
    op = LincombOperator(ops, [ProjectionParameterFunctional("diffusion", Q, q) for q in range(Q)])
    rhs = VectorOperator(op.range.from_numpy(z["f"].reshape(-1, 1)))
    product = NumpyMatrixOperator(sum(mats).tocsc(), name="h1_0_semi")
    fom = StationaryModel(op, rhs, products={"h1_0_semi": product})
    train = [fom.parameters.parse(m) for m in z["train"]]
    test = [fom.parameters.parse(m) for m in z["test"]]
    coercivity = ExpressionParameterFunctional("min(diffusion)", fom.parameters)
    reductor = CoerciveRBReductor(fom, product=product, coercivity_estimator=coercivity)
    c0, t0 = time.process_time(), time.perf_counter()
    result = rb_greedy(fom, reductor, train, max_extensions=int(z["N"]))
    offline, offline_cpu = time.perf_counter() - t0, time.process_time() - c0
    rom = result["rom"]
    # accuracy on the test parameters (X = H1-seminorm errors)
    t0 = time.perf_counter()
    U = fom.solution_space.empty()
    for mu in test:
        U.append(fom.solve(mu))
    fom_s = (time.perf_counter() - t0) / len(test)
    t0 = time.perf_counter()
    uN = [rom.solve(mu) for mu in test]
    rom_s = (time.perf_counter() - t0) / len(test)
    est = np.array([float(np.ravel(rom.estimate_error(mu))[0]) for mu in test])
    URB = fom.solution_space.empty()
    for u in uN:
        URB.append(reductor.reconstruct(u))
    err = np.asarray((U - URB).norm(product)).ravel()
    nrm = np.asarray(U.norm(product)).ravel()
    return {
        "solver": "pyMOR", "versions": H.versions("pymor", "numpy", "scipy"),
        "offline_s": offline, "offline_cpu_s": offline_cpu,
        "basis_size": int(len(reductor.bases["RB"])),
        "max_h1_error": float(err.max()), "max_rel_h1_error": float((err / nrm).max()),
        "effectivity_min": float((est / err).min()), "effectivity_max": float((est / err).max()),
        "rom_solve_s": rom_s, "fom_solve_s": fom_s,
        "max_errs": [float(e) for e in result.get("max_errs", [])],
        "h1_errors": err.tolist(), "estimates": est.tolist(),
    }


def pod(z, rank):
    from pymor.algorithms.hapod import inc_vectorarray_hapod
    from pymor.algorithms.pod import pod as pymor_pod
    from pymor.algorithms.rand_la import randomized_svd
    from pymor.operators.numpy import NumpyMatrixOperator
    from pymor.vectorarrays.numpy import NumpyVectorSpace

    n, C = int(z["n"]), np.asarray(z["C"])
    X = _snapshot_matrix(n, C)
    space = NumpyVectorSpace(X.shape[0])
    U = space.from_numpy(X)
    out = {"solver": "pyMOR", "versions": H.versions("pymor", "numpy", "scipy"),
           "shape": list(X.shape)}
    t = H.timeit(lambda: pymor_pod(U, modes=rank, rtol=1e-12), repeat=2, max_time=120)
    modes, s = pymor_pod(U, modes=rank, rtol=1e-12)
    out["snapshots"] = {"time": t, "sv": s.tolist()}
    op = NumpyMatrixOperator(X)
    t = H.timeit(lambda: randomized_svd(op, rank, oversampling=10, power_iterations=2),
                 repeat=2, max_time=120)
    _, s, _ = randomized_svd(op, rank, oversampling=10, power_iterations=2)
    out["randomized"] = {"time": t, "sv": np.asarray(s).tolist()}
    eps = float(z["hapod_eps"])
    t = H.timeit(lambda: inc_vectorarray_hapod(10, U, eps, 0.9), repeat=2, max_time=120)
    modes, s, _ = inc_vectorarray_hapod(10, U, eps, 0.9)
    out["incremental"] = {"time": t, "sv": np.asarray(s).tolist(), "rank": len(modes)}
    return out


def _snapshot_matrix(n, C):
    """``X[i, j] = sum_k sin(pi (k + 1) x_i) C[k, j]`` on ``x_i = (i + 1/2) / n`` (the same
    recipe as rom_bench.py, so no 800 MB file is passed around)."""
    x = (np.arange(n) + 0.5) / n
    return np.sin(np.pi * np.outer(x, np.arange(1, C.shape[0] + 1))) @ C


def main():
    p = argparse.ArgumentParser()
    p.add_argument("case", choices=("greedy", "pod"))
    p.add_argument("input")
    p.add_argument("--rank", type=int, default=50)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    with np.load(a.input) as z:
        data = {k: z[k] for k in z.files}
    out = greedy(data) if a.case == "greedy" else pod(data, a.rank)
    out["threads"] = H.threads_summary()
    H.write_json(out, a.out)


if __name__ == "__main__":
    main()
