"""Dataset generation and storage built on ``pdekit.solvers``."""
