"""Figures of datasets: a few (input, output) pairs of a :class:`pdekit.data.Dataset`."""

from __future__ import annotations

import numpy as np


def _plt():
    try:
        import matplotlib.pyplot as plt
    except ImportError as err:  # pragma: no cover
        raise ImportError("plotting needs matplotlib: pip install 'pdekit[plot]'") from err
    return plt


def plot_dataset_samples(dataset, num: int = 4, *, channel: int = 0, title: str | None = None):
    """The first `num` (input, output) pairs of `dataset` (a :class:`pdekit.data.Dataset`).

    2D samples are drawn as images (top row input, bottom row output, each with its colour
    bar, rows = `y`, `origin='lower'`), 1D samples as curves (input and output of a sample
    in one panel per row). Channel `channel` is drawn; channel names, generator and
    resolution come from ``dataset.meta``. Returns the ``Figure``.
    """
    plt = _plt()
    num = max(1, min(int(num), len(dataset)))
    view, _ = dataset.split(num, 1) if len(dataset) > num else (dataset, None)
    x, y = view.arrays()
    x, y = x[:num, channel], y[:num, channel]
    names = dataset.meta.get("names") or {}
    xn = (names.get("x") or ["input"])[min(channel, len(names.get("x") or ["input"]) - 1)]
    yn = (names.get("y") or ["output"])[min(channel, len(names.get("y") or ["output"]) - 1)]
    gen = dataset.meta.get("generator", "dataset")
    coords = dataset.coords
    if x.ndim == 2:  # 1D fields: (num, N)
        xs = coords.get("x", np.arange(x.shape[1]))
        fig, axes = plt.subplots(num, 1, figsize=(6.0, 1.8 * num + 0.4), squeeze=False,
                                 sharex=True)
        for i in range(num):
            ax = axes[i, 0]
            ax.plot(xs, x[i], label=f"{xn} (input)", lw=1.2)
            ax.plot(xs[: y.shape[1]], y[i], label=f"{yn} (output)", lw=1.2)
            ax.set_ylabel(f"#{i}")
            ax.grid(alpha=0.3)
        axes[0, 0].legend(fontsize=8, loc="upper right")
        axes[-1, 0].set_xlabel("x")
    else:  # 2D fields (last two axes); higher-dimensional: the first slice
        while x.ndim > 3:
            x, y = x[:, 0], y[:, 0]
        ext = None
        if "x" in coords and "y" in coords:
            cx, cy = coords["x"], coords["y"]
            ext = (cx[0], cx[-1], cy[0], cy[-1])
        fig, axes = plt.subplots(2, num, figsize=(2.7 * num + 0.3, 5.2), squeeze=False)
        for i in range(num):
            for row, (data, name) in enumerate(((x[i], xn), (y[i], yn))):
                ax = axes[row, i]
                im = ax.imshow(data, origin="lower", extent=ext, cmap="viridis")
                fig.colorbar(im, ax=ax, shrink=0.75)
                ax.set_title(f"{name} #{i}", fontsize=9)
                ax.set_xticks([])
                ax.set_yticks([])
    res = dataset.meta.get("resolution")
    fig.suptitle(title or f"{gen}" + (f", resolution {res}" if res else "")
                 + f" ({len(dataset)} samples)", fontsize=10)
    fig.tight_layout()
    return fig
