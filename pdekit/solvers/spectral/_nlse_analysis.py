"""Post-processing of NLSE runs (numpy, outside jit): measured growth rates and soliton shifts,
to compare with the analytic references of the cases."""

from __future__ import annotations

import numpy as np


def measure_growth_rate(grid, ts, us, wavenumber: float, *, max_fraction: float = 1e-2,
                        min_growth: float = 3.0) -> float:
    r"""Growth rate of the Fourier modes $\pm K$ fitted over the linear stage of a run.

    The amplitude $a(t) = \sqrt{|\hat\psi_K|^2 + |\hat\psi_{-K}|^2}$ is fitted by
    $\log a = g t + c$ (least squares) over the first contiguous run of saved times where it
    has grown by more than `min_growth` over its initial value (the decaying eigen-component of
    the seed noise has died out) and is still below `max_fraction` of the background mode
    $|\hat\psi_0|$ (linear regime).

    **Arguments:** `grid` (1D :class:`FourierGrid`), `ts` `(T,)`, `us` `(T, N)` complex states,
    `wavenumber` $K$ (e.g. `case.reference["k_max"]`).

    **Returns:** the fitted rate $g$, or NaN if fewer than 3 saved times fall in the window
    (save more frames, or lower the seed amplitude `epsilon`).
    """
    ts = np.asarray(ts, dtype=np.float64)
    u_hat = np.fft.fft(np.asarray(us), axis=-1)
    j = grid.wavenumber_index(float(wavenumber))
    amplitude = np.hypot(np.abs(u_hat[:, j]), np.abs(u_hat[:, -j]))
    background = np.abs(u_hat[:, 0])
    inside = (amplitude < max_fraction * background) & (amplitude > min_growth * amplitude[0])
    if not inside.any():
        return float("nan")
    start = int(np.argmax(inside))
    stop = start + (int(np.argmin(inside[start:])) if not inside[start:].all()
                    else len(inside) - start)
    if stop - start < 3:
        return float("nan")
    return float(np.polyfit(ts[start:stop], np.log(amplitude[start:stop]), 1)[0])


def measure_soliton_shifts(x, psi, free1: float, free2: float) -> dict[str, float]:
    r"""Displacements of two solitons from their free positions `free1` < `free2` (where each
    would be without the collision) in one state `psi` `(N,)` on the points `x` `(N,)`: the
    centre of mass of $|\psi|^2$ on either side of the midpoint, minus the free position.

    **Returns:** `{"shift1": ..., "shift2": ...}` (compare with
    :func:`two_soliton_shifts`)."""
    x, intensity = np.asarray(x), np.abs(np.asarray(psi)) ** 2
    mid = 0.5 * (free1 + free2)
    out = {}
    for j, side, free in ((1, x > mid, free1), (2, x <= mid, free2)):
        out[f"shift{j}"] = float(np.sum(x[side] * intensity[side]) / np.sum(intensity[side])
                                 - free)
    return out


def conservation_drifts(stats: dict, domain_length: float, *, zero_fraction: float = 1e-6
                        ) -> dict[str, tuple[np.ndarray, str]]:
    r"""The drifts of mass, momentum and Hamiltonian of a 1D NLSE run, each relative to a
    scale that is not ~0: `{name: (drift (T,), the scale in words)}`, from the `stats` of
    :func:`diagnostics` (for reports and the conservation panel).

    - mass: $(M - M_0)/M_0$;
    - momentum: $(P - P_0)/|P_0|$, unless $P_0 pprox 0$ (below `zero_fraction` of
      $M_0 k_1$, the momentum of the whole mass in the fundamental mode $k_1 = 2\pi/L$, as for
      modulation instability from a plane wave), where a ratio to $|P_0|$ would divide by
      noise: then $(P - P_0)/(M_0 k_1)$;
    - Hamiltonian: $(H - H_0)$ over the size of its two parts,
      $	frac{|eta|}{2}K_0 + 	frac{|\gamma|}{2}\int|\psi_0|^4$ (`hamiltonian_drift`).
    """
    mass = np.asarray(stats["mass"], dtype=np.float64)
    p = np.asarray(stats["momentum"], dtype=np.float64)
    out = {"mass": (np.asarray(stats["mass_drift"]), "relative to M0")}
    quantum = mass[0] * 2.0 * np.pi / domain_length
    if abs(p[0]) > zero_fraction * quantum:
        out["momentum"] = ((p - p[0]) / abs(p[0]), "relative to |P0|")
    else:
        out["momentum"] = ((p - p[0]) / quantum, "relative to M0 k1 = M0 2pi/L (P0 ~ 0)")
    out["hamiltonian"] = (np.asarray(stats["hamiltonian_drift"]),
                          "relative to |beta|/2 K0 + |gamma|/2 int|psi0|^4")
    return out
