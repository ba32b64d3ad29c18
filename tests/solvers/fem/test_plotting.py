"""FEM plotting: every function returns a Figure; panel functions draw into a given ``ax``."""

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure

from pdekit import plotting
from pdekit.solvers import fem


@pytest.fixture(scope="module")
def space():
    return fem.FunctionSpace(fem.unit_square_mesh(3), fem.P2())


def _panels(space):
    u = space.dof_coords[:, 0] * space.dof_coords[:, 1]
    return {
        "mesh": lambda ax: plotting.plot_mesh(space.mesh, ax=ax,
                                              cell_values=np.arange(space.mesh.num_cells)),
        "solution": lambda ax: plotting.plot_solution(space, u, ax=ax),
        "error": lambda ax: plotting.plot_error(space, u, lambda x: x[0] * x[1] + 1e-3, ax=ax),
        "convergence": lambda ax: plotting.plot_convergence(
            [0.5, 0.25], {"L2": [1e-2, 2.5e-3]}, orders={"L2": 2}, ax=ax),
    }


@pytest.mark.parametrize("name", ["mesh", "solution", "error", "convergence"])
def test_panel_returns_figure_new_or_given_axes(space, name):
    import matplotlib.pyplot as plt

    backend = matplotlib.get_backend()
    draw = _panels(space)[name]
    fig = draw(None)
    assert isinstance(fig, Figure) and len(fig.axes) >= 1
    host, axes = plt.subplots(1, 2)
    assert draw(axes[1]) is host
    assert axes[1].has_data() and not axes[0].has_data()
    assert matplotlib.get_backend() == backend
    plt.close(fig)
    plt.close(host)


def test_summary_figure_has_three_panels(space):
    import matplotlib.pyplot as plt

    u = space.dof_coords[:, 0]
    fig = plotting.poisson_summary_figure(space, u, exact=lambda x: x[0], info="test")
    assert isinstance(fig, Figure)
    assert all(ax.has_data() for ax in fig.axes[:3])
    plt.close(fig)
