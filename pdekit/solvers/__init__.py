"""Full-order solvers: pseudo-spectral (``spectral``), finite elements (``fem``) and
linear algebra (``linalg``). This layer imports nothing else of pdekit except ``pdekit._misc``."""

from ._batch import map_batched as map_batched
from ._solution import RESULTS as RESULTS
from ._solution import Solution as Solution
