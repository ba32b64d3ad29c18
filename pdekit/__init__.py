"""pdekit: PDE simulation, reduced-order modelling and operator learning on one JAX core.

Importing pdekit is cheap and changes no global JAX state. In particular it never
enables float64: call :func:`pdekit.enable_x64` (or set ``JAX_ENABLE_X64=1``) before
creating arrays when you need double precision.

Subpackages: ``pdekit.solvers`` (spectral, fem, linalg), ``pdekit.data``, ``pdekit.rom``,
``pdekit.operators``, ``pdekit.plotting`` and the command line ``pdekit.cli``.
"""

__version__ = "0.1.0"

from ._misc import default_complex_dtype as default_complex_dtype
from ._misc import default_float_dtype as default_float_dtype
from ._misc import enable_x64 as enable_x64

__all__ = ["__version__", "enable_x64", "default_float_dtype", "default_complex_dtype"]
