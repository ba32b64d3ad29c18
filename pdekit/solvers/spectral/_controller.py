"""The step-size controller shared by the adaptive methods (our Lawson loop and, through diffrax,
`Dopri8`)."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float

from ..._misc import check_finite_scalar


class PIController(eqx.Module):
    r"""PI step-size controller (Hairer–Wanner II §IV.2, Söderlind 2002):
    $h_{n+1} = h_n\cdot\mathrm{safety}\cdot\mathrm{err}_n^{-(p_c+i_c)/q}\,
    \mathrm{err}_{n-1}^{p_c/q}$, the factor clipped to `[factormin, factormax]`, for a method
    whose error estimate has order $q$. The default `pcoeff=0, icoeff=1` is the I-controller
    $h \leftarrow h\cdot\mathrm{safety}\cdot\mathrm{err}^{-1/q}$. The coefficients mean what they
    mean in `diffrax.PIDController` (:meth:`to_diffrax` builds that one for :class:`Dopri8`).

    **Arguments:**

    - `pcoeff`, `icoeff`: proportional and integral coefficients (>= 0).
    - `safety`: safety factor in (0, 1] (default 0.9).
    - `factormin`, `factormax`: bounds of the step ratio, `0 < factormin < 1 < factormax`
      (default 0.2, 10).

    **Raises:** `ValueError` naming the argument out of range.
    """

    pcoeff: float = eqx.field(static=True, default=0.0)
    icoeff: float = eqx.field(static=True, default=1.0)
    safety: float = eqx.field(static=True, default=0.9)
    factormin: float = eqx.field(static=True, default=0.2)
    factormax: float = eqx.field(static=True, default=10.0)

    def __check_init__(self):
        for name in ("pcoeff", "icoeff"):
            if check_finite_scalar(name, getattr(self, name)) < 0:
                raise ValueError(f"`{name}` must be >= 0, got {getattr(self, name)}.")
        safety = check_finite_scalar("safety", self.safety)
        if not 0 < safety <= 1:
            raise ValueError(f"`safety` must be in (0, 1], got {self.safety}.")
        fmin = check_finite_scalar("factormin", self.factormin)
        fmax = check_finite_scalar("factormax", self.factormax)
        if not 0 < fmin < 1 < fmax:
            raise ValueError("need 0 < `factormin` < 1 < `factormax`, got "
                             f"factormin={self.factormin}, factormax={self.factormax}.")

    def factor(self, err: Float[Array, ""], prev_err: Float[Array, ""], order: int,
               accept: Bool[Array, ""]) -> Float[Array, ""]:
        """The ratio $h_{n+1}/h_n$ after a trial step with scaled error `err` (accepted when
        <= 1; `inf` for a non-finite step) and the last accepted step's error `prev_err`.

        A non-finite step shrinks by `factormin`. After a rejection the ratio is at most 0.9:
        with a ratio in (1/1.01, 1), a rejected step clipped to a save time would be clipped
        to it again, forever.
        """
        finite = jnp.isfinite(err)
        safe_err = jnp.maximum(err, 1e-10)
        beta1 = (self.pcoeff + self.icoeff) / order
        beta2 = self.pcoeff / order
        factor = self.safety * safe_err ** (-beta1) * prev_err ** beta2
        factor = jnp.where(finite, factor, self.factormin)
        return jnp.clip(factor, self.factormin, jnp.where(accept, self.factormax, 0.9))

    def to_diffrax(self, rtol, atol, *, dcoeff: float = 0.0):
        """The equivalent `diffrax.PIDController` with tolerances `rtol`, `atol`."""
        import diffrax

        return diffrax.PIDController(rtol=rtol, atol=atol, pcoeff=self.pcoeff,
                                     icoeff=self.icoeff, dcoeff=dcoeff, safety=self.safety,
                                     factormin=self.factormin, factormax=self.factormax)
