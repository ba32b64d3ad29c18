"""Matplotlib figures for each result kind (matplotlib imported lazily; the backend is the
caller's choice: the CLI and tests set ``MPLBACKEND=Agg``).

The CLI, the examples and the benchmarks all draw through these functions.
"""

from ._data import plot_dataset_samples as plot_dataset_samples
from ._fem import plot_convergence as plot_convergence
from ._fem import plot_error as plot_error
from ._fem import plot_grid_samples as plot_grid_samples
from ._fem import plot_mesh as plot_mesh
from ._fem import plot_solution as plot_solution
from ._fem import poisson_summary_figure as poisson_summary_figure
from ._nlse import plot_conservation as plot_conservation
from ._nlse import plot_entropy as plot_entropy
from ._nlse import plot_intensity as plot_intensity
from ._nlse import plot_nlse_summary as plot_nlse_summary
from ._nlse import plot_phase_space as plot_phase_space
from ._operators import plot_loss_curves as plot_loss_curves
from ._operators import plot_prediction as plot_prediction
from ._rom import plot_estimator as plot_estimator
from ._rom import plot_greedy as plot_greedy
from ._rom import plot_reduced_vs_full as plot_reduced_vs_full
from ._rom import plot_singular_values as plot_singular_values
