"""Two-soliton collision of the focusing NLSE and its Zakharov–Shabat position shifts.

Shows: two bright solitons (A=1, v=1 and A=1.5, v=-1) pass through each other; afterwards each
is displaced forward by the analytic shift (2/A_j) ln|(z1 - z2*)/(z1 - z2)|, z_j = (v_j + iA_j)/2,
and carries the analytic phase shift. Solved with the 4th-order split-step method (Yoshida4),
which conserves mass to round-off. Prints a table measured vs analytic and writes
`<out>/nlse_two_soliton.png` (2x2 summary: intensity, conservation, phase space, entropy).

CPU time: about 5 s with the defaults (N=512, dt=0.01; N=256 under-resolves the collision
peak and misses the shift by ~1.5%).
Usage: python examples/nlse_two_soliton.py [--N 512] [--dt 0.01] [--x64] [--out out]
"""

from __future__ import annotations

import argparse
import pathlib


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--N", type=int, default=512)
    parser.add_argument("--dt", type=float, default=0.01)
    parser.add_argument("--frames", type=int, default=101)
    parser.add_argument("--x64", action="store_true", help="float64 (recommended)")
    parser.add_argument("--out", default="out")
    args = parser.parse_args(argv)
    if args.x64:
        import pdekit

        pdekit.enable_x64()
    import numpy as np

    from pdekit.plotting import plot_nlse_summary
    from pdekit.solvers import spectral as sp

    case = sp.cases.two_soliton(num_points=args.N, num_frames=args.frames)
    grid = case.grid()
    ts = case.save_times()
    sol = sp.solve(case.problem(grid), sp.Yoshida4(), case.u0(grid), case.t1, dt=args.dt,
                   saveat=ts)
    x, us = np.asarray(grid.x), np.asarray(sol.us)
    p, ref = case.parameters, case.reference
    intensity = np.abs(us[-1]) ** 2
    result = {}
    print(f"{'soliton':>8} {'measured shift':>15} {'analytic':>10}")
    for j, side, start in ((1, x > 0, -0.5 * p["separation"]),
                           (2, x <= 0, 0.5 * p["separation"])):
        centre = np.sum(x[side] * intensity[side]) / np.sum(intensity[side])
        shift = centre - (start + p[f"velocity{j}"] * case.t1)
        result[f"shift{j}"] = float(shift)
        print(f"{j:>8} {shift:15.6f} {ref[f'shift{j}']:10.6f}")
    result["mass_drift"] = float(np.max(np.abs(np.asarray(sol.stats["mass_drift"]))))
    print(f"max |mass drift| = {result['mass_drift']:.2e}")
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    plot_nlse_summary(x, ts, us, {k: np.asarray(v) for k, v in sol.stats.items()},
                      title="NLSE two-soliton collision (Yoshida4)",
                      path=out / "nlse_two_soliton.png")
    return result


if __name__ == "__main__":
    main()
