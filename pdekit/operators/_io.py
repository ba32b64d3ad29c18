"""Saving and loading trained operators (with their normalisers) by configuration.

``save_model(PATH, model)`` writes the checkpoint pair ``PATH.eqx`` + ``PATH.json``
(``pdekit.training.save_checkpoint``: equinox leaves + a JSON header holding the model
configuration); ``load_model(PATH)`` rebuilds the model from that configuration and reads the
leaves back bit-identically. No pickle: opening a file runs no code.
"""

import json
import os
import pathlib

import equinox as eqx
import jax
import jax.numpy as jnp

from ..training import Normalized, Normalizer, load_checkpoint, read_header, save_checkpoint
from ._deeponet import DeepONet, PODDeepONet, deeponet_from_config
from ._factorisation import factory_from_config
from ._fno import FNO, activation_from_name
from ._mgno import MgNO, mgno_from_config


def model_config(model: eqx.Module) -> dict:
    """JSON-able configuration of an FNO/TFNO/MgNO/(POD-)DeepONet, or of a ``Normalized``
    wrapper around one."""
    if isinstance(model, Normalized):
        def norm(n):
            return None if n is None else {"shape": list(n.mean.shape), "eps": n.eps}

        return {"model": "Normalized", "inner": model_config(model.model),
                "x_normalizer": norm(model.x_normalizer),
                "y_normalizer": norm(model.y_normalizer)}
    if isinstance(model, (FNO, MgNO, DeepONet, PODDeepONet)):
        return json.loads(model.config)
    raise ValueError(f"`model` must be an FNO/TFNO/MgNO/DeepONet (optionally Normalized), "
                     f"got {type(model).__name__}.")


def build_model(config: dict, *, key=None) -> eqx.Module:
    """A model of the given configuration (random weights; zero/one normaliser statistics)."""
    key = jax.random.key(0) if key is None else key
    kind = config.get("model")
    if kind == "Normalized":
        def norm(c):
            if c is None:
                return None
            dtype = config["inner"].get("dtype")
            return Normalizer(jnp.zeros(c["shape"], dtype), jnp.ones(c["shape"], dtype),
                              c["eps"], dtype=dtype)

        return Normalized(build_model(config["inner"], key=key), norm(config["x_normalizer"]),
                          norm(config["y_normalizer"]))
    if kind == "FNO":
        c = dict(config)
        c.pop("model")
        activation = activation_from_name(c.pop("activation"))
        return FNO(c.pop("in_channels"), c.pop("out_channels"), tuple(c.pop("modes")),
                   c.pop("width"), c.pop("n_layers"),
                   factorization=factory_from_config(c.pop("factorization")),
                   padding=tuple(c.pop("padding")), activation=activation, key=key, **c)
    if kind == "MgNO":
        return mgno_from_config(config, key=key)
    if kind in ("DeepONet", "PODDeepONet"):
        return deeponet_from_config(config, key=key)
    raise ValueError(f"Unknown model kind {kind!r} in the configuration.")


def save_model(path: str | os.PathLike, model: eqx.Module, *, overwrite: bool = False,
               extra: dict | None = None) -> pathlib.Path:
    """Write ``PATH.eqx`` and ``PATH.json``; refuses to replace them unless `overwrite`.

    `extra`: JSON-able information stored in the header's ``state`` (e.g. metrics).
    """
    path = pathlib.Path(path)
    if path.with_name(path.name + ".json").exists() and not overwrite:
        raise ValueError(f"'{path}.json' exists; pass overwrite=True to replace it.")
    return save_checkpoint(path, model, config=model_config(model), state=extra or {})


def load_model(path: str | os.PathLike) -> tuple[eqx.Module, dict]:
    """Rebuild a model saved by :func:`save_model`; returns ``(model, extra)``."""
    header = read_header(path)
    like = build_model(header["config"])
    return load_checkpoint(path, like, config=header["config"])
