"""Runner for the peer exponax 0.2 (JAX ETDRK steppers; runs in benchmarks/.venv-spectral).

Reads a job spec from spectral_bench.py (case, grid, coefficients, initial conditions in an
npz, a list of (order, dt) runs), runs each configuration on the whole batch with
`jax.jit(jax.vmap(...))` in float32, in two ways: exponax's documented `ex.repeat(stepper,
n)` (physical state in and out of every step: one FFT pair more per step) and a
`lax.fori_loop` over `stepper.step_fourier` (Fourier state, the peer's fastest path), and
saves the final states for spectral_bench.py to score.
"""

from __future__ import annotations

import _harness as H

H.pin_threads()

import exponax as ex  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402


def timed(fn, repeat: int) -> dict:
    """Best wall time and best process CPU time of `repeat` calls of `fn` (already warm).
    On a loaded machine the CPU time of a 1-thread run is the steadier measure of its work."""
    return H.timeit(fn, repeat=repeat, max_time=float("inf"))


def make_stepper(case: dict, order: int, dt: float):
    if case["name"] == "navier-stokes":
        # exponax solves Delta psi = w and u = (psi_y, -psi_x), i.e. minus the usual velocity
        # (ours and the FNO's: -Delta psi = w); convection scale -1 gives the same equation.
        return ex.stepper.NavierStokesVorticity(
            2, case["L"], case["N"], dt, diffusivity=case["nu"], vorticity_convection_scale=-1.0,
            order=order)
    if case["name"] == "burgers":
        return ex.stepper.Burgers(1, case["L"], case["N"], dt, diffusivity=case["nu"],
                                  conservative=True, order=order)
    if case["name"] == "ks":
        return ex.stepper.KuramotoSivashinskyConservative(1, case["L"], case["N"], dt,
                                                          order=order)
    raise ValueError(f"unknown case {case['name']!r}")


def main():
    args, spec = H.read_spec(__doc__.splitlines()[0])
    case = spec["case"]
    u0s = jnp.asarray(np.load(spec["inputs"])["u0"], dtype=jnp.float32)[:, None]  # (B, 1, ...)
    results, finals = [], {}
    for order, dt in spec["runs"]:
        n = int(round(case["T"] / dt))
        stepper = make_stepper(case, order, dt)
        repeat = jax.jit(jax.vmap(ex.repeat(stepper, n))).lower(u0s).compile()

        def fourier_loop(u0, stepper=stepper, n=n):
            u_hat = jax.lax.fori_loop(0, n, lambda _, v: stepper.step_fourier(v), ex.fft(u0))
            return ex.ifft(u_hat, num_points=case["N"])

        loop = jax.jit(jax.vmap(fourier_loop)).lower(u0s).compile()
        for variant, fn in (("repeat", repeat), ("step_fourier", loop)):
            out = fn(u0s).block_until_ready()
            t = timed(lambda fn=fn: fn(u0s).block_until_ready(), spec["repeat"])
            name = f"order{order}-dt{dt:g}-{variant}"
            finals[name] = np.asarray(out[:, 0], dtype=np.float64)
            results.append({"name": name, "order": order, "dt": dt, "steps": n,
                            "variant": variant, "time": t})
    np.savez(args.out + ".npz", **finals)
    H.write_json({"solver": f"exponax {ex.__version__} (ETDRK, float32)",
                  "versions": H.versions("exponax", "jax", "jaxlib", "equinox", "numpy"),
                  "threads": H.threads_summary(), "results": results}, args.out)


if __name__ == "__main__":
    main()
