"""Pseudo-spectral solvers on periodic Fourier grids (1D, 2D, 3D).

Problems implement :class:`AbstractSpectralProblem` (grid, linear symbol, nonlinear term, own
diagnostics; :class:`NLSE` is the first), separate from time integrators (:class:`StrangSplitting`,
:class:`Yoshida4`, :class:`SplitStep6`, :class:`SplitStep8`,
:class:`LawsonRK4`, :class:`LawsonRK8`, :class:`ETDRK4`, :class:`Dopri8`,
:class:`LawsonDopri8`, :class:`LawsonDOP853`); :func:`solve` combines them. Canonical
NLSE cases with analytic references live in :mod:`pdekit.solvers.spectral.cases`.
"""

from . import _cases as cases
from ._base import AbstractAdaptiveMethod as AbstractAdaptiveMethod
from ._base import AbstractFixedStepMethod as AbstractFixedStepMethod
from ._base import AbstractMethod as AbstractMethod
from ._controller import PIController as PIController
from ._diagnostics import diagnostics as diagnostics
from ._diagnostics import entropies as entropies
from ._diagnostics import invariants as invariants
from ._dopri import Dopri8 as Dopri8
from ._etdrk import ETDRK4 as ETDRK4
from ._grid import ExponentialFilter as ExponentialFilter
from ._grid import FourierGrid as FourierGrid
from ._lawson import LawsonRK4 as LawsonRK4
from ._lawson import LawsonRK8 as LawsonRK8
from ._lawson_adaptive import LawsonDOP853 as LawsonDOP853
from ._lawson_adaptive import LawsonDopri8 as LawsonDopri8
from ._nlse import NLSE as NLSE
from ._problem import AbstractSpectralProblem as AbstractSpectralProblem
from ._solve import solve as solve
from ._split_step import SplitStep6 as SplitStep6
from ._split_step import SplitStep8 as SplitStep8
from ._split_step import StrangSplitting as StrangSplitting
from ._split_step import Yoshida4 as Yoshida4
from ._tableaux import ButcherTableau as ButcherTableau

__all__ = ["cases"]
