"""Reduced-order models (POD, Galerkin ROMs, local bases). Builds on ``solvers`` and ``data``."""

# local reduced bases by clustering (issue #14)
from ._clustering import ClusterResult as ClusterResult
from ._clustering import kmeans as kmeans
from ._clustering import kmedoids as kmedoids
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
