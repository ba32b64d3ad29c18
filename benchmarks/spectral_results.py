"""The RESULTS.md section of benchmarks/spectral_bench.py (standard library only; registered in
write_results.py)."""

from __future__ import annotations

import datetime

import _harness as H

TITLES = {"navier-stokes": "2D Navier–Stokes (vorticity), 64×64, ν = 1e-3, unforced, T = 2",
          "burgers": "1D viscous Burgers, N = 1024 on [0, 1), ν = 0.1, T = 1",
          "ks": "1D Kuramoto–Sivashinsky, N = 128, L = 32π, T = 10"}


def spectral_section(d: dict, cmd: str) -> str:
    m, t = d["machine"], d["threads"]
    pin = ", ".join(f"{k}={v}" for k, v in t.items())
    vers = ", ".join(f"{k} {v}" for k, v in d["versions"].items())
    out = ["## Spectral equations (issue #10): pdekit vs exponax 0.2 (and numpy for NS), "
           "batched trajectories at equal accuracy", "",
           f"- date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; command: `{cmd}`",
           f"- machine: {m['cpu_model']}, {m['logical_cpus']} logical CPUs; load average "
           f"(1/5/15 min) at start {m['loadavg_1_5_15']}, at end {m.get('loadavg_end')}; "
           "samples/s per **CPU second** (process CPU time of the 1-thread run) is the figure "
           "compared, wall-time figures are inflated by the other load (`cpu/wall` < 1)",
           f"- thread pinning (every contender, the peer inherits it): {pin}",
           f"- versions (pdekit side): {vers}"]
    for name, case in d["cases"].items():
        peer = case.get("peer") or {}
        if "versions" in peer:
            out.append(f"- {peer['solver']}: " + ", ".join(
                f"{k} {v}" for k, v in peer["versions"].items()))
        elif "skipped" in peer:
            out.append(f"- exponax ({name}): skipped ({peer['skipped']})")
        break
    for name, case in d["cases"].items():
        c, ref = case["config"], case["reference"]
        out += ["", f"### {TITLES.get(name, name)}", "",
                f"Batch of {c['batch']} initial conditions; error = mean relative L2 error at "
                f"T against {ref['method']} (dt = {ref['dt']:g}); the coarse grid's own "
                f"spatial error (floor) is {ref['floor']:.2e}.", ""]
        cols = [("contender", "contender", "s"), ("method", "method", "s"), ("dt", "dt", "g"),
                ("steps", "steps", "d"), ("err", "rel L2 err", ".2e"),
                ("samples_per_cpu_s", "samples / CPU s", ".1f"),
                ("samples_per_s", "samples / s (wall)", ".1f"),
                ("cpu_per_wall", "cpu/wall", ".2f")]
        out.append(H.table(case["rows"], cols))
        out.append("")
        for cmp in case["comparison"]:
            if cmp["speedup_vs_exponax_cpu"] is None:
                out.append(f"- at error ≤ {cmp['level']:.2e}: no common run (pdekit: "
                           f"{cmp['pdekit']}, exponax: {cmp['exponax']})")
                continue
            met = "**met**" if cmp["speedup_vs_exponax_cpu"] >= 1.0 else "**missed**"
            line = (f"- at error ≤ {cmp['level']:.2e}: pdekit {cmp['pdekit']} "
                    f"({cmp['pdekit_samples_per_cpu_s']:.1f} samples/CPU s, err "
                    f"{cmp['pdekit_err']:.2e}) vs exponax {cmp['exponax']} "
                    f"({cmp['exponax_samples_per_cpu_s']:.1f}, err {cmp['exponax_err']:.2e}): "
                    f"**{cmp['speedup_vs_exponax_cpu']:.2f}×** on CPU time "
                    f"({cmp['speedup_vs_exponax_wall']:.2f}× wall); target ≥ 1×: {met}")
            if cmp.get("speedup_vs_numpy_cpu"):
                line += f"; vs numpy {cmp['speedup_vs_numpy_cpu']:.1f}×"
            out.append(line)
    return "\n".join(out)
