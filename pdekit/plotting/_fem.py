"""Finite-element figures: mesh, solution, error, convergence and sample grids.

Functions take a ``FunctionSpace``-like object (``space.mesh.points``, ``space.mesh.cells``,
``space.element.order``, ``space.dof_coords``) and DOF values; matplotlib is imported lazily
and its backend is never switched. Every function returns the ``Figure``; the panel
functions (``plot_mesh``, ``plot_solution``, ``plot_error``, ``plot_convergence``) draw into
``ax`` when one is given (and return ``ax.figure``), otherwise into a new figure.
P2 fields are drawn on the red-refined triangulation, whose nodes are exactly the P2 DOFs.
"""

from __future__ import annotations

import numpy as np


def _plt():
    # never switch the backend here: that is the caller's choice (the CLI and the tests set
    # MPLBACKEND=Agg); a figure-returning function must not change global state
    import matplotlib.pyplot as plt

    return plt


def _axes(ax, figsize):
    """`ax`, or the axes of a new figure of `figsize` inches."""
    return ax if ax is not None else _plt().figure(figsize=figsize).add_subplot()


def _triangulation(space):
    import matplotlib.tri as mtri

    mesh = space.mesh
    if mesh.dim != 2:
        raise ValueError(f"FEM plots need a 2D mesh, got dim={mesh.dim}.")
    if space.element.order == 2:
        fine = mesh.refine()  # nodes: vertices then edge midpoints, the P2 DOF order
        return mtri.Triangulation(fine.points[:, 0], fine.points[:, 1], fine.cells)
    return mtri.Triangulation(mesh.points[:, 0], mesh.points[:, 1], mesh.cells)


def plot_mesh(mesh, ax=None, *, title: str | None = None, cell_values=None, cmap="viridis"):
    """Draw a 2D mesh (edges), optionally coloured by per-cell values.

    **Arguments:** `mesh` (2D :class:`~pdekit.solvers.fem.Mesh`), `ax` (matplotlib Axes to
    draw into; None: a new figure), `title`, `cell_values` (shape `(cells,)`), `cmap`.

    **Returns:** the ``Figure`` (``ax.figure`` when `ax` is given).
    """
    ax = _axes(ax, (5, 5))
    if cell_values is not None:
        im = ax.tripcolor(
            mesh.points[:, 0],
            mesh.points[:, 1],
            mesh.cells,
            facecolors=np.asarray(cell_values),
            cmap=cmap,
        )
        ax.figure.colorbar(im, ax=ax, shrink=0.8)
    lw = 0.4 if mesh.num_cells < 5000 else 0.1
    ax.triplot(mesh.points[:, 0], mesh.points[:, 1], mesh.cells, color="k", lw=lw)
    ax.set_aspect("equal")
    ax.set_title(title or f"mesh: {mesh.num_nodes} nodes, {mesh.num_cells} cells")
    return ax.figure


def plot_solution(space, u, ax=None, *, title: str = "u_h", cmap="viridis", contours: int = 10):
    """Colour plot (Gouraud) of a P1/P2 field with `contours` contour lines (0: none).

    **Arguments:** `space` (2D ``FunctionSpace``), `u` (DOF values, shape `(num_dofs,)`),
    `ax` (Axes to draw into; None: a new figure), `title`, `cmap`, `contours`.

    **Returns:** the ``Figure`` (``ax.figure`` when `ax` is given).
    """
    ax = _axes(ax, (5, 5))
    tri = _triangulation(space)
    u = np.asarray(u)
    im = ax.tripcolor(tri, u, shading="gouraud", cmap=cmap)
    if contours:
        ax.tricontour(tri, u, levels=contours, colors="k", linewidths=0.5)
    ax.figure.colorbar(im, ax=ax, shrink=0.8)
    ax.set_aspect("equal")
    ax.set_title(title)
    return ax.figure


def plot_error(space, u, exact, ax=None, *, title: str = "u_h - u (at DOFs)"):
    """Pointwise error ``u - exact`` at the DOFs, on a symmetric colour scale.

    **Arguments:** `space`, `u` (shape `(num_dofs,)`), `exact` (callable of `x` of shape
    `(d, num_dofs)`), `ax` (Axes to draw into; None: a new figure), `title`.

    **Returns:** the ``Figure`` (``ax.figure`` when `ax` is given).
    """
    err = np.asarray(u) - np.asarray(exact(space.dof_coords.T))
    vmax = float(np.max(np.abs(err))) or 1.0
    ax = _axes(ax, (5, 5))
    im = ax.tripcolor(
        _triangulation(space), err, shading="gouraud", cmap="RdBu_r", vmin=-vmax, vmax=vmax
    )
    ax.figure.colorbar(im, ax=ax, shrink=0.8)
    ax.set_aspect("equal")
    ax.set_title(title)
    return ax.figure


def poisson_summary_figure(space, u, *, exact=None, coefficient=None, info: str | None = None):
    """One figure for ``pdekit simulate poisson``: mesh (coloured by a per-cell coefficient if
    given), solution, and error (if `exact` is known). Returns the figure."""
    plt = _plt()
    n = 3 if exact is not None else 2
    fig, axes = plt.subplots(1, n, figsize=(5.2 * n, 4.6))
    cell_values = None
    if (
        coefficient is not None
        and np.ndim(coefficient) == 1
        and len(coefficient) == space.mesh.num_cells
    ):
        cell_values = coefficient
    plot_mesh(
        space.mesh,
        axes[0],
        cell_values=cell_values,
        title=f"mesh ({space.mesh.num_cells} cells)"
        + (", coefficient a" if cell_values is not None else ""),
    )
    plot_solution(space, u, axes[1], title=f"u_h (P{space.element.order}, {space.num_dofs} DOFs)")
    if exact is not None:
        plot_error(space, u, exact, axes[2])
    if info:
        fig.suptitle(info, fontsize=10)
    fig.tight_layout()
    return fig


def plot_convergence(
    hs, errors: dict, *, orders: dict | None = None, ax=None, title: str = "convergence"
):
    """Log-log error against mesh size.

    **Arguments:** `hs` (mesh sizes, shape `(k,)`), `errors` (label -> `k` errors), `orders`
    (label -> expected slope, drawn as a dashed reference line), `ax` (Axes to draw into;
    None: a new figure), `title`.

    **Returns:** the ``Figure`` (``ax.figure`` when `ax` is given).
    """
    ax = _axes(ax, (5.5, 4.5))
    hs = np.asarray(hs, dtype=float)
    for label, errs in errors.items():
        errs = np.asarray(errs, dtype=float)
        (line,) = ax.loglog(hs, errs, "o-", label=label)
        if orders and label in orders:
            p = orders[label]
            # reference slope, offset below the data so both stay visible
            ax.loglog(
                hs,
                0.4 * errs[-1] * (hs / hs[-1]) ** p,
                "--",
                color=line.get_color(),
                lw=0.8,
                label=f"O(h^{p})",
            )
    ax.set_xlabel("h")
    ax.set_ylabel("error")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title)
    return ax.figure


def plot_grid_samples(inputs, outputs, *, extent=(0, 1, 0, 1), titles=("a(x)", "u(x)")):
    """Rows of (input, output) pairs on a regular grid (e.g. Darcy coefficient and pressure).
    `inputs`, `outputs`: arrays of shape `(n, ny, nx)`. Returns the figure."""
    plt = _plt()
    n = len(inputs)
    fig, axes = plt.subplots(2, n, figsize=(2.6 * n, 5.2), squeeze=False)
    for i in range(n):
        for row, (data, name) in enumerate(((inputs[i], titles[0]), (outputs[i], titles[1]))):
            ax = axes[row, i]
            im = ax.imshow(np.asarray(data), origin="lower", extent=extent, cmap="viridis")
            fig.colorbar(im, ax=ax, shrink=0.7)
            ax.set_title(f"{name} #{i}", fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
    fig.tight_layout()
    return fig
