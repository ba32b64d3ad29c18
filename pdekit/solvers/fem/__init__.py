"""Finite elements in JAX: simplicial meshes, Lagrange P1/P2 spaces, vectorised assembly
into fixed CSR patterns, boundary conditions, and differentiable Poisson/Darcy solves."""

from ._assembly import assemble_load as assemble_load
from ._assembly import assemble_mass as assemble_mass
from ._assembly import assemble_operator as assemble_operator
from ._assembly import assemble_stiffness as assemble_stiffness
from ._assembly import coefficient_at_quadrature as coefficient_at_quadrature
from ._bc import Dirichlet as Dirichlet
from ._bc import Neumann as Neumann
from ._bc import Robin as Robin
from ._darcy import BlockCoefficient as BlockCoefficient
from ._darcy import checkerboard as checkerboard
from ._elements import P1 as P1
from ._elements import P2 as P2
from ._elements import AbstractElement as AbstractElement
from ._elements import FunctionSpace as FunctionSpace
from ._generators import annulus_mesh as annulus_mesh
from ._generators import box_mesh as box_mesh
from ._generators import disk_mesh as disk_mesh
from ._generators import grid_shape as grid_shape
from ._generators import lshape_mesh as lshape_mesh
from ._generators import rectangle_mesh as rectangle_mesh
from ._generators import unit_cube_mesh as unit_cube_mesh
from ._generators import unit_square_mesh as unit_square_mesh
from ._mesh import Mesh as Mesh
from ._mesh import orient as orient
from ._norms import h1_error as h1_error
from ._norms import l2_error as l2_error
from ._norms import l2_norm as l2_norm
from ._poisson import Poisson as Poisson
from ._post import GridInterpolator as GridInterpolator
from ._post import cell_gradients as cell_gradients
from ._post import nodal_gradients as nodal_gradients
from ._post import save_solution as save_solution
from ._quadrature import quadrature as quadrature
