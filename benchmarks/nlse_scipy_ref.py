"""Reference NLSE solver: scipy ``solve_ivp(method="DOP853")`` on the Fourier-space ODE.

    i psi_t + (beta/2) psi_xx + gamma |psi|^2 psi = 0
    =>  d/dt psi_hat = -i (beta/2) k^2 psi_hat + i gamma FFT(|psi|^2 psi),   psi = IFFT(psi_hat)

with numpy FFTs, no integrating factor, no filter: the straightforward approach of issue #3.
Runs in any venv with numpy + scipy (run.sh uses benchmarks/.venv-nlse). Reads a job file
written by nlse_bench.py (``--spec``: JSON with an ``inputs`` npz of initial conditions) and
writes timings to ``--out`` and the computed frames to ``<out>.npz``.
"""

from __future__ import annotations

import _harness as H

H.pin_threads()


import numpy as np  # noqa: E402
import scipy  # noqa: E402
from scipy.integrate import solve_ivp  # noqa: E402


def make_rhs(N: int, L: float, beta: float, gamma: float):
    k = 2 * np.pi * np.fft.fftfreq(N, d=L / N)
    lin = -0.5j * beta * k**2
    fft, ifft = np.fft.fft, np.fft.ifft

    def rhs(t, y):
        psi = ifft(y)
        return lin * y + 1j * gamma * fft((psi.real**2 + psi.imag**2) * psi)

    return rhs


def solve(u0, *, N, L, beta, gamma, t1, ts, rtol, atol):
    """Frames ``(len(ts), N)`` of the solution and the number of RHS evaluations."""
    sol = solve_ivp(make_rhs(N, L, beta, gamma), (0.0, t1), np.fft.fft(u0), method="DOP853",
                    t_eval=ts, rtol=rtol, atol=atol)
    if not sol.success:
        raise RuntimeError(sol.message)
    return np.fft.ifft(sol.y.T, axis=-1), sol.nfev


def main():
    args, spec = H.read_spec(__doc__.splitlines()[0])
    inputs = np.load(spec["inputs"])
    frames, results = {}, []
    for job in spec["jobs"]:
        u0s = inputs[job["u0"]]
        ts = np.linspace(0.0, job["t1"], job["nframes"])
        kw = dict(N=job["N"], L=job["L"], beta=job["beta"], gamma=job["gamma"], t1=job["t1"],
                  ts=ts, rtol=job["rtol"], atol=job["atol"])
        if u0s.ndim == 1:  # one run, timed `repeat` times
            (us, nfev), t_first = H.first_call(lambda: solve(u0s, **kw))  # noqa: B023
            t = H.timeit(lambda: solve(u0s, **kw), repeat=job.get("repeat", 3),  # noqa: B023
                         max_time=60)
            frames[job["name"]] = us
            results.append({"name": job["name"], "time": t, "first_call": t_first,
                            "nfev": int(nfev), "rtol": job["rtol"], "atol": job["atol"]})
        else:  # a loop over a batch of initial conditions, timed once
            t = H.timeit(lambda: [solve(u, **kw) for u in u0s], repeat=1)  # noqa: B023
            results.append({"name": job["name"], "time": t, "runs": int(u0s.shape[0]),
                            "runs_per_s": u0s.shape[0] / t["best"]})
    np.savez(args.out + ".npz", **frames)
    H.write_json({"solver": "scipy solve_ivp DOP853 + numpy.fft (Fourier-space ODE)",
                  "versions": H.versions("numpy", "scipy"), "threads": H.threads_summary(),
                  "scipy_version": scipy.__version__, "results": results}, args.out)


if __name__ == "__main__":
    main()
