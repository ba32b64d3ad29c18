"""Figures for operator learning: one prediction (input, truth, prediction, error), losses."""

import numpy as np


def plot_prediction(x, y, pred, *, title: str | None = None):
    """Input, truth, prediction and pointwise error of one sample; returns a ``Figure``.

    **Arguments:** `x` ``(C_in, *spatial)``, `y` and `pred` ``(C_out, *spatial)`` (first
    channel shown), 1D (lines) or 2D (images); `title`: optional suptitle.
    """
    import matplotlib.pyplot as plt

    x, y, pred = (np.asarray(a) for a in (x, y, pred))
    if y.shape != pred.shape:
        raise ValueError(f"`y` {y.shape} and `pred` {pred.shape} must have one shape.")
    d = y.ndim - 1
    if d not in (1, 2):
        raise ValueError(f"plot_prediction draws 1D or 2D samples, got {d} spatial axes.")
    err = pred[0] - y[0]
    rel = np.linalg.norm(err) / max(np.linalg.norm(y[0]), 1e-30)
    fig, axes = plt.subplots(1, 4, figsize=(13, 3.2), constrained_layout=True)
    panels = [("input", x[0]), ("truth", y[0]), ("prediction", pred[0]),
              (f"error (rel. L2 {rel:.2e})", err)]
    if d == 1:
        s = np.arange(y.shape[-1]) / y.shape[-1]
        for ax, (name, v) in zip(axes, panels):
            ax.plot(s, v, lw=1.2)
            if name == "prediction":
                ax.plot(s, y[0], "k--", lw=0.8, label="truth")
                ax.legend(fontsize=8)
            ax.set_title(name)
            ax.set_xlabel("x")
    else:
        vmin, vmax = float(min(y[0].min(), pred[0].min())), float(max(y[0].max(),
                                                                       pred[0].max()))
        for ax, (name, v) in zip(axes, panels):
            kw = {}
            if name in ("truth", "prediction"):
                kw = dict(vmin=vmin, vmax=vmax)
            elif name.startswith("error"):
                m = float(np.abs(v).max()) or 1.0
                kw = dict(vmin=-m, vmax=m, cmap="RdBu_r")
            im = ax.imshow(v.T, origin="lower", extent=(0, 1, 0, 1), **kw)
            fig.colorbar(im, ax=ax, shrink=0.85)
            ax.set_title(name)
            ax.set_xticks([])
            ax.set_yticks([])
    if title:
        fig.suptitle(title)
    return fig


def plot_loss_curves(history: dict, *, title: str | None = None):
    """Training loss and evaluation errors against epochs (log scale); returns a ``Figure``.

    **Arguments:** `history`: the dict returned by ``pdekit.training.fit`` (``epoch``,
    ``train_loss`` and ``<set>_rel_l2`` columns; NaN entries are skipped).
    """
    import matplotlib.pyplot as plt

    if "epoch" not in history or "train_loss" not in history:
        raise ValueError("`history` needs 'epoch' and 'train_loss' columns (from fit).")
    epochs = np.asarray(history["epoch"])
    fig, ax = plt.subplots(figsize=(5.5, 3.6), constrained_layout=True)
    ax.semilogy(epochs, history["train_loss"], label="train loss")
    for key, values in history.items():
        if key.endswith("_rel_l2"):
            v = np.asarray(values, dtype=float)
            ok = np.isfinite(v)
            ax.semilogy(epochs[ok], v[ok], "o-", ms=3, label=key.replace("_rel_l2", "")
                        + " rel. L2")
    ax.set_xlabel("epoch")
    ax.set_ylabel("relative L2")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    if title:
        ax.set_title(title)
    return fig
