"""Spectral equations benchmark (issue #10): pdekit vs exponax 0.2 (and, for Navier–Stokes, a
plain numpy implementation of the same scheme), batched trajectories at equal accuracy.

Cases (all periodic, 2/3 dealiasing, random smooth initial data of unit RMS from a numpy
Gaussian random field with spectrum (4 pi^2 |m|^2 + tau^2)^(-alpha), seed 0):

* ``navier-stokes``: 2D vorticity, 64 x 64 on the unit torus, nu = 1e-3, unforced (exponax
  has no general forcing term), alpha = 2.5, tau = 7 (the FNO initial data), T = 2.
* ``burgers``: 1D viscous Burgers (conservative form), N = 1024 on [0, 1), nu = 0.1 (the FNO
  data set), alpha = 2, tau = 5, T = 1.
* ``ks``: 1D Kuramoto–Sivashinsky (conservative form), N = 128, L = 32 pi, alpha = 2,
  tau = 1 (on the 2 pi/L scale), T = 10 (short enough that chaos does not amplify the errors).

Every contender integrates the same batch of initial conditions (the same arrays; exponax's
grid starts at 0 and ours at -L/2, which does not matter for these translation-invariant
equations) to T in float32 (numpy: float64, its FFT has no float32 path), one `jax.vmap`ped,
ahead-of-time compiled call per configuration; time = best of several calls; throughput =
samples / time. Error = mean over the batch of the relative L2 error at T against a fine
reference: pdekit ETDRK4 in float64 on a grid twice as fine (the initial data interpolated
spectrally, the reference sampled at the coarse points) with a step 4x below the smallest
swept one. So errors measure the PDE, spatial error included; ``floor`` is the coarse grid's
own spatial error (float64, the reference step); a step beyond the stability limit shows as
a NaN error. pdekit runs ETDRK4 and ETDRK2 over a dt sweep; exponax ETDRK orders 2 and 4
over the same sweep, each through `ex.repeat` and through a
`step_fourier` loop (its fastest path); numpy the same ETDRK4 (contour-integral coefficients,
batched rfft2) at two steps. "Equal accuracy": at each level, each side's cheapest run whose
error is at or below it (by CPU time); speed-up = exponax time / pdekit time, on process CPU
time (the steadier measure of a 1-thread run on a shared machine) and on wall time.

Usage: ``python benchmarks/spectral_bench.py [--quick] [--pdekit-only] [--cases a,b]
[--out FILE.json]``.
"""

from __future__ import annotations

import _harness as H

H.pin_threads()

import json  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from pdekit.solvers import spectral as sp  # noqa: E402


def timed(fn, repeat: int) -> dict:
    """Best wall time and best process CPU time of `repeat` calls of `fn` (already warm).
    On a loaded machine the CPU time of a 1-thread run is the steadier measure of its work."""
    return H.timeit(fn, repeat=repeat, max_time=float("inf"))

VENV = H.HERE / ".venv-spectral" / "bin" / "python"
FULL = {
    "navier-stokes": dict(N=64, L=1.0, nu=1e-3, T=2.0, alpha=2.5, tau=7.0, batch=16,
                          dts=(0.2, 0.1, 0.04, 0.02), numpy_dts=(0.1, 0.04), repeat=2),
    "burgers": dict(N=1024, L=1.0, nu=0.1, T=1.0, alpha=2.0, tau=5.0, batch=32,
                    dts=(0.1, 0.05, 0.02, 0.01, 0.005, 0.0025), repeat=2),
    "ks": dict(N=128, L=32 * np.pi, nu=None, T=10.0, alpha=2.0, tau=1.0, batch=32,
               dts=(1.0, 0.5, 0.25, 0.125), repeat=2),
}
QUICK = {
    "navier-stokes": dict(FULL["navier-stokes"], N=16, T=0.1, batch=2, dts=(0.05,),
                          numpy_dts=(0.05,), repeat=1),
    "burgers": dict(FULL["burgers"], N=64, T=0.05, batch=2, dts=(0.01,), repeat=1),
    "ks": dict(FULL["ks"], N=32, T=1.0, batch=2, dts=(0.5,), repeat=1),
}
ORDERS = (2, 4)


# --------------------------------------------------------------------------- problem data
def initial_conditions(name: str, cfg: dict) -> np.ndarray:
    """`(batch, *shape)` float64 samples of a periodic Gaussian random field with covariance
    $(|k|^2 + \tau^2)^{-\alpha}$ ($k = 2\pi m/L$), zero mean, scaled to unit RMS."""
    rng = np.random.default_rng(0)
    ndim = 2 if name == "navier-stokes" else 1
    n, length = cfg["N"], cfg["L"]
    axes = tuple(range(1, ndim + 1))
    noise_hat = np.fft.rfftn(rng.standard_normal((cfg["batch"],) + (n,) * ndim), axes=axes)
    k = 2 * np.pi * np.fft.fftfreq(n, length / n)
    k_last = 2 * np.pi * np.fft.rfftfreq(n, length / n)
    k2 = k_last**2 if ndim == 1 else k[:, None] ** 2 + k_last[None, :] ** 2
    amp = (k2 + cfg["tau"] ** 2) ** (-cfg["alpha"] / 2)
    amp.flat[0] = 0.0  # zero mean
    u = np.fft.irfftn(noise_hat * amp, s=(n,) * ndim, axes=axes)
    return u / np.sqrt(np.mean(u**2, axis=axes, keepdims=True))


def make_problem(name: str, cfg: dict, n: int, dtype):
    if name == "navier-stokes":
        return sp.NavierStokes2D(sp.FourierGrid((n, n), cfg["L"], dtype=dtype), cfg["nu"])
    grid = sp.FourierGrid(n, cfg["L"], dtype=dtype)
    if name == "burgers":
        return sp.Burgers(grid, cfg["nu"])
    return sp.KuramotoSivashinsky(grid)


def refine(u: np.ndarray, ndim: int) -> np.ndarray:
    """Spectral interpolation onto the grid twice as fine (its even points are the coarse
    ones): zero-padding of the half spectrum (the coarse Nyquist modes dropped)."""
    axes = tuple(range(-ndim, 0))
    n = u.shape[-1]
    u_hat = np.fft.rfftn(u, axes=axes)
    if ndim == 1:
        out = np.zeros(u.shape[:-1] + (n + 1,), complex)
        out[..., : n // 2] = u_hat[..., : n // 2]
    else:
        out = np.zeros(u.shape[:-2] + (2 * n, n + 1), complex)
        half = n // 2
        out[..., :half, :half] = u_hat[..., :half, :half]
        out[..., -half + 1:, :half] = u_hat[..., -half + 1:, :half]
    return np.fft.irfftn(out * 2**ndim, s=(2 * n,) * ndim, axes=axes)


def rel_l2(u, ref) -> float:
    """Mean relative L2 error over the batch (NaN when a run went unstable)."""
    axes = tuple(range(1, ref.ndim))
    return float(np.mean(np.sqrt(np.sum((np.asarray(u, np.float64) - ref) ** 2, axis=axes)
                                 / np.sum(ref**2, axis=axes))))


# --------------------------------------------------------------------------- pdekit
def pdekit_batched(problem, u0s, T, dt, method=None):
    """AOT-compiled `vmap(solve)` over the batch; returns (fn, compile seconds)."""
    method = sp.ETDRK4() if method is None else method

    def one(u0):  # throw=False: a step beyond the stability limit gives a NaN row, not a crash
        return sp.solve(problem, method, u0, T, dt=dt, throw=False).us[-1]

    t0 = time.perf_counter()
    fn = jax.jit(jax.vmap(one)).lower(u0s).compile()
    return fn, time.perf_counter() - t0


def reference(name, cfg, u0s):
    ndim = 2 if name == "navier-stokes" else 1
    dt = min(cfg["dts"]) / 4
    fine = make_problem(name, cfg, 2 * cfg["N"], jnp.float64)
    fn, _ = pdekit_batched(fine, jnp.asarray(refine(u0s, ndim)), cfg["T"], dt)
    ref = np.asarray(fn(jnp.asarray(refine(u0s, ndim))))
    ref = ref[(slice(None),) + (slice(None, None, 2),) * ndim]
    coarse = make_problem(name, cfg, cfg["N"], jnp.float64)
    fn, _ = pdekit_batched(coarse, jnp.asarray(u0s), cfg["T"], dt)
    floor = rel_l2(fn(jnp.asarray(u0s)), ref)
    return ref, floor, dt


def run_pdekit(name, cfg, u0s, ref):
    problem = make_problem(name, cfg, cfg["N"], jnp.float32)
    x = jnp.asarray(u0s, jnp.float32)
    rows = []
    for (name, method), dt in ((m, dt) for m in (("ETDRK4", sp.ETDRK4()),
                                                   ("ETDRK2", sp.ETDRK2()))
                               for dt in cfg["dts"]):
        fn, compile_s = pdekit_batched(problem, x, cfg["T"], dt, method)
        out = fn(x).block_until_ready()
        t = timed(lambda fn=fn: fn(x).block_until_ready(), cfg["repeat"])
        rows.append(dict(contender="pdekit", method=name, dt=dt,
                         steps=int(round(cfg["T"] / dt)), time=t["best"], cpu=t["cpu"],
                         cpu_per_wall=t["cpu_per_wall"], compile_s=compile_s,
                         err=rel_l2(out, ref), samples_per_s=cfg["batch"] / t["best"],
                         samples_per_cpu_s=cfg["batch"] / t["cpu"]))
        print(json.dumps(rows[-1]), flush=True)
    return rows


# --------------------------------------------------------------------------- numpy NS
class NumpyNavierStokes:
    """The same scheme in plain numpy: ETDRK4 (Kassam–Trefethen contour coefficients, 32
    points, real for the real symbol) on the rfft2 half spectrum, the advection in Basdevant's
    form (2 inverse + 2 forward FFTs) with the 2/3 mask, batched over the leading axis."""

    def __init__(self, n, length, nu, dt):
        k = 2 * np.pi * np.fft.fftfreq(n, length / n)
        kr = 2 * np.pi * np.fft.rfftfreq(n, length / n)
        kd, krd = k.copy(), kr.copy()
        kd[n // 2] = 0.0
        krd[n // 2] = 0.0
        kx, ky = kd[:, None], krd[None, :]
        k2 = k[:, None] ** 2 + kr[None, :] ** 2
        inv = np.where(k2 > 0, 1 / np.where(k2 > 0, k2, 1), 0.0)
        kmax = np.pi * n / length
        self.mask = ((np.abs(k)[:, None] <= 2 / 3 * kmax * (1 + 1e-12))
                     & (np.abs(kr)[None, :] <= 2 / 3 * kmax * (1 + 1e-12))).astype(float)
        self.coef = 1j * np.stack(np.broadcast_arrays(ky * inv, -kx * inv))
        self.a = self.mask * (kx**2 - ky**2)
        self.b = self.mask * (kx * ky)
        self.n = n
        hl = -nu * k2 * dt
        roots = np.exp(2j * np.pi * (np.arange(32) + 0.5) / 32)
        lr = hl[..., None] + roots
        self.e, self.e2 = np.exp(hl).real, np.exp(hl / 2).real
        self.q = dt * np.mean((np.exp(lr / 2) - 1) / lr, axis=-1).real
        self.f1 = dt * np.mean((-4 - lr + np.exp(lr) * (4 - 3 * lr + lr**2)) / lr**3, -1).real
        self.f2 = dt * np.mean((2 + lr + np.exp(lr) * (lr - 2)) / lr**3, -1).real
        self.f3 = dt * np.mean((-4 - 3 * lr - lr**2 + np.exp(lr) * (4 - lr)) / lr**3, -1).real

    def nonlinear(self, w_hat):
        fields = np.fft.irfft2(self.coef * w_hat[:, None], s=(self.n, self.n))
        u, v = fields[:, 0], fields[:, 1]
        products = np.fft.rfft2(np.stack([u * v, v * v - u * u], axis=1))
        return self.a * products[:, 0] + self.b * products[:, 1]

    def step(self, v):
        nv = self.nonlinear(v)
        a = self.e2 * v + self.q * nv
        na = self.nonlinear(a)
        b = self.e2 * v + self.q * na
        nb = self.nonlinear(b)
        c = self.e2 * a + self.q * (2 * nb - nv)
        nc = self.nonlinear(c)
        return self.e * v + self.f1 * nv + 2 * self.f2 * (na + nb) + self.f3 * nc

    def solve(self, w0s, steps):
        w_hat = np.fft.rfft2(w0s)
        for _ in range(steps):
            w_hat = self.step(w_hat)
        return np.fft.irfft2(w_hat, s=(self.n, self.n))


def run_numpy(cfg, u0s, ref):
    rows = []
    for dt in cfg["numpy_dts"]:
        steps = int(round(cfg["T"] / dt))
        solver = NumpyNavierStokes(cfg["N"], cfg["L"], cfg["nu"], dt)
        out = solver.solve(u0s, steps)
        t = timed(lambda solver=solver, steps=steps: solver.solve(u0s, steps),
                  max(1, cfg["repeat"] - 1))
        rows.append(dict(contender="numpy", method="ETDRK4 (float64)", dt=dt, steps=steps,
                         time=t["best"], cpu=t["cpu"], cpu_per_wall=t["cpu_per_wall"],
                         err=rel_l2(out, ref),
                         samples_per_s=cfg["batch"] / t["best"],
                         samples_per_cpu_s=cfg["batch"] / t["cpu"]))
        print(json.dumps(rows[-1]), flush=True)
    return rows


# --------------------------------------------------------------------------- exponax
def run_exponax(name, cfg, u0s, ref, tmp: Path):
    np.savez(tmp / f"{name}-u0.npz", u0=u0s)
    spec = dict(case=dict(name=name, N=cfg["N"], L=cfg["L"], nu=cfg["nu"], T=cfg["T"]),
                inputs=str(tmp / f"{name}-u0.npz"), repeat=cfg["repeat"],
                runs=[(order, dt) for order in ORDERS for dt in cfg["dts"]])
    (tmp / f"{name}-spec.json").write_text(json.dumps(spec))
    res = H.run_peer(VENV, "spectral_exponax.py", ["--spec", str(tmp / f"{name}-spec.json")],
                     label="exponax", timeout=1800)
    if "skipped" in res:
        return res, []
    finals = H.load_arrays(res)
    rows = []
    for r in res["results"]:
        rows.append(dict(contender="exponax", method=f"ETDRK{r['order']} ({r['variant']})",
                         dt=r["dt"], steps=r["steps"], time=r["time"]["best"],
                         cpu=r["time"]["cpu"], cpu_per_wall=r["time"]["cpu_per_wall"],
                         err=rel_l2(finals[r["name"]], ref),
                         samples_per_s=cfg["batch"] / r["time"]["best"],
                         samples_per_cpu_s=cfg["batch"] / r["time"]["cpu"]))
        print(json.dumps(rows[-1]), flush=True)
    return res, rows


def cheapest(rows, contender, level):
    ok = [r for r in rows if r["contender"] == contender and r["err"] <= level]
    return min(ok, key=lambda r: r["cpu"]) if ok else None


def compare(rows, floor):
    """Speed-ups along the Pareto fronts (samples per CPU second vs error): at the tightest
    error both pdekit and exponax reach (x1.05) and at the fixed levels 1e-2, 1e-3, 1e-4 (1e-3
    is well below what operator learning resolves); levels above the floor only."""
    best = [min((r["err"] for r in rows if r["contender"] == c and np.isfinite(r["err"])),
                default=np.inf) for c in ("pdekit", "exponax")]  # NaN rows: unstable steps
    fixed = {lv for lv in (1e-2, 1e-3, 1e-4) if lv >= floor}
    levels = sorted(fixed | {1.05 * max(best)}) if np.all(np.isfinite(best)) else sorted(fixed)
    out = []
    for level in levels:
        p, e = cheapest(rows, "pdekit", level), cheapest(rows, "exponax", level)
        n = cheapest(rows, "numpy", level)
        out.append(dict(level=level, floor=floor,
                        pdekit=p and f"{p['method']} dt={p['dt']:g}",
                        pdekit_samples_per_s=p and p["samples_per_s"],
                        pdekit_samples_per_cpu_s=p and p["samples_per_cpu_s"],
                        pdekit_err=p and p["err"],
                        exponax=e and f"{e['method']} dt={e['dt']:g}",
                        exponax_samples_per_s=e and e["samples_per_s"],
                        exponax_samples_per_cpu_s=e and e["samples_per_cpu_s"],
                        exponax_err=e and e["err"],
                        numpy_samples_per_cpu_s=n and n["samples_per_cpu_s"],
                        speedup_vs_exponax_cpu=(e["cpu"] / p["cpu"]) if p and e else None,
                        speedup_vs_exponax_wall=(e["time"] / p["time"]) if p and e else None,
                        speedup_vs_numpy_cpu=(n["cpu"] / p["cpu"]) if p and n else None))
    return out


def main():
    p = H.common_argparser(__doc__.splitlines()[0])
    p.add_argument("--pdekit-only", action="store_true")
    p.add_argument("--cases", default=",".join(FULL))
    args = p.parse_args()
    configs = QUICK if args.quick else FULL
    report = dict(benchmark="spectral", machine=H.machine_info(), threads=H.threads_summary(),
                  versions=H.versions("jax", "jaxlib", "equinox", "numpy"), cases={})
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.cases.split(","):
            cfg = configs[name]
            print(f"--- {name} {cfg}", flush=True)
            u0s = initial_conditions(name, cfg)
            ref, floor, ref_dt = reference(name, cfg, u0s)
            rows = run_pdekit(name, cfg, u0s, ref)
            peer = {}
            if not args.pdekit_only:
                if name == "navier-stokes":
                    rows += run_numpy(cfg, u0s, ref)
                peer, peer_rows = run_exponax(name, cfg, u0s, ref, Path(tmp))
                rows += peer_rows
            report["cases"][name] = dict(
                config={k: v for k, v in cfg.items()}, reference=dict(
                    method="pdekit ETDRK4 float64, 2N grid", dt=ref_dt, floor=floor),
                rows=rows, comparison=compare(rows, floor),
                peer={k: v for k, v in peer.items() if k != "results"})
            for c in report["cases"][name]["comparison"]:
                print(json.dumps(c), flush=True)
    report["machine"]["loadavg_end"] = H.machine_info()["loadavg_1_5_15"]
    H.write_json(report, args.out)


if __name__ == "__main__":
    main()
