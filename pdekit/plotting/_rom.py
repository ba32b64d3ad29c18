"""Reduced-order-model figures: singular-value decay, greedy error decay, estimate vs true
error, reduced vs full solution. Each function returns a matplotlib ``Figure``."""

from __future__ import annotations

import numpy as np

from ._fem import _plt, plot_solution


def plot_singular_values(singular_values, *, labels=None, title: str = "POD singular values"):
    """Relative singular values ``sigma_i / sigma_1`` (log scale) of one or several PODs
    (`singular_values`: an array or a list of arrays; `labels`: one per array)."""
    plt = _plt()
    sets = singular_values if isinstance(singular_values, (list, tuple)) else [singular_values]
    labels = labels or [None] * len(sets)
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for s, lab in zip(sets, labels):
        s = np.asarray(s, np.float64)
        ax.semilogy(np.arange(1, s.size + 1), s / s[0], ".-", label=lab)
    ax.set_xlabel("index i")
    ax.set_ylabel(r"$\sigma_i / \sigma_1$")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    if any(labels):
        ax.legend()
    fig.tight_layout()
    return fig


def plot_greedy(max_estimates, *, max_errors=None, tol: float | None = None,
                title: str = "greedy: worst training error"):
    """Largest estimate over the training set against the basis size (and, optionally, the
    largest true error on a test set per size, and the tolerance line)."""
    plt = _plt()
    est = np.asarray(max_estimates, np.float64)
    fig, ax = plt.subplots(figsize=(5.5, 4))
    ax.semilogy(np.arange(est.size), est, "o-", ms=3, label="max estimate (training)")
    if max_errors is not None:
        err = np.asarray(max_errors, np.float64)
        ax.semilogy(np.arange(err.size), err, "s--", ms=3, label="max true error (test)")
    if tol is not None:
        ax.axhline(tol, color="k", lw=0.8, ls=":", label=f"tol = {tol:g}")
    ax.set_xlabel("basis size N")
    ax.set_ylabel("relative energy-norm error")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def plot_estimator(true_errors, estimates, *, title: str = "error estimate vs true error"):
    """Scatter of estimates against true errors (test parameters) with the ``y = x`` line
    (points above it are certified) and the effectivity range in the title."""
    plt = _plt()
    e = np.asarray(true_errors, np.float64)
    d = np.asarray(estimates, np.float64)
    eff = d / e
    fig, ax = plt.subplots(figsize=(5, 4.5))
    ax.loglog(e, d, ".", alpha=0.7)
    lim = [min(e.min(), d.min()) / 2, max(e.max(), d.max()) * 2]
    ax.loglog(lim, lim, "k-", lw=0.8, label="estimate = error")
    ax.set_xlabel("true error")
    ax.set_ylabel("estimate")
    ax.set_title(f"{title}\neffectivity {eff.min():.2f} .. {eff.max():.2f}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def plot_reduced_vs_full(space, u_full, u_reduced, *, title: str = ""):
    """Full-order solution, reduced solution and their difference side by side (DOF values
    on a 2D P1/P2 `space`)."""
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    u_full, u_reduced = np.asarray(u_full), np.asarray(u_reduced)
    plot_solution(space, u_full, axes[0], title="full order")
    plot_solution(space, u_reduced, axes[1], title="reduced")
    plot_solution(space, u_full - u_reduced, axes[2], title="full - reduced", cmap="RdBu_r",
                  contours=0)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
