"""Reduced-order models: POD (SVD, method of snapshots, randomized, incremental, sharded),
affine parametrised problems (the thermal block), certified Galerkin reduced bases with
weak greedy / POD-greedy, non-intrusive POD-RBF models, and their on-disk format.
Builds on ``solvers`` and ``data``; see ``docs/rom.md``."""

from ._affine import AffineProblem as AffineProblem
from ._affine import affine_coefficients as affine_coefficients
from ._affine import check_params as check_params
from ._affine import solve_snapshots as solve_snapshots
from ._affine import thermal_block as thermal_block
from ._affine import thermal_block_space as thermal_block_space
from ._datagen import thermal_block_generator as thermal_block_generator
from ._distributed import sharded_pod as sharded_pod
from ._galerkin import GalerkinROM as GalerkinROM
from ._galerkin import check_basis as check_basis
from ._galerkin import galerkin_rom as galerkin_rom
from ._greedy import GreedyResult as GreedyResult
from ._greedy import pod_greedy as pod_greedy
from ._greedy import weak_greedy as weak_greedy
from ._io import load_rom as load_rom
from ._io import save_rom as save_rom
from ._nonintrusive import NonIntrusiveROM as NonIntrusiveROM
from ._pod import POD as POD
from ._pod import IncrementalPOD as IncrementalPOD
from ._pod import pod as pod
from ._pod import pod_snapshots as pod_snapshots
from ._pod import randomized_pod as randomized_pod
from ._pod import truncation_rank as truncation_rank
