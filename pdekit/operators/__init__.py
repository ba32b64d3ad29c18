"""Neural operators (FNO, TFNO, MgNO, DeepONet). Builds on ``solvers`` and ``data``."""

from ._deeponet import DeepONet as DeepONet
from ._deeponet import PODDeepONet as PODDeepONet
from ._deeponet import count_trainable as count_trainable
from ._mgno import MgNO as MgNO
from ._mgno import VCycle as VCycle
