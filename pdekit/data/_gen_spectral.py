"""Dataset generators on the pseudo-spectral solvers: ``nlse``, ``burgers``, ``navier-stokes``.

Each draws its initial state from a periodic :class:`GaussianRandomField` and integrates it with
``pdekit.solvers.spectral.solve``. ``burgers`` and ``navier-stokes`` need the spectral equations
(``spectral.Burgers``, ``spectral.NavierStokes2D``, issue #10); until they are in the build, the
generators are registered but refuse to run with a message saying so.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from .._misc import check_finite_scalar, check_positive_int
from ..solvers import spectral
from ._grf import GaussianRandomField
from ._registry import Recipe, register


def _require(name: str):
    cls = getattr(spectral, name, None)
    if cls is None:
        raise ValueError(
            f"this generator needs `pdekit.solvers.spectral.{name}`, which this pdekit build "
            "does not have yet (the spectral equations of issue #10)."
        )
    return cls


def _steps(t1: float, dt: float, name: str = "dt") -> float:
    dt = check_finite_scalar(name, dt, positive=True)
    if dt > t1 > 0:
        raise ValueError(f"parameter `{name}` = {dt} must be <= t1 = {t1}.")
    return dt


def _save_times(times: tuple[float, ...], name: str = "times") -> np.ndarray:
    ts = np.asarray(times, dtype=np.float64)
    if ts.size == 0 or np.any(ts <= 0) or np.any(np.diff(ts) <= 0):
        raise ValueError(f"parameter `{name}` must be increasing positive times, got {times}.")
    return ts


class NLSESample(eqx.Module):
    """psi0 = amplitude (g1 + i g2) / sqrt 2 (two periodic GRFs) -> psi(t1); channels (re, im)."""

    problem: spectral.NLSE
    grf: GaussianRandomField
    method: eqx.Module
    amplitude: float = eqx.field(static=True)
    t1: float = eqx.field(static=True)
    dt: float = eqx.field(static=True)

    def __call__(self, key):
        import jax

        k1, k2 = jax.random.split(key)
        dtype = self.grf.sqrt_eigenvalues.dtype
        amp = jnp.asarray(self.amplitude / np.sqrt(2.0), dtype)
        re, im = amp * self.grf(k1), amp * self.grf(k2)
        psi0 = jax.lax.complex(re, im)
        sol = spectral.solve(self.problem, self.method, psi0, self.t1, dt=self.dt)
        psi1 = sol.us[-1]
        return jnp.stack([re, im]), jnp.stack([psi1.real, psi1.imag]).astype(dtype)


@register(
    "nlse",
    defaults={"beta": 1.0, "gamma": 1.0, "t1": 1.0, "dt": 1e-3, "domain_length": 20.0,
              "amplitude": 1.0, "alpha": 2.0, "tau": 1.0},
    doc="Cubic NLSE i psi_t + beta/2 psi_xx + gamma |psi|^2 psi = 0 on [-L/2, L/2), periodic: "
        "psi0 (complex GRF) -> psi(t1) (Yoshida4 split-step), channels (Re, Im).",
)
def nlse(resolution, dtype, *, beta, gamma, t1, dt, domain_length, amplitude, alpha, tau):
    """`resolution` grid points (even); 4th-order split-step with step <= `dt`."""
    if resolution % 2:
        raise ValueError(f"`resolution` must be even for the Fourier grid, got {resolution}.")
    t1 = check_finite_scalar("t1", t1, positive=True)
    dt = _steps(t1, dt)
    length = check_finite_scalar("domain_length", domain_length, positive=True)
    amplitude = check_finite_scalar("amplitude", amplitude, positive=True)
    grid = spectral.FourierGrid(resolution, length, dtype=dtype)
    problem = spectral.NLSE(grid, beta=beta, gamma=gamma)
    grf = GaussianRandomField((resolution,), alpha=alpha, tau=tau, boundary="periodic",
                              domain_length=length, dtype=dtype)
    x = np.asarray(grid.x, dtype=np.float64)
    return Recipe(
        sample=NLSESample(problem=problem, grf=grf, method=spectral.Yoshida4(),
                          amplitude=amplitude, t1=t1, dt=dt),
        x_shape=(2, resolution), y_shape=(2, resolution),
        grid={"kind": "periodic", "shape": [resolution], "axes": ["x"],
              "domain": [[-length / 2, length / 2]]},
        coords={"x": x},
        units={"x": "psi0 (Re, Im), nondimensional", "y": "psi(t1) (Re, Im)",
               "coords": "nondimensional length"},
        names={"x": ["re psi0", "im psi0"], "y": ["re psi", "im psi"]},
    )


class SpectralSample(eqx.Module):
    """u0 (periodic GRF, times `scale`) -> u at `times` (ETDRK4); y channels = save times."""

    problem: eqx.Module
    grf: GaussianRandomField
    method: eqx.Module
    scale: float = eqx.field(static=True)
    times: tuple[float, ...] = eqx.field(static=True)
    dt: float = eqx.field(static=True)

    def initial(self, key):
        """The input field `u0` of the sample drawn from `key` (no solve)."""
        return jnp.asarray(self.scale, self.grf.sqrt_eigenvalues.dtype) * self.grf(key)

    def __call__(self, key):
        u0 = self.initial(key)
        ts = np.asarray(self.times)  # concrete: fixed-step solves count their steps from it
        sol = spectral.solve(self.problem, self.method, u0, self.times[-1], dt=self.dt,
                             saveat=ts)
        return u0[None], jnp.real(sol.us).astype(u0.dtype)


@register(
    "burgers",
    defaults={"viscosity": 0.1, "t1": 1.0, "dt": 1e-3, "alpha": 2.0, "tau": 5.0,
              "sigma": 25.0, "domain_length": 1.0},
    doc="Viscous Burgers u_t + u u_x = nu u_xx on the periodic interval (FNO: nu = 0.1): "
        "u0 (GRF) -> u(t1), ETDRK4, 2/3 dealiasing.",
)
def burgers(resolution, dtype, *, viscosity, t1, dt, alpha, tau, sigma, domain_length):
    """FNO Burgers (Li et al. 2021): u0 ~ N(0, 625 (-Laplace + 25)^-2) (alpha 2, tau 5,
    sigma 25) on `resolution` points of ``[-L/2, L/2)``, output u(t1)."""
    cls = _require("Burgers")
    if resolution % 2:
        raise ValueError(f"`resolution` must be even for the Fourier grid, got {resolution}.")
    t1 = check_finite_scalar("t1", t1, positive=True)
    dt = _steps(t1, dt)
    grid = spectral.FourierGrid(resolution, domain_length, dtype=dtype)
    grf = GaussianRandomField((resolution,), alpha=alpha, tau=tau, sigma=sigma,
                              boundary="periodic", domain_length=domain_length, dtype=dtype)
    return Recipe(
        sample=SpectralSample(problem=cls(grid, viscosity), grf=grf, method=spectral.ETDRK4(),
                              scale=1.0, times=(t1,), dt=dt),
        x_shape=(1, resolution), y_shape=(1, resolution),
        grid={"kind": "periodic", "shape": [resolution], "axes": ["x"],
              "domain": [[-domain_length / 2, domain_length / 2]]},
        coords={"x": np.asarray(grid.x, dtype=np.float64).reshape(-1)},
        units={"x": "u0 (velocity)", "y": "u(t1)", "viscosity": "length^2/time"},
        names={"x": ["u0"], "y": ["u"]},
    )


def fno_ns_sigma(alpha: float, tau: float) -> float:
    r"""The GRF amplitude $\sigma$ that reproduces the initial vorticity of the FNO Navier–Stokes
    data: $\sqrt2\,\tau^{\alpha-1}$.

    The script that made the published data (Li et al. 2021, `random_fields.py`,
    `GaussianRF(2, s, alpha=2.5, tau=7)`) sets coefficients $c_k = s^2\sqrt2\,\sigma_F
    (4\pi^2|k|^2 + \tau^2)^{-\alpha/2}(\xi_k + i\eta_k)$, $\sigma_F = \tau^{\alpha - 1}$,
    $\xi, \eta$ i.i.d. $N(0, 1)$, and keeps the real part of their inverse FFT (with the
    $1/s^2$): a stationary field of pointwise variance
    $2\sigma_F^2\sum_{k \ne 0}(4\pi^2|k|^2 + \tau^2)^{-\alpha}$, twice that of a
    :class:`GaussianRandomField` with $\sigma = \sigma_F$ (covariance exactly
    $\sigma^2(-\Delta + \tau^2)^{-\alpha}$). Later copies of the script draw `torch.cfloat`
    noise (unit *complex* variance), which halves the variance: they match $\sigma_F$."""
    return float(np.sqrt(2.0) * tau ** (alpha - 1.0))


@register(
    "navier-stokes",
    defaults={"viscosity": 1e-3, "times": (10.0,), "dt": 1e-3, "alpha": 2.5, "tau": 7.0,
              "sigma": 0.0, "forcing": True},
    doc="2D incompressible Navier-Stokes (vorticity) on the unit torus, FNO forcing "
        "0.1(sin 2pi(x+y) + cos 2pi(x+y)): w0 (GRF) -> w at the save `times` (one channel "
        "each), ETDRK4.",
)
def navier_stokes(resolution, dtype, *, viscosity, times, dt, alpha, tau, sigma, forcing):
    """FNO Navier-Stokes: w0 ~ GRF with covariance sigma^2 (-Laplace + tau^2)^-alpha (alpha
    2.5, tau 7) on the `resolution`² torus grid; `sigma` = 0 (default) means the FNO data's
    normalisation, :func:`fno_ns_sigma` = sqrt(2) tau^(alpha - 1)."""
    cls = _require("NavierStokes2D")
    check_positive_int("resolution", resolution, even=True)
    ts = _save_times(times)
    dt = _steps(float(ts[-1]), dt)
    sigma = check_finite_scalar("sigma", sigma, nonnegative=True)
    if sigma == 0.0:
        sigma = fno_ns_sigma(alpha, tau)
    if forcing:
        problem = cls.fno(resolution, viscosity, dtype=dtype)
    else:
        problem = cls(spectral.FourierGrid((resolution, resolution), 1.0, dtype=dtype),
                      viscosity)
    grf = GaussianRandomField((resolution, resolution), alpha=alpha, tau=tau, sigma=sigma,
                              boundary="periodic", dtype=dtype)
    xs = np.arange(resolution) / resolution - 0.5
    return Recipe(
        sample=SpectralSample(problem=problem, grf=grf, method=spectral.ETDRK4(), scale=1.0,
                              times=tuple(float(t) for t in ts), dt=dt),
        x_shape=(1, resolution, resolution), y_shape=(len(ts), resolution, resolution),
        grid={"kind": "periodic", "shape": [resolution, resolution], "axes": ["x", "y"],
              "domain": [[-0.5, 0.5], [-0.5, 0.5]], "times": [float(t) for t in ts]},
        coords={"x": xs, "y": xs},
        units={"x": "vorticity w0 (1/time)", "y": "vorticity w(t) (1/time)",
               "viscosity": "length^2/time", "times": "time"},
        names={"x": ["w0"], "y": [f"w(t={t:g})" for t in ts]},
        params={"sigma": sigma},
    )
