"""Kuramoto–Sivashinsky (Kassam & Trefethen's case, L = 32 pi, u0 = cos(x/16)(1 + sin(x/16))):
ETDRK4 converges with order 4 (fitted slope), and a long chaotic run stays bounded."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pdekit.solvers import spectral as sp


def _case(n):
    grid = sp.FourierGrid(n, 32 * np.pi)
    x = grid.x + 16 * np.pi  # the textbook initial condition lives on [0, 32 pi)
    return sp.KuramotoSivashinsky(grid), jnp.cos(x / 16) * (1 + jnp.sin(x / 16))


@pytest.mark.parametrize("method,dts,tol", [
    (sp.ETDRK4(), (0.8, 0.4, 0.2, 0.1), 1e-5), (sp.ETDRK2(), (0.2, 0.1, 0.05, 0.025), 1e-3)],
    ids=["ETDRK4", "ETDRK2"])
def test_ks_etdrk_has_its_order(method, dts, tol):
    problem, u0 = _case(64)
    t1 = 20.0

    # one compilation for every step size: h and the number of steps are traced
    @eqx.filter_jit
    def run(h, n):
        coeffs = method.coefficients(problem, h)
        u_hat = jax.lax.fori_loop(0, n, lambda _, v: method.step(problem, coeffs, v),
                                  problem.to_fourier(u0))
        return problem.to_physical(u_hat)

    reference = sp.solve(problem, sp.LawsonRK8(), u0, t1, dt=0.02).us[-1]
    dts = np.asarray(dts)
    errors = [float(jnp.max(jnp.abs(run(jnp.asarray(dt), jnp.asarray(int(round(t1 / dt))))
                                    - reference))) for dt in dts]
    slope = np.polyfit(np.log(dts), np.log(errors), 1)[0]
    assert abs(slope - method.order) < 0.4, (slope, errors)
    assert errors[-1] < tol, errors


def test_ks_long_run_stays_bounded():
    problem, u0 = _case(128)
    ts = np.linspace(0.0, 200.0, 21)
    sol = sp.solve(problem, sp.ETDRK4(), u0, 200.0, dt=0.25, saveat=ts)
    amplitude = np.max(np.abs(np.asarray(sol.us)), axis=1)
    assert np.all(amplitude < 5.0), amplitude  # the attractor has |u| ~ 3
    assert amplitude[-1] > 1.5  # chaotic, not decayed
    assert float(jnp.max(jnp.abs(sol.stats["mass_drift"]))) < 1e-10


def test_ks_validates_its_grid():
    with pytest.raises(ValueError, match="grid"):
        sp.KuramotoSivashinsky(sp.FourierGrid((8, 8), 1.0))
