"""``pdekit simulate nlse``: run a canonical NLSE case, report JSON, save .npz, draw a figure."""

from __future__ import annotations

import argparse
import json
import sys
import time

from ._common import add_common_options, emit_json, parse_params

CASES = ("soliton", "two-soliton", "breather", "mi")
METHODS = ("dopri8", "lawsondopri8", "lawsondop853", "strang", "yoshida4", "splitstep6",
           "splitstep8", "lawson4", "lawson8", "etdrk4")
_ADAPTIVE = ("dopri8", "lawsondopri8", "lawsondop853")
_DEFAULT_DT = 0.005
_FIXED_DOMAIN = ("breather", "mi")  # domain set by the period / fastest-growing wavelength


def add_parser(subparsers):
    p = subparsers.add_parser(
        "nlse", help="1D nonlinear Schrödinger equation (pseudo-spectral)",
        description="Solve i psi_t + (beta/2) psi_xx + gamma |psi|^2 psi = 0 on a periodic "
                    "domain for a canonical case and compare with its analytic reference.")
    p.add_argument("--case", choices=CASES, default="soliton", help="case (default: soliton)")
    p.add_argument("--N", type=int, default=None, help="grid points (even; default per case)")
    p.add_argument("--L", type=float, default=None,
                   help="domain length (soliton cases; breather/mi use --param num_periods)")
    p.add_argument("--t-final", type=float, default=None,
                   help="final time (breather: window [-t, t])")
    p.add_argument("--frames", type=int, default=None, help="saved frames (default 101)")
    p.add_argument("--method", choices=METHODS, default="dopri8", help="time integrator")
    p.add_argument("--dt", type=float, default=None,
                   help=f"fixed step (default {_DEFAULT_DT}) or the adaptive methods' "
                        "first trial step")
    p.add_argument("--rtol", type=float, default=None,
                   help="Dopri8/LawsonDopri8/LawsonDOP853 rtol "
                        "(default 1e-10 with --x64, else 1e-5)")
    p.add_argument("--atol", type=float, default=None,
                   help="Dopri8/LawsonDopri8/LawsonDOP853 atol "
                        "(default 1e-12 with --x64, else 1e-7)")
    p.add_argument("--beta", type=float, default=None, help="dispersion (default 1)")
    p.add_argument("--gamma", type=float, default=None, help="nonlinearity (default 1)")
    p.add_argument("--param", action="append", metavar="NAME=VALUE",
                   help="case parameter, repeatable (e.g. amplitude=1.5)")
    p.add_argument("--seed", type=int, default=None, help="noise seed (mi)")
    add_common_options(p, time_dependent=True)
    p.set_defaults(func=run)


def _build(args: argparse.Namespace):
    """Validate everything and build (case, grid, problem, method, dt) before any work."""
    from ..solvers import spectral as sp

    params = parse_params(args.param)
    allowed = sp.cases.parameter_names(args.case)
    reserved = ("num_points", "domain_length", "t_final", "num_frames", "beta", "gamma")
    for name in params:
        if name not in allowed or name in reserved:
            raise ValueError(f"--param {name}: unknown parameter for case {args.case!r}; "
                             f"allowed: {[a for a in allowed if a not in reserved]}.")
    for flag, key, value in (("--N", "num_points", args.N), ("--L", "domain_length", args.L),
                             ("--t-final", "t_final", args.t_final),
                             ("--frames", "num_frames", args.frames),
                             ("--beta", "beta", args.beta), ("--gamma", "gamma", args.gamma),
                             ("--seed", "seed", args.seed)):
        if value is None:
            continue
        if key not in allowed:
            raise ValueError(f"{flag} does not apply to case {args.case!r}"
                             + ("; use --param num_periods=..." if key == "domain_length" else ""))
        params[key] = value
    if args.N is not None and (args.N <= 0 or args.N % 2):
        raise ValueError(f"--N must be a positive even integer, got {args.N}.")
    if args.t_final is not None and args.t_final < 0:
        raise ValueError(f"--t-final must be >= 0, got {args.t_final}.")
    case = sp.cases.get(args.case, **params)
    grid = case.grid()
    problem = case.problem(grid)
    if args.method in _ADAPTIVE:
        method = {"dopri8": sp.Dopri8, "lawsondopri8": sp.LawsonDopri8,
                  "lawsondop853": sp.LawsonDOP853}[args.method](
            rtol=args.rtol, atol=args.atol)
        method.tolerances(grid.dtype)
        dt = args.dt
    else:
        method = {"strang": sp.StrangSplitting, "yoshida4": sp.Yoshida4,
                  "splitstep6": sp.SplitStep6, "splitstep8": sp.SplitStep8,
                  "lawson4": sp.LawsonRK4, "lawson8": sp.LawsonRK8,
                  "etdrk4": sp.ETDRK4}[args.method]()
        dt = _DEFAULT_DT if args.dt is None else args.dt
    if dt is not None and not dt > 0:
        raise ValueError(f"--dt must be > 0, got {dt}.")
    u0 = case.u0(grid)
    from .._misc import check_finite_array

    check_finite_array("initial data", u0)
    return case, grid, problem, method, dt, u0


def _chunk_size(num_intervals: int, target_chunks: int = 20) -> int:
    """Largest divisor of `num_intervals` giving at least `target_chunks` chunks (all chunks
    equal, so the jitted solve compiles once)."""
    best = 1
    for m in range(1, num_intervals + 1):
        if num_intervals % m == 0 and num_intervals // m >= min(target_chunks, num_intervals):
            best = m
    return best


def run(args: argparse.Namespace) -> int:
    import equinox as eqx
    import jax
    import numpy as np
    from tqdm import tqdm

    from ..solvers import RESULTS
    from ..solvers import spectral as sp

    case, grid, problem, method, dt, u0 = _build(args)
    ts = case.save_times()
    m = _chunk_size(ts.size - 1)
    frames, steps, chunk_times = [u0], 0, []
    u = u0
    t_start = time.perf_counter()
    with tqdm(total=ts.size - 1, unit="frame", file=sys.stderr, disable=args.quiet,
              desc=f"nlse {case.name}", dynamic_ncols=True) as bar:
        for i in range(0, ts.size - 1, m):
            tc = time.perf_counter()
            sol = sp.solve(problem, method, u, ts[i + m], t0=ts[i], dt=dt,
                           saveat=ts[i + 1:i + m + 1], throw=False)
            sol.us.block_until_ready()
            chunk_times.append(time.perf_counter() - tc)
            if sol.result != RESULTS.successful:
                raise ValueError(f"the solve failed at t in [{ts[i]:g}, {ts[i + m]:g}]: "
                                 f"{RESULTS[sol.result]}")
            frames.extend(list(sol.us))
            steps += int(sol.stats["num_steps"])
            u = sol.us[-1]
            bar.update(m)
    wall = time.perf_counter() - t_start
    compile_time = (chunk_times[0] - float(np.mean(chunk_times[1:]))
                    if len(chunk_times) > 1 else float("nan"))
    us = jax.numpy.stack(frames)
    stats = {k: np.asarray(v) for k, v in eqx.filter_jit(sp.diagnostics)(problem, us).items()}
    us_np = np.asarray(us)
    x = np.asarray(grid.x)

    report = dict(
        case=case.name,
        parameters=dict(case.parameters, beta=case.beta, gamma=case.gamma,
                        num_points=case.num_points, domain_length=case.domain_length,
                        t0=case.t0, t1=case.t1, num_frames=case.num_frames),
        method=dict(name=args.method, dt=dt, **(
            dict(zip(("rtol", "atol"), map(float, method.tolerances(grid.dtype))))
            if args.method in _ADAPTIVE else {})),
        dtype=str(grid.complex_dtype), steps=steps, wall_time_s=wall,
        compile_time_s=compile_time,
        final_drift=dict(mass=stats["mass_drift"][-1], momentum=stats["momentum_drift"][-1],
                         hamiltonian=stats["hamiltonian_drift"][-1]),
        max_abs_drift=dict(mass=np.max(np.abs(stats["mass_drift"])),
                           momentum=np.max(np.abs(stats["momentum_drift"])),
                           hamiltonian=np.max(np.abs(stats["hamiltonian_drift"]))),
        reference=case.reference,
    )
    if case.has_exact:
        exact_final = np.asarray(case.exact(grid, case.t1))
        report["max_abs_error_final"] = float(np.max(np.abs(us_np[-1] - exact_final)))
        if case.name == "breather":
            i = int(np.argmin(np.abs(ts - case.reference["t_peak"])))
            exact_peak = np.asarray(case.exact(grid, ts[i]))
            report["t_peak"] = float(ts[i])
            report["max_abs_error_peak"] = float(np.max(np.abs(us_np[i] - exact_peak)))
    if case.name == "two-soliton":
        report["measured"] = _two_soliton_shifts(case, x, us_np[-1])
    if case.name == "mi":
        from ..solvers.spectral import cases

        report["measured"] = dict(growth_rate=cases.measure_growth_rate(
            grid, ts, us_np, case.reference["k_max"]))

    if args.save:
        np.savez(args.save, x=x, t=ts, psi=us_np, **{f"diag_{k}": v for k, v in stats.items()},
                 metadata=json.dumps(report, default=float))
    if args.plot:
        from ..plotting import plot_nlse_summary

        title = (f"NLSE {case.name}: N={case.num_points}, L={case.domain_length:.4g}, "
                 f"{args.method}, beta={case.beta:g}, gamma={case.gamma:g}")
        plot_nlse_summary(x, ts, us_np, stats, title=title, path=args.plot)
    if args.json:
        emit_json(report)
    else:
        print(f"{case.name}: {steps} steps in {wall:.2f} s (compile ~{compile_time:.2f} s); "
              f"mass drift {report['final_drift']['mass']:.2e}, Hamiltonian drift "
              f"{report['final_drift']['hamiltonian']:.2e}"
              + (f", max error {report['max_abs_error_final']:.2e}" if case.has_exact else ""))
    return 0


def _two_soliton_shifts(case, x, psi):
    """Measured displacements of both solitons from their free trajectories at t1 (centre of
    mass of |psi|^2 on either side of the midpoint between the free positions)."""
    import numpy as np

    p = case.parameters
    free1 = -0.5 * p["separation"] + p["velocity1"] * case.t1
    free2 = 0.5 * p["separation"] + p["velocity2"] * case.t1
    mid = 0.5 * (free1 + free2)
    intensity = np.abs(psi) ** 2
    out = {}
    for j, side, free in ((1, x > mid, free1), (2, x <= mid, free2)):
        out[f"shift{j}"] = float(np.sum(x[side] * intensity[side]) / np.sum(intensity[side])
                                 - free)
    return out
