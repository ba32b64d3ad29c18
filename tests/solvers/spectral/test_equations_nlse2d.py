"""NLSE in 2D: defocusing by default, mass conserved to round-off by split-step methods."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pdekit.solvers import spectral as sp


def test_nlse_2d_defocusing_conserves_mass():
    grid = sp.FourierGrid((32, 32), (12.0, 10.0))
    problem = sp.nlse_2d(grid)
    assert float(problem.gamma) == -1.0 and isinstance(problem, sp.NLSE)
    X, Y = grid.x
    # a Gaussian with a vortex-like phase and a drift: every term of the equation acts
    phase = 0.8 * X + jnp.arctan2(Y, X)
    envelope = 2.0 * jnp.exp(-(X**2 + 2 * Y**2) / 4)
    psi0 = jax.lax.complex(envelope * jnp.cos(phase), envelope * jnp.sin(phase))
    ts = np.linspace(0.0, 1.0, 5)
    for method in (sp.StrangSplitting(), sp.Yoshida4()):
        sol = sp.solve(problem, method, psi0, 1.0, dt=0.01, saveat=ts)
        assert float(jnp.max(jnp.abs(sol.stats["mass_drift"]))) < 1e-12
        assert float(jnp.max(jnp.abs(sol.us[-1] - psi0))) > 0.1  # it moved
    # defocusing: the peak intensity spreads out
    assert float(jnp.max(jnp.abs(sol.us[-1]))) < float(jnp.max(jnp.abs(psi0)))


def test_nlse_2d_refuses_other_grids():
    with pytest.raises(ValueError, match="grid"):
        sp.nlse_2d(sp.FourierGrid(32, 10.0))
