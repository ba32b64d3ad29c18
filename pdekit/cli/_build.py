"""Operators built for a dataset's shapes, shared by ``pdekit train`` and ``pdekit compare``.

MgNO, DeepONet and POD-DeepONet need a few dataset-dependent choices (levels that fit the grid,
the output grid as DeepONet query points, a POD basis of the training outputs); they are made
here, in the CLI layer, so that ``pdekit.operators`` never imports ``pdekit.rom``.
"""

from __future__ import annotations

import math


def auto_levels(spatial) -> int:
    """MgNO levels that halve the grid down to >= 2 points per axis (at most the reference's 6)."""
    return max(1, min(6, int(math.log2(min(spatial))) - 1))


def default_branch(spatial) -> str:
    """A CNN branch for gridded 1D/2D inputs with more than 8 points per axis, else an MLP."""
    return "cnn" if len(spatial) in (1, 2) and min(spatial) > 8 else "mlp"


def build_mgno(ds, *, width: int, layers: int, levels: int | None, padding: str, key, dtype):
    """The MgNO for `ds`: `levels` V-cycle levels (``None``: :func:`auto_levels`), one
    pre-smoothing step per level and two on the coarsest (the reference's schedule).

    **Raises:** `ValueError` naming ``--levels`` when the grid cannot carry that many levels.
    """
    from ..operators import MgNO

    cin, *spatial = ds.x_shape
    levels = auto_levels(spatial) if levels is None else levels
    pre = (1,) * (levels - 1) + (2,) if levels > 1 else 1
    model = MgNO(cin, ds.y_shape[0], width=width, num_layers=layers, levels=levels,
                 pre_smooth=pre, padding=padding, num_spatial_dims=len(spatial), dtype=dtype,
                 key=key)
    try:
        model.vcycles[0].check_spatial(spatial)
    except ValueError as err:
        raise ValueError(f"--levels {levels}: {err}") from None
    return model


def output_grid(ds):
    """Query points ``(*out_spatial, d)`` of the dataset's output grid (its stored coordinates,
    else a uniform grid on ``[0, 1]`` per axis)."""
    import numpy as np

    d = len(ds.y_shape) - 1
    names = (ds.meta.get("grid", {}) or {}).get("axes", [None] * d)
    axes = [np.asarray(ds.coords[a]) if a in ds.coords else np.linspace(0, 1, n)
            for a, n in zip(names, ds.y_shape[1:])]
    return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)


def pod_basis(train, y_normalizer, rank: int):
    """POD basis and mean of the training outputs (``pdekit.rom.pod``, per output channel), in
    the normalised units the model works in (``Normalized`` decodes its output).

    **Returns:** ``(basis, mean, singular_values)`` as numpy arrays: basis
    ``(C_out, p, *spatial)``, mean ``(C_out, *spatial)``, singular values ``(C_out, p)``;
    ``p = min(rank, n_train - 1, points)`` (at least 1).
    """
    import jax.numpy as jnp
    import numpy as np

    from ..rom import pod

    _, y = train.arrays()
    y = y.astype(np.float64)
    if y_normalizer is not None:
        y = (y - np.asarray(y_normalizer.mean)) / (np.asarray(y_normalizer.std)
                                                   + y_normalizer.eps)
    cout, spatial = y.shape[1], y.shape[2:]
    y = y.reshape(len(y), cout, -1)
    mean = y.mean(axis=0)
    r = max(1, min(rank, len(y) - 1, y.shape[-1]))
    basis, sv = [], []
    for c in range(cout):
        res = pod(jnp.asarray((y[:, c] - mean[c]).T), rank=r)
        basis.append(np.asarray(res.modes).T)
        sv.append(np.asarray(res.singular_values))
    p = min(len(b) for b in basis)
    basis = np.stack([b[:p] for b in basis]).reshape((cout, p) + tuple(spatial))
    return basis, mean.reshape((cout,) + tuple(spatial)), np.stack([s[:p] for s in sv])


def build_deeponet(ds, *, width: int, num_basis: int, branch: str | None, key, dtype):
    """An unstacked DeepONet for `ds` queried on its output grid."""
    import jax.numpy as jnp

    from ..operators import DeepONet

    branch = branch or default_branch(ds.x_shape[1:])
    return DeepONet(ds.x_shape, jnp.asarray(output_grid(ds)), num_basis=num_basis,
                    num_outputs=ds.y_shape[0], branch=branch, width=width, dtype=dtype, key=key)


def build_pod_deeponet(ds, basis, mean, *, width: int, branch: str | None, key, dtype):
    """A POD-DeepONet for `ds` with the given `basis`/`mean` (:func:`pod_basis`)."""
    from ..operators import PODDeepONet

    cout = ds.y_shape[0]
    if cout == 1:
        basis, mean = basis[0], mean[0]
    branch = branch or default_branch(ds.x_shape[1:])
    return PODDeepONet(ds.x_shape, basis, mean, num_outputs=cout, branch=branch, width=width,
                       dtype=dtype, key=key)
