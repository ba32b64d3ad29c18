"""Two-soliton collision of the focusing NLSE and its Zakharov–Shabat position shifts.

Shows: two bright solitons (A=1, v=1 and A=1.5, v=-1) pass through each other; afterwards each
is displaced forward by the analytic shift (2/A_j) ln|(z1 - z2*)/(z1 - z2)|, z_j = (v_j + iA_j)/2,
and carries the analytic phase shift. Solved with the 4th-order split-step method (Yoshida4),
which conserves mass to round-off, in float64 (`pdekit.enable_x64()`; `--float32` opts out).
Prints a table measured vs analytic and writes `<out>/nlse_two_soliton.png` (2x2 summary:
intensity, conservation, phase space, entropy); an existing figure is replaced only with
`--overwrite`.

CPU time: about 5 s with the defaults (N=512, dt=0.01; N=256 under-resolves the collision
peak and misses the shift by ~1.5%).
Usage: python examples/nlse_two_soliton.py [--N 512] [--dt 0.01] [--float32] [--out out]
"""

from __future__ import annotations

import argparse
import pathlib


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--N", type=int, default=512)
    parser.add_argument("--dt", type=float, default=0.01)
    parser.add_argument("--frames", type=int, default=101)
    parser.add_argument("--float32", action="store_true", help="float32 (default float64)")
    parser.add_argument("--x64", action="store_true", help="accepted; float64 is the default")
    parser.add_argument("--out", default="out")
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)
    import pdekit

    if not args.float32:
        pdekit.enable_x64()
    import numpy as np

    from pdekit.plotting import plot_nlse_summary
    from pdekit.solvers import spectral as sp

    out = pathlib.Path(args.out) / "nlse_two_soliton.png"
    if out.exists() and not args.overwrite:
        raise SystemExit(f"{out} exists; pass --overwrite to replace it")
    case = sp.cases.two_soliton(num_points=args.N, num_frames=args.frames)
    grid = case.grid(dtype=np.float32 if args.float32 else None)
    ts = case.save_times()
    sol = sp.solve(case.problem(grid), sp.Yoshida4(), case.u0(grid), case.t1, dt=args.dt,
                   saveat=ts)
    x, us = np.asarray(grid.x), np.asarray(sol.us)
    ref = case.reference
    free1, free2 = (float(f) for f in case.free_positions(case.t1))
    result = sp.cases.measure_soliton_shifts(x, us[-1], free1, free2)
    print(f"{'soliton':>8} {'measured shift':>15} {'analytic':>10}")
    for j in (1, 2):
        print(f"{j:>8} {result[f'shift{j}']:15.6f} {float(ref[f'shift{j}']):10.6f}")
    stats = {k: np.asarray(v) for k, v in sol.stats.items()}
    result["mass_drift"] = float(np.max(np.abs(stats["mass_drift"])))
    print(f"max |mass drift| = {result['mass_drift']:.2e}")
    out.parent.mkdir(parents=True, exist_ok=True)
    fig = plot_nlse_summary(x, ts, us, stats, drifts=sp.cases.conservation_drifts(
        stats, case.domain_length), title="NLSE two-soliton collision (Yoshida4)")
    fig.savefig(out, dpi=110)
    return result


if __name__ == "__main__":
    main()
