"""Dataset generation and storage built on ``pdekit.solvers``."""

from ._snapshots import Snapshots as Snapshots
