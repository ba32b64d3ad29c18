"""FourierGrid, NLSE problem pieces and diagnostics against closed forms."""

import math

import jax.numpy as jnp
import numpy as np
import pytest

from pdekit.solvers import spectral as sp


def test_grid_points_and_wavenumbers():
    grid = sp.FourierGrid(8, 2 * math.pi)
    np.testing.assert_allclose(grid.x, -math.pi + np.arange(8) * math.pi / 4)
    np.testing.assert_allclose(grid.k, [0, 1, 2, 3, -4, -3, -2, -1])
    assert grid.k_derivative[4] == 0 and grid.k_max == pytest.approx(4.0)
    # 2/3 rule keeps |k| <= 8/3 -> modes 0, +-1, +-2.
    np.testing.assert_array_equal(grid.dealias_mask(), [1, 1, 1, 0, 0, 0, 1, 1])
    f = grid.exponential_filter(alpha=36.0, order=8)
    assert f[0] == 1.0 and f[4] == pytest.approx(math.exp(-36.0))


def test_spectral_derivative_is_exact_for_trig_polynomials():
    grid = sp.FourierGrid(32, 3.0)
    x = grid.x
    kk = 2 * math.pi / 3.0 * 5
    u = jnp.sin(kk * x)
    du = grid.ifft(1j * grid.k_derivative.astype(jnp.complex128) * grid.fft(u)).real
    np.testing.assert_allclose(du, kk * jnp.cos(kk * x), atol=1e-11)


@pytest.mark.parametrize("bad", [0, -4, 7, 2.5, True])
def test_grid_rejects_bad_num_points(bad):
    with pytest.raises(ValueError, match="num_points"):
        sp.FourierGrid(bad, 1.0)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("inf"), float("nan")])
def test_grid_rejects_bad_domain_length(bad):
    with pytest.raises(ValueError, match="domain_length"):
        sp.FourierGrid(16, bad)


def test_problem_rejects_bad_coefficients():
    grid = sp.FourierGrid(16, 1.0)
    with pytest.raises(ValueError, match="gamma"):
        sp.NLSE(grid, gamma=float("nan"))
    with pytest.raises(ValueError, match="beta"):
        sp.NLSE(grid, beta=jnp.ones(3))
    with pytest.raises(ValueError, match="grid"):
        sp.NLSE("grid")
    with pytest.raises(ValueError, match="order"):
        sp.ExponentialFilter(alpha=1.0, order=3)


@pytest.mark.parametrize("amplitude,velocity", [(1.0, 0.0), (1.3, -0.7), (0.8, 2.0)])
def test_soliton_invariants_match_closed_forms(amplitude, velocity):
    # psi = A sech(Ax) e^{ivx}: M = 2A, P = 2Av, H = A v^2 - A^3/3 (beta = gamma = 1).
    case = sp.cases.soliton(amplitude, velocity, position=0.0)
    grid = sp.FourierGrid(512, 80.0)
    inv = sp.invariants(case.problem(grid), case.u0(grid))
    assert float(inv["mass"]) == pytest.approx(2 * amplitude, rel=1e-12)
    assert float(inv["momentum"]) == pytest.approx(2 * amplitude * velocity, abs=1e-12)
    assert float(inv["hamiltonian"]) == pytest.approx(
        amplitude * velocity**2 - amplitude**3 / 3, rel=1e-11)


def test_entropies_limits():
    n = 64
    uniform = sp.entropies(jnp.ones(n, dtype=jnp.complex128), renyi_alpha=3.0, tsallis_q=0.5)
    assert float(uniform["shannon"]) == pytest.approx(math.log(n))
    assert float(uniform["renyi"]) == pytest.approx(math.log(n))
    assert float(uniform["tsallis"]) == pytest.approx((1 - n * n**-0.5) / (0.5 - 1))
    delta = sp.entropies(jnp.zeros(n, dtype=jnp.complex128).at[3].set(2.0))
    assert float(delta["shannon"]) == 0.0 and float(delta["renyi"]) == 0.0
    assert float(delta["tsallis"]) == 0.0
    with pytest.raises(ValueError, match="renyi_alpha"):
        sp.entropies(jnp.ones(4), renyi_alpha=1.0)


@pytest.mark.parametrize("n", [512, 128, 64, 30])
def test_permuted_transforms_match_numpy(n):
    # radix-4 split for N % 4 == 0 and N >= 128, plain FFT (identity permutation) otherwise
    grid = sp.FourierGrid(n, 10.0)
    rng = np.random.default_rng(n)
    x = rng.normal(size=(3, n)) + 1j * rng.normal(size=(3, n))
    p = grid.permutation()
    assert sorted(p.tolist()) == list(range(n))
    X = np.fft.fft(x, axis=-1)
    np.testing.assert_allclose(grid.fft_permuted(jnp.asarray(x)), X[:, p], rtol=0,
                               atol=1e-13 * np.abs(X).max())
    np.testing.assert_allclose(grid.ifft_permuted(jnp.asarray(X[:, p])), x, rtol=0, atol=1e-14)
    problem = sp.NLSE(grid, 1.0, 0.7, dealias=True)
    u_hat = jnp.asarray(X[0])
    np.testing.assert_allclose(problem.nonlinear(u_hat[p], permuted=True),
                               problem.nonlinear(u_hat)[p], rtol=0, atol=1e-12)
