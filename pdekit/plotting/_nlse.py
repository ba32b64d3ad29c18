"""Figures for NLSE runs: space-time intensity, conservation drift, phase space, entropies.

Each function draws on a given matplotlib `Axes` (or a new figure) and returns the `Axes`;
:func:`plot_nlse_summary` assembles the four into the 2x2 figure used by the CLI.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _axes(ax):
    if ax is not None:
        return ax
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=(5, 4))
    return ax


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


def plot_conservation(ts, stats: dict[str, Any], *, ax=None):
    """Semilog-y of |relative drift| of mass, momentum and Hamiltonian against time."""
    ax = _axes(ax)
    ts = np.asarray(ts)
    floor = np.finfo(np.float64).eps * 1e-2
    for key, label in (("mass_drift", "mass"), ("momentum_drift", "momentum"),
                       ("hamiltonian_drift", "Hamiltonian")):
        drift = np.abs(np.asarray(stats[key]))[1:]
        ax.semilogy(ts[1:], np.maximum(drift, floor), label=label)
    ax.set_xlabel("t")
    ax.set_ylabel("|relative drift|")
    ax.set_title("conservation")
    ax.legend(fontsize="small")
    return ax


def plot_phase_space(x, ts, us, *, num_curves: int = 4, ax=None):
    """Phase portrait: $\\mathrm{Re}\\,\\psi$ against $\\mathrm{Im}\\,\\psi$ along $x$ at a few
    times (colour = time)."""
    import matplotlib.cm as cm

    ax = _axes(ax)
    us, ts = np.asarray(us), np.asarray(ts)
    idx = np.unique(np.linspace(0, len(ts) - 1, num_curves).round().astype(int))
    colours = cm.viridis(np.linspace(0, 1, len(idx)))
    for c, i in zip(colours, idx):
        ax.plot(us[i].real, us[i].imag, color=c, lw=1.0, label=f"t={ts[i]:.3g}")
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


def plot_nlse_summary(x, ts, us, stats: dict[str, Any], *, title: str = "", path=None):
    """2x2 figure (intensity, conservation, phase space, entropy); saved to `path` if given.
    Returns the figure."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(11, 8.5))
    plot_intensity(x, ts, us, ax=axes[0, 0])
    plot_conservation(ts, stats, ax=axes[0, 1])
    plot_phase_space(x, ts, us, ax=axes[1, 0])
    plot_entropy(ts, stats, ax=axes[1, 1])
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
        plt.close(fig)
    return fig
