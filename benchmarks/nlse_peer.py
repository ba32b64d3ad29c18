"""Runner for the published peer package ``simple-idealized-1d-nlse`` (PyPI, 0.0.5).

Runs in benchmarks/.venv-nlse. The package solves i psi_t + psi_xx / 2 + |psi|^2 psi = 0 with
scipy DOP853 in Fourier space (defaults rtol 1e-9, atol 1e-11, max_step 0.1) and an exponential
anti-aliasing filter on both the linear and the nonlinear term. We call its public API
(``NLSESolver``, ``SingleSoliton``, ``TwoSoliton``) with its own default cases and settings
(L = 50, N = 512, t_final = 20, 100 snapshots) and save the frames for nlse_bench.py to score.
"""

from __future__ import annotations

import _harness as H

H.pin_threads()


import numpy as np  # noqa: E402
import simple_idealized_1d_nlse as peer  # noqa: E402


def main():
    args, spec = H.read_spec(__doc__.splitlines()[0])
    frames, results = {}, []
    for job in spec["jobs"]:
        solver = peer.NLSESolver(domain_length=job["L"], num_points=job["N"], verbose=False)
        if job["case"] == "single_soliton":
            ic = peer.SingleSoliton(**job["params"])
        elif job["case"] == "two_soliton":
            ic = peer.TwoSoliton(**job["params"])
        else:
            raise ValueError(f"unknown case {job['case']!r}")
        u0 = ic(solver.x)

        def run(solver=solver, u0=u0, job=job):
            return solver.solve(u0, t_final=job["t1"], n_snapshots=job["nframes"],
                                rtol=job["rtol"], atol=job["atol"], show_progress=False,
                                monitor_conservation=False)

        out, t_first = H.first_call(run)
        t = H.timeit(run, repeat=job.get("repeat", 3), max_time=60)
        frames[job["name"]] = out["psi"]
        frames[job["name"] + "/x"] = solver.x
        frames[job["name"] + "/u0"] = u0
        results.append({"name": job["name"], "time": t, "first_call": t_first,
                        "nfev": int(out["solver_info"]["nfev"]), "rtol": job["rtol"],
                        "atol": job["atol"], "internal_integration_s":
                        out["timing"]["integration"]})
    np.savez(args.out + ".npz", **frames)
    H.write_json({"solver": f"simple-idealized-1d-nlse {peer.__version__} (NLSESolver, DOP853)",
                  "versions": H.versions("simple-idealized-1d-nlse", "numpy", "scipy"),
                  "threads": H.threads_summary(), "results": results}, args.out)


if __name__ == "__main__":
    main()
