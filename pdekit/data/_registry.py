"""Dataset recipes and the generator registry.

A *recipe* is everything needed to make sample ``i`` of a dataset: a pure function
``sample(key) -> (x, y)`` (one unbatched sample, channels first), the per-sample shapes, and
the grid/mesh description stored beside the data. A *generator* builds a recipe from the
resolution and its parameters. Adding a dataset is one build function and one
:func:`register` call::

    @register("heat", defaults={"nu": 0.01, "t1": 1.0}, doc="u0 -> u(t1), 1D heat")
    def heat(resolution, dtype, *, nu, t1):
        ...
        return Recipe(sample=..., x_shape=(1, resolution), y_shape=(1, resolution), ...)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import numpy as np

GENERATORS: dict[str, Generator] = {}


@dataclasses.dataclass(frozen=True)
class Recipe:
    """How to make one sample, and what to store beside the data.

    **Fields:**
    - `sample`: ``sample(key) -> (x, y)``, a pure JAX function (or a callable equinox Module)
      of one PRNG key returning one input `x` of shape `x_shape` and one output `y` of shape
      `y_shape`, channels first `(C, *spatial)`; it is ``jax.lax.map``-ed and sharded by
      :func:`pdekit.data.generate`, and must not depend on anything but its key.
    - `x_shape`, `y_shape`: per-sample shapes.
    - `grid`: JSON-able description of the grid or mesh (kind, sizes, domain, boundary).
    - `coords`: grid coordinates per spatial axis (stored under ``/coords``).
    - `units`: physical units of the stored quantities (JSON-able, ``{}`` if none).
    - `names`: channel names, ``{"x": [...], "y": [...]}``.
    - `aux`: extra arrays to store (e.g. a mesh: ``{"points": ..., "cells": ...}``).
    - `params`: parameters resolved by the build function (e.g. a tolerance chosen from the
      dtype); they are merged into the stored parameters.
    """

    sample: Callable
    x_shape: tuple[int, ...]
    y_shape: tuple[int, ...]
    grid: dict
    coords: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    units: dict = dataclasses.field(default_factory=dict)
    names: dict = dataclasses.field(default_factory=dict)
    aux: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    params: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Generator:
    """A registered dataset generator: `build(resolution, dtype, **params) -> Recipe`,
    its parameter defaults (their types are the parameters' types) and a one-line `doc`."""

    name: str
    build: Callable[..., Recipe]
    defaults: dict[str, Any]
    doc: str
    choices: dict[str, tuple] = dataclasses.field(default_factory=dict)

    def resolve(self, params: dict[str, Any]) -> dict[str, Any]:
        """Defaults overridden by `params`, each converted to its default's type and checked
        (finite numbers, known names, allowed choices). Raises `ValueError` naming it."""
        unknown = sorted(set(params) - set(self.defaults))
        if unknown:
            raise ValueError(
                f"unknown parameter(s) {unknown} for generator {self.name!r}; "
                f"known: {sorted(self.defaults)}."
            )
        out = {}
        for k, default in self.defaults.items():
            out[k] = _convert(self.name, k, params.get(k, default), default)
            if k in self.choices and out[k] not in self.choices[k]:
                raise ValueError(
                    f"parameter `{k}` of {self.name!r} must be one of {self.choices[k]}, "
                    f"got {out[k]!r}."
                )
        return out


def _convert(gen: str, name: str, value: Any, default: Any) -> Any:
    where = f"parameter `{name}` of {gen!r}"
    if isinstance(default, bool):
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
            return value.lower() in ("true", "1")
        if isinstance(value, (bool, np.bool_)) or value in (0, 1):
            return bool(value)
        raise ValueError(f"{where} must be true or false, got {value!r}.")
    if isinstance(default, int):
        try:
            f = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{where} must be an integer, got {value!r}.") from None
        if not math.isfinite(f) or f != int(f):
            raise ValueError(f"{where} must be an integer, got {value!r}.")
        return int(f)
    if isinstance(default, float):
        try:
            f = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{where} must be a number, got {value!r}.") from None
        if not math.isfinite(f):
            raise ValueError(f"{where} must be finite, got {value!r}.")
        return f
    if isinstance(default, tuple):
        items = value.split(",") if isinstance(value, str) else list(np.ravel(value))
        try:
            vals = tuple(float(v) for v in items)
        except (TypeError, ValueError):
            raise ValueError(f"{where} must be numbers (comma separated), got {value!r}.") from None
        if not vals or not all(math.isfinite(v) for v in vals):
            raise ValueError(f"{where} must be finite numbers, got {value!r}.")
        return vals
    return str(value)


def register(name: str, *, defaults: dict[str, Any], doc: str,
             choices: dict[str, tuple] | None = None):
    """Decorator adding a build function to :data:`GENERATORS` under `name`.

    The build function is called as ``build(resolution, dtype, **params)`` with every
    parameter resolved (defaults filled in, types checked) and returns a :class:`Recipe`;
    it raises `ValueError` for a resolution or parameter it cannot handle (before any
    solve). `choices` restricts string parameters to the listed values.
    """

    def deco(build):
        if name in GENERATORS:
            raise ValueError(f"generator {name!r} is registered already.")
        GENERATORS[name] = Generator(name, build, dict(defaults), doc, dict(choices or {}))
        return build

    return deco


def get_generator(name: str) -> Generator:
    """The registered generator `name`, or `ValueError` listing the known ones."""
    from . import _generators  # noqa: F401  (registers the built-in generators)

    if not isinstance(name, str) or name not in GENERATORS:
        raise ValueError(f"`name`: unknown generator {name!r}; known: {sorted(GENERATORS)}.")
    return GENERATORS[name]
