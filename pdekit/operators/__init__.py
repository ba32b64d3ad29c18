"""Neural operators (FNO, TFNO, MgNO, DeepONet). Builds on ``solvers`` and ``data``."""
