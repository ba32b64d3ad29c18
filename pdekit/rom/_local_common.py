"""What the parameter-routed local ROMs share (:class:`LocalAffineROM`,
:class:`LocalNonIntrusiveROM`): the parameter box, the classifier's scaled inputs, and the
checks of their construction arguments."""

from __future__ import annotations

import abc
from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from ._affine import check_params

__all__ = ["AbstractParamRoutedROM", "check_classifier"]


def check_classifier(classifier, num_clusters: int) -> None:
    """`ValueError` unless `classifier` is None or has `num_clusters` classes."""
    if classifier is not None and getattr(classifier, "num_clusters", None) != num_clusters:
        raise ValueError(f"`classifier` has {getattr(classifier, 'num_clusters', '?')} classes "
                         f"for {num_clusters} clusters.")


class AbstractParamRoutedROM(eqx.Module):
    """`K` local ROMs on a parameter box ``[mu_min, mu_max]``, routed from the parameters
    (optionally by a :class:`RomNetClassifier` on :meth:`features`).

    Subclasses declare the fields `classifier`, static `mu_min`, `mu_max`, the property
    `num_clusters`, and in `_dtype_of` the name of the array field that sets the dtype.
    """

    _dtype_of: ClassVar[str]

    classifier: eqx.AbstractVar[eqx.Module | None]
    mu_min: eqx.AbstractVar[tuple[float, ...]]
    mu_max: eqx.AbstractVar[tuple[float, ...]]

    @property
    @abc.abstractmethod
    def num_clusters(self) -> int:
        """Number of local ROMs `K`."""

    @property
    def dtype(self):
        """Floating dtype of the stored arrays."""
        return getattr(self, self._dtype_of).dtype

    def check_params(self, mu, name: str = "mu") -> np.ndarray:
        """Eager box check (see :func:`pdekit.rom.check_params`): `mu` as a host array.

        **Raises:** `ValueError` naming `name` if `mu` is not finite or outside the box."""
        return check_params(mu, self.mu_min, self.mu_max, name)

    def features(self, mu: Float[Array, "... P"]) -> Float[Array, "... P"]:
        """Parameters scaled to ``[-1, 1]^P`` (the classifier's inputs)."""
        mu = mu.astype(self.dtype)
        lo = jnp.broadcast_to(jnp.asarray(self.mu_min, mu.dtype), mu.shape)
        hi = jnp.broadcast_to(jnp.asarray(self.mu_max, mu.dtype), mu.shape)
        return 2 * (mu - lo) / (hi - lo) - 1
