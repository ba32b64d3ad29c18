"""Figures for NLSE runs: space-time intensity, conservation drift, phase space, entropies.

Each panel function draws on a given matplotlib `Axes` (or on a new figure) and returns the
`Axes`; :func:`plot_nlse_summary` assembles the four into the 2x2 figure used by the CLI and the
example and returns the `Figure` (the caller saves it). Nothing here selects a backend.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _axes(ax):
    if ax is not None:
        return ax
    from matplotlib.figure import Figure

    return Figure(figsize=(5, 4)).add_subplot()


def plot_intensity(x, ts, us, *, ax=None):
    """Heatmap of $|\\psi(x, t)|^2$; `x` `(N,)`, `ts` `(T,)`, `us` `(T, N)` complex."""
    ax = _axes(ax)
    intensity = np.abs(np.asarray(us)) ** 2
    x, ts = np.asarray(x), np.asarray(ts)
    dx = x[1] - x[0]
    mesh = ax.imshow(intensity, origin="lower", aspect="auto", cmap="inferno",
                     extent=(x[0], x[-1] + dx, ts[0], ts[-1]), interpolation="nearest")
    ax.figure.colorbar(mesh, ax=ax, label=r"$|\psi|^2$")
    ax.set_xlabel("x")
    ax.set_ylabel("t")
    ax.set_title("intensity")
    return ax


def plot_conservation(ts, drifts: dict[str, tuple[Any, str]], *, ax=None):
    """Semilog-y of |relative drift| of the conserved quantities against time; `drifts` maps a
    name to `(drift (T,), its scale in words)`
    (:func:`pdekit.solvers.spectral.cases.conservation_drifts`: each relative to a scale that
    is not ~0), and the legend says which scale."""
    ax = _axes(ax)
    ts = np.asarray(ts)
    floor = np.finfo(np.float64).eps * 1e-2
    for name, (drift, how) in drifts.items():
        drift = np.abs(np.asarray(drift))[1:]
        ax.semilogy(ts[1:], np.maximum(drift, floor), label=f"{name}: {how}")
    ax.set_xlabel("t")
    ax.set_ylabel("|relative drift|")
    ax.set_title("conservation")
    ax.legend(fontsize="x-small")
    return ax


def plot_phase_space(x, ts, us, *, num_curves: int = 4, ax=None):
    """Phase portrait in the complex plane (Re psi against Im psi).

    Thin coloured curves: psi along x at a few times (colour = time), always including the
    first and last frames and the frame of peak intensity. Thick black curve: the orbit
    psi(x*, t) in time at the point x* of peak intensity (for the Akhmediev breather this is
    the homoclinic orbit leaving and returning to the plane wave)."""
    import matplotlib.cm as cm

    ax = _axes(ax)
    us, ts = np.asarray(us), np.asarray(ts)
    intensity = np.abs(us) ** 2
    i_peak, j_peak = np.unravel_index(np.argmax(intensity), intensity.shape)
    idx = np.linspace(0, len(ts) - 1, max(num_curves - 1, 2)).round().astype(int)
    idx = np.unique(np.append(idx, i_peak))
    colours = cm.viridis(np.linspace(0, 1, len(idx)))
    for c, i in zip(colours, idx):
        ax.plot(us[i].real, us[i].imag, color=c, lw=0.8, alpha=0.8, label=f"t={ts[i]:.3g}")
    ax.plot(us[:, j_peak].real, us[:, j_peak].imag, color="k", lw=1.6,
            label=f"$\\psi(x^*={x[j_peak]:.3g}, t)$")
    ax.plot(us[0, j_peak].real, us[0, j_peak].imag, "ko", ms=4)
    ax.set_xlabel(r"Re $\psi$")
    ax.set_ylabel(r"Im $\psi$")
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_title("phase space")
    ax.legend(fontsize="x-small")
    return ax


def plot_entropy(ts, stats: dict[str, Any], *, ax=None):
    """Shannon, Rényi and Tsallis entropies of the normalised intensity against time."""
    ax = _axes(ax)
    ts = np.asarray(ts)
    for key, label in (("shannon", "Shannon"), ("renyi", r"Rényi ($\alpha$=2)"),
                       ("tsallis", "Tsallis (q=2)")):
        ax.plot(ts, np.asarray(stats[key]), label=label)
    ax.set_xlabel("t")
    ax.set_ylabel("entropy")
    ax.set_title("entropy of $|\\psi|^2/\\sum|\\psi|^2$")
    ax.legend(fontsize="small")
    return ax


def plot_nlse_summary(x, ts, us, stats: dict[str, Any], *, drifts=None, title: str = ""):
    """2x2 figure: intensity, conservation (`drifts`, default
    :func:`~pdekit.solvers.spectral.cases.conservation_drifts` of `stats`), phase space,
    entropy. `x` `(N,)`, `ts` `(T,)`, `us` `(T, N)` complex, `stats` from
    :func:`~pdekit.solvers.spectral.diagnostics`. Returns the `Figure` (save it with
    `fig.savefig`)."""
    from matplotlib.figure import Figure

    if drifts is None:
        from ..solvers.spectral import cases

        x_np = np.asarray(x)
        drifts = cases.conservation_drifts(stats, float(x_np[-1] - x_np[0] + (x_np[1] - x_np[0])))
    fig = Figure(figsize=(11, 8.5))
    axes = fig.subplots(2, 2)
    plot_intensity(x, ts, us, ax=axes[0, 0])
    plot_conservation(ts, drifts, ax=axes[0, 1])
    plot_phase_space(x, ts, us, ax=axes[1, 0])
    plot_entropy(ts, stats, ax=axes[1, 1])
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
