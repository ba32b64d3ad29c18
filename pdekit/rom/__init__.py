"""Reduced-order models (POD, Galerkin ROMs, local bases). Builds on ``solvers`` and ``data``."""
