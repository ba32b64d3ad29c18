"""The thermal block as a ``pdekit.data`` generator (registered when ``pdekit.rom`` is
imported): ``pdekit.data.generate("thermal-block", path, n=, resolution=, seed=, ...)``
stores block conductivities -> full-order solutions, the same recipe (seed key -> parameters
-> full solve) that the reduced-basis training sets use, so a dataset and a ROM training set
of this problem are made and stored the same way."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..data import Recipe, register
from ._affine import AffineProblem, _parse_blocks, thermal_block, thermal_block_space


class _Sample(eqx.Module):
    """key -> (conductivities (1, ny, nx), solution (1, nodes)), uniform in the box."""

    problem: AffineProblem
    blocks: tuple[int, int] = eqx.field(static=True)

    def __call__(self, key):
        p, (nx, ny) = self.problem, self.blocks
        lo, hi = (jnp.asarray(v, p.rhs.dtype) for v in (p.mu_min, p.mu_max))
        mu = lo + (hi - lo) * jax.random.uniform(key, (nx * ny,), p.rhs.dtype)
        return mu.reshape(1, ny, nx), p.to_full(p.solve(mu))[None, :]


@register(
    "thermal-block",
    defaults={"blocks": "2x2", "mu_low": 0.1, "mu_high": 1.0},
    doc="Thermal block -div(mu_b grad u) = 1 on the unit square (mu_b constant per block, "
        "uniform in [mu_low, mu_high]), u = 0 on the boundary: block conductivities (1, ny, "
        "nx) -> P1 solution at the mesh nodes (1, nodes); resolution = cells per side.",
)
def thermal_block_generator(resolution, dtype, *, blocks, mu_low, mu_high):
    nx, ny = _parse_blocks(blocks)
    problem = thermal_block(resolution, (nx, ny), mu_range=(mu_low, mu_high), dtype=dtype)
    space = thermal_block_space(resolution, dtype)
    return Recipe(
        sample=_Sample(problem, (nx, ny)), x_shape=(1, ny, nx), y_shape=(1, space.num_dofs),
        grid={"kind": "p1-mesh", "domain": [[0.0, 1.0], [0.0, 1.0]], "cells_per_side":
              resolution, "blocks": [nx, ny], "boundary": "u = 0 (Dirichlet)"},
        names={"x": ["conductivity"], "y": ["u"]},
        aux={"points": np.asarray(space.mesh.points), "cells": np.asarray(space.mesh.cells)},
    )
