"""``pdekit simulate nlse``: run a canonical NLSE case, report JSON, save .npz, draw a figure."""

from __future__ import annotations

import argparse
import json
import sys
import time

from .._misc import check_finite_scalar
from ._common import add_common_options, emit_json, parse_params

CASES = ("soliton", "two-soliton", "breather", "mi")
METHODS = ("lawsondop853", "lawsondopri8", "dopri8", "strang", "yoshida4", "splitstep6",
           "splitstep8", "lawson4", "lawson8", "etdrk4")
DEFAULT_METHOD = "lawsondop853"  # the fastest accurate one (benchmarks/RESULTS.md, NLSE)
_ADAPTIVE = ("dopri8", "lawsondopri8", "lawsondop853")
_DEFAULT_DT = 0.005


def add_parser(subparsers):
    p = subparsers.add_parser(
        "nlse", help="1D nonlinear Schrödinger equation (pseudo-spectral)",
        description="Solve i psi_t + (beta/2) psi_xx + gamma |psi|^2 psi = 0 on a periodic "
                    "domain for a canonical case and compare with its analytic reference "
                    "(float64 unless --float32).")
    p.add_argument("--case", choices=CASES, default="soliton", help="case (default: soliton)")
    p.add_argument("--N", type=int, default=None, help="grid points (even; default per case)")
    p.add_argument("--L", type=float, default=None,
                   help="domain length (soliton cases; breather/mi use --param num_periods)")
    p.add_argument("--t-final", type=float, default=None,
                   help="final time (breather: window [-t, t])")
    p.add_argument("--frames", type=int, default=None, help="saved frames (default 101)")
    p.add_argument("--method", choices=METHODS, default=DEFAULT_METHOD,
                   help=f"time integrator (default {DEFAULT_METHOD})")
    p.add_argument("--dt", type=float, default=None,
                   help=f"fixed step (default {_DEFAULT_DT}) or the adaptive methods' "
                        "first trial step")
    p.add_argument("--rtol", type=float, default=None,
                   help="adaptive methods' rtol (default 1e-10, with --float32 1e-5)")
    p.add_argument("--atol", type=float, default=None,
                   help="adaptive methods' atol (default 1e-12, with --float32 1e-7)")
    p.add_argument("--beta", type=float, default=None, help="dispersion (default 1)")
    p.add_argument("--gamma", type=float, default=None, help="nonlinearity (default 1)")
    p.add_argument("--param", action="append", metavar="NAME=VALUE",
                   help="case parameter, repeatable (e.g. amplitude=1.5)")
    p.add_argument("--seed", type=int, default=None, help="noise seed (mi)")
    add_common_options(p, time_dependent=True)
    p.set_defaults(func=run)


def _check_number(flag: str, value, *, positive: bool = False, nonnegative: bool = False):
    """argparse's float() accepts 'nan' and 'inf': refuse them (and signs) naming the flag."""
    if value is not None:
        check_finite_scalar(flag, value, positive=positive, nonnegative=nonnegative)


def _build(args: argparse.Namespace):
    """Validate everything and build (case, grid, problem, method, dt, u0) before any work."""
    import jax.numpy as jnp

    from .._misc import check_finite_array
    from ..solvers import spectral as sp

    params = parse_params(args.param)
    allowed = sp.cases.parameter_names(args.case)
    reserved = ("num_points", "domain_length", "t_final", "num_frames", "beta", "gamma")
    for name, value in params.items():
        if name not in allowed or name in reserved:
            raise ValueError(f"--param {name}: unknown parameter for case {args.case!r}; "
                             f"allowed: {[a for a in allowed if a not in reserved]}.")
        _check_number(f"--param {name}", value)
    if args.N is not None and (args.N <= 0 or args.N % 2):
        raise ValueError(f"--N must be a positive even integer, got {args.N}.")
    if args.frames is not None and args.frames < 2:
        raise ValueError(f"--frames must be >= 2, got {args.frames}.")
    if args.seed is not None and args.seed < 0:
        raise ValueError(f"--seed must be >= 0, got {args.seed}.")
    _check_number("--L", args.L, positive=True)
    _check_number("--t-final", args.t_final, nonnegative=True)
    _check_number("--dt", args.dt, positive=True)
    _check_number("--rtol", args.rtol, positive=True)
    _check_number("--atol", args.atol, positive=True)
    _check_number("--beta", args.beta)
    _check_number("--gamma", args.gamma)
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
    case = sp.cases.get(args.case, **params)
    dtype = jnp.float32 if args.float32 else jnp.float64
    grid = case.grid(dtype=dtype)
    problem = case.problem(grid)
    if args.method in _ADAPTIVE:
        method = {"dopri8": sp.Dopri8, "lawsondopri8": sp.LawsonDopri8,
                  "lawsondop853": sp.LawsonDOP853}[args.method](rtol=args.rtol, atol=args.atol)
        method.tolerances(grid.dtype)  # rtol below the precision: refused here
        dt = args.dt
    else:
        if args.rtol is not None or args.atol is not None:
            raise ValueError(f"--rtol/--atol apply to the adaptive methods {list(_ADAPTIVE)}, "
                             f"not to --method {args.method}.")
        method = {"strang": sp.StrangSplitting, "yoshida4": sp.Yoshida4,
                  "splitstep6": sp.SplitStep6, "splitstep8": sp.SplitStep8,
                  "lawson4": sp.LawsonRK4, "lawson8": sp.LawsonRK8,
                  "etdrk4": sp.ETDRK4}[args.method]()
        dt = _DEFAULT_DT if args.dt is None else args.dt
    u0 = case.u0(grid)
    check_finite_array("initial data (check the case parameters)", u0)
    return case, grid, problem, method, dt, u0


def _chunk_size(num_intervals: int, target_chunks: int = 20) -> int:
    """Largest divisor of `num_intervals` giving at least `target_chunks` chunks (all chunks
    equal, so the jitted solve compiles once)."""
    best = 1
    for m in range(1, num_intervals + 1):
        if num_intervals % m == 0 and num_intervals // m >= min(target_chunks, num_intervals):
            best = m
    return best


def _floats(d: dict) -> dict:
    return {k: (v if isinstance(v, int) else float(v)) for k, v in d.items()}


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
    stats = {k: np.asarray(v) for k, v in
             eqx.filter_jit(lambda p, v: p.diagnostics(v))(problem, us).items()}
    drifts = sp.cases.conservation_drifts(stats, case.domain_length)
    us_np = np.asarray(us)
    x = np.asarray(grid.x)
    reference = _floats(case.reference)

    report = dict(
        case=case.name,
        parameters=dict(_floats(case.parameters), beta=float(case.beta),
                        gamma=float(case.gamma), num_points=case.num_points,
                        domain_length=case.domain_length, t0=case.t0, t1=case.t1,
                        num_frames=case.num_frames),
        method=dict(name=args.method, dt=dt, **(
            dict(zip(("rtol", "atol"), map(float, method.tolerances(grid.dtype))))
            if args.method in _ADAPTIVE else {})),
        dtype=str(grid.complex_dtype), steps=steps, wall_time_s=wall,
        compile_time_s=compile_time,
        final_drift={k: float(v[-1]) for k, (v, _) in drifts.items()},
        max_abs_drift={k: float(np.max(np.abs(v))) for k, (v, _) in drifts.items()},
        drift_scale={k: how for k, (_, how) in drifts.items()},
        reference=reference,
    )
    if case.has_exact:
        exact_final = np.asarray(case.exact(grid, case.t1))
        report["max_abs_error_final"] = float(np.max(np.abs(us_np[-1] - exact_final)))
        if case.name == "breather":
            i = int(np.argmin(np.abs(ts - reference["t_peak"])))
            exact_peak = np.asarray(case.exact(grid, ts[i]))
            report["t_peak"] = float(ts[i])
            report["max_abs_error_peak"] = float(np.max(np.abs(us_np[i] - exact_peak)))
    if case.name == "two-soliton":
        free1, free2 = (float(f) for f in case.free_positions(case.t1))
        report["measured"] = sp.cases.measure_soliton_shifts(x, us_np[-1], free1, free2)
    if case.name == "mi":
        report["measured"] = dict(growth_rate=sp.cases.measure_growth_rate(
            grid, ts, us_np, reference["k_max"]))

    if args.save:
        np.savez(args.save, x=x, t=ts, psi=us_np, **{f"diag_{k}": v for k, v in stats.items()},
                 metadata=json.dumps(report, default=float))
    if args.plot:
        from ..plotting import plot_nlse_summary

        title = (f"NLSE {case.name}: N={case.num_points}, L={case.domain_length:.4g}, "
                 f"{args.method}, beta={float(case.beta):g}, gamma={float(case.gamma):g}, "
                 f"{grid.complex_dtype}")
        fig = plot_nlse_summary(x, ts, us_np, stats, drifts=drifts, title=title)
        fig.savefig(args.plot, dpi=110)
    if args.json:
        emit_json(report)
    else:
        print(f"{case.name}: {steps} steps in {wall:.2f} s (compile ~{compile_time:.2f} s, "
              f"{grid.complex_dtype}); mass drift {report['final_drift']['mass']:.2e}, "
              f"Hamiltonian drift {report['final_drift']['hamiltonian']:.2e}"
              + (f", max error {report['max_abs_error_final']:.2e}" if case.has_exact else ""))
    return 0
