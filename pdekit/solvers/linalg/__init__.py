"""Sparse linear algebra in JAX: fixed-pattern CSR matrices, preconditioned Krylov and direct
solves, differentiable through the adjoint."""

from ._amg import AMG as AMG
from ._base import AbstractLinearMethod as AbstractLinearMethod
from ._base import AbstractPreconditioner as AbstractPreconditioner
from ._cg import CG as CG
from ._cg import Jacobi as Jacobi
from ._direct import Direct as Direct
from ._gmg import GMG as GMG
from ._solve import solve as solve
from ._solve import solve_with_stats as solve_with_stats
from ._sparse import CSRMatrix as CSRMatrix
from ._sparse import SparsityPattern as SparsityPattern
