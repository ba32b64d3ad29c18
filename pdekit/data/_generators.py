"""Built-in dataset generators (each: one build function + one :func:`register` call)."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from ..solvers import fem, linalg
from ._grf import GaussianRandomField
from ._registry import Recipe, register


class DarcySample(eqx.Module):
    """One Darcy sample: key -> permeability `a` -> P1 pressure `u` on the grid."""

    problem: fem.Poisson
    cells: fem.BlockCoefficient
    interp: fem.GridInterpolator
    grf: GaussianRandomField | None
    block_index: Array
    high: float = eqx.field(static=True)
    low: float = eqx.field(static=True)
    blocks: int = eqx.field(static=True)

    def coefficient(self, key):
        """Permeability on the `(s, s)` grid of cell centres (rows = y)."""
        dtype = self.problem.space.dtype
        hi, lo = jnp.asarray(self.high, dtype), jnp.asarray(self.low, dtype)
        if self.grf is not None:  # FNO: a = psi(g), psi = high on g >= 0, low below
            return jnp.where(self.grf(key) >= 0, hi, lo)
        vals = jnp.where(jax.random.uniform(key, (self.blocks, self.blocks), dtype) >= 0.5,
                         hi, lo)
        return vals[self.block_index[:, None], self.block_index[None, :]]

    def __call__(self, key):
        a = self.coefficient(key)
        u = self.problem.solve(a=self.cells(a), f=1.0)
        return a[None], self.interp(u)[None]


def float_rtol(dtype, cells_per_side: int, contrast: float) -> float:
    """Default CG `rtol` of the Darcy generator below float64: ``max(1e-5, eps m^2 c / 4)``
    (`m` mesh cells per side, `c` = high / low), a residual the precision can reach (see
    :func:`darcy`)."""
    eps = float(jnp.finfo(dtype).eps)
    return max(1e-5, eps * cells_per_side**2 * max(contrast, 1.0 / contrast) / 4.0)


@register(
    "darcy",
    defaults={"coefficient": "grf", "alpha": 2.0, "tau": 3.0, "high": 12.0, "low": 3.0,
              "blocks": 8, "refine": 1, "rtol": 0.0},
    choices={"coefficient": ("grf", "blocks")},
    doc="Darcy flow -div(a grad u) = 1 on the unit square, u = 0 on the boundary: "
        "permeability a -> pressure u (P1 FEM, GMG-CG), on the s x s cell-centre grid.",
)
def darcy(resolution, dtype, *, coefficient, alpha, tau, high, low, blocks, refine, rtol):
    r"""The FNO Darcy benchmark (Li et al. 2021) on an `s x s` grid of cell centres
    ``((i + 1/2)/s, (j + 1/2)/s)``.

    `coefficient="grf"`: $a = \psi(g)$, $g$ a Neumann (cosine) Gaussian random field with
    covariance $\tau^{2\alpha-2}(-\Delta + \tau^2)^{-\alpha}$ on the same grid, $\psi$ = `high`
    where $g \ge 0$ and `low` elsewhere (12 / 3). `coefficient="blocks"`: a `blocks x blocks`
    grid of values `high` / `low` with probability 1/2 each. Each grid cell is a square of
    ``refine x refine`` mesh squares (two P1 triangles each) carrying its value of `a`; the
    pressure is solved by CG with geometric multigrid and sampled at the cell centres.

    `rtol` is CG's relative residual; 0 (the default) picks one from the dtype: in float64
    1e-7 (max-norm relative error ~2e-9 against a direct solve at 64 x 64, 30x below the
    float32 rounding of the stored data, one CG iteration fewer than 1e-8; pass 1e-10 or so
    for float64 storage at full accuracy), and in float32
    $\max(10^{-5}, \varepsilon\,m^2\,(a_{hi}/a_{lo})/4)$ for ``m = s * refine`` mesh cells
    per side: the residual of a float32 iterate cannot fall much below
    $\varepsilon\kappa$, $\kappa \sim m^2 a_{hi}/a_{lo}$ the stiffness matrix's condition
    number (the measured floor of GMG-CG is 0.003-0.03 $\varepsilon m^2 a_{hi}/a_{lo}$, so
    the rule keeps a margin of 8x or more), e.g. 1.2e-4 at 32 x 32 and 4.9e-4 at 64 x 64
    for 12 / 3, where the pressure is still within ~2e-5 (max-norm, relative) of a float64
    direct solve. The chosen value is stored with the parameters.

    **Raises:** `ValueError` if ``s * refine`` cells per side cannot be coarsened by GMG (it
    must be ``2^k m`` with ``(m + 1)^2 <= 30``: e.g. 16, 32, 48, 64, 96, 128, 256).
    """
    from .._misc import check_finite_scalar, check_positive_int

    s = resolution
    refine = check_positive_int("refine", refine)
    blocks = check_positive_int("blocks", blocks)
    for name, v in (("high", high), ("low", low)):
        check_finite_scalar(name, v, positive=True)
    m = s * refine
    if rtol == 0.0:
        rtol = 1e-7 if jnp.dtype(dtype) == jnp.float64 else float_rtol(dtype, m, high / low)
    rtol = check_finite_scalar("rtol", rtol, positive=True)
    try:  # the node grid of unit_square_mesh(m) is (m + 1) x (m + 1): check before building it
        gmg = linalg.GMG((m + 1, m + 1))
    except ValueError as err:
        raise ValueError(
            f"`resolution`: {s} (x refine {refine} = {m} mesh cells per side) cannot be "
            f"coarsened by the multigrid solver ({err}). Use a resolution 2^k m with m <= 4 "
            "per side (e.g. 16, 32, 48, 64, 96, 128, 256)."
        ) from None
    mesh = fem.unit_square_mesh(m)
    space = fem.FunctionSpace(mesh, fem.P1(), dtype=dtype)
    if fem.grid_shape(space) != gmg.grid_shape:  # pragma: no cover - mesh numbering changed
        raise RuntimeError("unit_square_mesh no longer numbers its nodes as a GMG grid.")
    problem = fem.Poisson(space, method=linalg.CG(rtol=rtol, preconditioner=gmg))
    centres = (np.arange(s) + 0.5) / s
    grf = None
    if coefficient == "grf":
        grf = GaussianRandomField((s, s), alpha=alpha, tau=tau, boundary="neumann", dtype=dtype)
    sample = DarcySample(
        problem=problem,
        cells=fem.BlockCoefficient(mesh, (s, s)),
        interp=fem.GridInterpolator(space, centres, centres),
        grf=grf,
        block_index=jnp.asarray(np.minimum((centres * blocks).astype(np.int32), blocks - 1)),
        high=float(high), low=float(low), blocks=blocks,
    )
    return Recipe(
        sample=sample,
        x_shape=(1, s, s),
        y_shape=(1, s, s),
        grid={"kind": "cell-centred", "shape": [s, s], "axes": ["y", "x"],
              "domain": [[0.0, 1.0], [0.0, 1.0]],
              "mesh": {"cells_per_side": m, "element": "P1", "diagonal": "right"},
              "problem": "-div(a grad u) = 1, u = 0 on the boundary"},
        coords={"y": centres, "x": centres},
        units={"x": "1 (nondimensional permeability a)", "y": "1 (nondimensional pressure u)",
               "coords": "1 (unit square)"},
        names={"x": ["a"], "y": ["u"]},
        params={"rtol": rtol},
    )


class HeatSample(eqx.Module):
    """One heat sample: periodic GRF `u0` -> exact `u(t1) = F^-1[exp(-nu |k|^2 t1) F u0]`."""

    grf: GaussianRandomField
    decay: Array

    def __call__(self, key):
        u0 = self.grf(key)
        axes = tuple(range(u0.ndim))
        u_hat = jnp.fft.fftn(u0, axes=axes)
        u1 = jnp.real(jnp.fft.ifftn(u_hat * self.decay.astype(u_hat.dtype), axes=axes))
        return u0[None], u1.astype(u0.dtype)[None]


@register(
    "heat",
    defaults={"dim": 1, "nu": 0.01, "t1": 1.0, "alpha": 2.0, "tau": 7.0,
              "domain_length": 1.0},
    doc="Heat equation u_t = nu Laplace(u) on the periodic box [0, L)^dim: u0 (GRF) -> u(t1), "
        "solved exactly in Fourier space.",
)
def heat(resolution, dtype, *, dim, nu, t1, alpha, tau, domain_length):
    r"""$u_t = \nu\Delta u$ on the torus $[0, L)^d$ ($d$ = `dim` = 1 or 2), $u_0$ a periodic
    GRF with covariance $\tau^{2\alpha-d}(-\Delta+\tau^2)^{-\alpha}$ (mean zero), output the
    exact Fourier solution at `t1` on the same `resolution`-point grid per side."""
    from .._misc import check_finite_scalar

    if dim not in (1, 2):
        raise ValueError(f"parameter `dim` of 'heat' must be 1 or 2, got {dim}.")
    nu = check_finite_scalar("nu", nu, nonnegative=True)
    t1 = check_finite_scalar("t1", t1, nonnegative=True)
    shape = (resolution,) * dim
    grf = GaussianRandomField(shape, alpha=alpha, tau=tau, boundary="periodic",
                              domain_length=domain_length, dtype=dtype)
    k = 2 * np.pi * np.fft.fftfreq(resolution, domain_length / resolution)
    k2 = sum(kk**2 for kk in np.meshgrid(*([k] * dim), indexing="ij"))
    decay = jnp.asarray(np.exp(-nu * k2 * t1), dtype)
    xs = np.arange(resolution) * domain_length / resolution
    axes = ["x", "y"][:dim]
    return Recipe(
        sample=HeatSample(grf=grf, decay=decay),
        x_shape=(1, *shape),
        y_shape=(1, *shape),
        grid={"kind": "periodic", "shape": list(shape), "axes": axes,
              "domain": [[0.0, domain_length]] * dim},
        coords={a: xs for a in axes},
        units={"x": "u0 (arbitrary units)", "y": "u(t1) (same units as u0)",
               "t1": "time units of 1/nu per length^2"},
        names={"x": ["u0"], "y": ["u"]},
    )


from . import _gen_spectral  # noqa: E402, F401, I001  (nlse, burgers, navier-stokes)
