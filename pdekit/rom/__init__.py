"""Reduced-order models (POD, Galerkin ROMs, local bases). Builds on ``solvers`` and ``data``."""

# local reduced bases by clustering (issue #14)
from ._clustering import ClusterResult as ClusterResult
from ._clustering import kmeans as kmeans
from ._clustering import kmedoids as kmedoids
from ._criterion import CriterionResult as CriterionResult
from ._criterion import efficiency_criterion as efficiency_criterion
from ._criterion import nested_projection_errors as nested_projection_errors
from ._dissimilarity import GRASSMANN_DISTANCES as GRASSMANN_DISTANCES
from ._dissimilarity import AbstractDissimilarity as AbstractDissimilarity
from ._dissimilarity import Euclidean as Euclidean
from ._dissimilarity import InnerProduct as InnerProduct
from ._dissimilarity import OneMinusCos as OneMinusCos
from ._dissimilarity import Sine as Sine
from ._dissimilarity import grassmann_distance as grassmann_distance
from ._dissimilarity import grassmann_pairwise as grassmann_pairwise
from ._dissimilarity import pairwise as pairwise
from ._dissimilarity import principal_angles as principal_angles
from ._local_bases import LocalBases as LocalBases
from ._local_bases import global_basis as global_basis
from ._local_bases import local_bases as local_bases
from ._local_bases import plot_error_vs_size as plot_error_vs_size
from ._local_bases import plot_singular_values as plot_singular_values
from ._local_bases import projection_errors as projection_errors
from ._local_bases import relative_tail as relative_tail
from ._moving_source import MovingSource as MovingSource
from ._moving_source import travelling_soliton_snapshots as travelling_soliton_snapshots
from ._romnet import LocalGalerkinROM as LocalGalerkinROM
from ._romnet import RomNetClassifier as RomNetClassifier
from ._romnet import load_local_rom as load_local_rom
from ._romnet import local_galerkin_rom as local_galerkin_rom
from ._romnet import save_local_rom as save_local_rom
from ._romnet import train_classifier as train_classifier
