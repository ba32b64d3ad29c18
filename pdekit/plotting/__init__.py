"""Matplotlib figures for each result kind (headless ``Agg``; matplotlib imported lazily).

The CLI, the examples and the benchmarks all draw through these functions.
"""
