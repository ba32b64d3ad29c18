"""Sparse linear algebra in JAX: fixed-pattern CSR matrices, preconditioned Krylov and direct
solves, differentiable through the adjoint."""

from ._sparse import CSRMatrix as CSRMatrix
from ._sparse import SparsityPattern as SparsityPattern
