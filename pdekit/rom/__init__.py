"""Reduced-order models: POD (SVD, method of snapshots, randomized, incremental, sharded),
affine parametrised problems (the thermal block), certified Galerkin reduced bases with
weak greedy / POD-greedy, non-intrusive POD-RBF and POD-MLP models and their on-disk format; local
reduced bases by clustering (angle-based dissimilarities, k-medoids), the a-priori
efficiency criterion and ROM-net routing. Builds on ``solvers``, ``data`` and ``training``;
see ``docs/rom.md`` and ``docs/rom_local.md``."""


from ._affine import AffineProblem as AffineProblem
from ._affine import affine_coefficients as affine_coefficients
from ._affine import check_params as check_params
from ._affine import solve_snapshots as solve_snapshots
from ._affine import thermal_block as thermal_block
from ._affine import thermal_block_space as thermal_block_space

# local reduced bases by clustering (issue #14)
from ._clustering import ClusterResult as ClusterResult
from ._clustering import kmeans as kmeans
from ._clustering import kmedoids as kmedoids
from ._criterion import CriterionResult as CriterionResult
from ._criterion import efficiency_criterion as efficiency_criterion
from ._criterion import nested_projection_errors as nested_projection_errors
from ._datagen import thermal_block_generator as thermal_block_generator
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
from ._distributed import sharded_pod as sharded_pod
from ._galerkin import GalerkinROM as GalerkinROM
from ._galerkin import check_basis as check_basis
from ._galerkin import galerkin_rom as galerkin_rom
from ._greedy import GreedyResult as GreedyResult
from ._greedy import pod_greedy as pod_greedy
from ._greedy import weak_greedy as weak_greedy
from ._io import load_rom as load_rom
from ._io import save_rom as save_rom
from ._local_affine import LocalAffineROM as LocalAffineROM
from ._local_affine import local_affine_rom as local_affine_rom
from ._local_bases import LocalBases as LocalBases
from ._local_bases import global_basis as global_basis
from ._local_bases import local_bases as local_bases
from ._local_bases import plot_error_vs_size as plot_error_vs_size
from ._local_bases import plot_singular_values as plot_singular_values
from ._local_bases import projection_errors as projection_errors
from ._local_bases import relative_tail as relative_tail
from ._local_nonintrusive import LocalNonIntrusiveROM as LocalNonIntrusiveROM
from ._local_router import Compiled as Compiled
from ._local_router import classifier_router as classifier_router
from ._local_router import medoid_router as medoid_router
from ._moving_inclusion import MovingInclusion as MovingInclusion
from ._moving_source import MovingSource as MovingSource
from ._moving_source import travelling_soliton_snapshots as travelling_soliton_snapshots
from ._nonintrusive import NonIntrusiveMLP as NonIntrusiveMLP
from ._nonintrusive import NonIntrusiveROM as NonIntrusiveROM
from ._pod import POD as POD
from ._pod import IncrementalPOD as IncrementalPOD
from ._pod import pod as pod
from ._pod import pod_snapshots as pod_snapshots
from ._pod import randomized_pod as randomized_pod
from ._pod import truncation_rank as truncation_rank
from ._romnet import LocalGalerkinROM as LocalGalerkinROM
from ._romnet import RomNetClassifier as RomNetClassifier
from ._romnet import load_local_rom as load_local_rom
from ._romnet import local_galerkin_rom as local_galerkin_rom
from ._romnet import save_local_rom as save_local_rom
from ._romnet import train_classifier as train_classifier
from ._spectral import spectral_clustering as spectral_clustering
