"""The training stack shared by every operator (and the ROM-net classifier).

Losses (``relative_lp``, ``relative_l2``, ``h1``), normalisers fitted on the training split
(``Normalizer``, ``Normalized``), checkpoints (``save_checkpoint``, ``load_checkpoint``) and
the loop ``fit`` with evaluation, early stopping, logging, resume and data parallelism.
Builds on ``pdekit.data`` splits.
"""

from ._checkpoint import config_mismatch as config_mismatch
from ._checkpoint import load_checkpoint as load_checkpoint
from ._checkpoint import read_header as read_header
from ._checkpoint import save_checkpoint as save_checkpoint
from ._losses import h1 as h1
from ._losses import relative_l2 as relative_l2
from ._losses import relative_lp as relative_lp
from ._normalizer import Normalized as Normalized
from ._normalizer import Normalizer as Normalizer
from ._normalizer import apply_batch as apply_batch
from ._normalizer import trainable as trainable
from ._trainer import evaluate as evaluate
from ._trainer import fit as fit
from ._trainer import model_dtype as model_dtype
from ._trainer import resolve_microbatch as resolve_microbatch
