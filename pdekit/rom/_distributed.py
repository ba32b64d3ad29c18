r"""Distributed POD: the snapshot matrix split by *rows* (DOFs) across devices, as in a
domain decomposition, reduced with one collective.

- ``method="gram"``: each device forms its block's Gram contribution ``X_i^T W_i X_i``
  (`(S, S)`), one ``psum`` adds them, every device eigen-decomposes the same small matrix and
  forms its rows of the modes ``U_i = X_i V / sigma``. One all-reduce of ``S^2`` numbers;
  round-off as the method of snapshots (``sqrt(eps)`` relative).
- ``method="tsqr"``: each device takes a thin QR ``X_i = Q_i R_i``; the `(S, S)` factors are
  gathered, stacked and QR-ed once more (``[R_1; ...; R_d] = Q' R``), the SVD of ``R`` gives
  ``sigma`` and the modes ``U_i = Q_i Q'_i U_R``. Accurate to ``eps`` (Demmel et al. 2012,
  doi:10.1137/080731992).

Only diagonal inner products (``weights``, e.g. a lumped mass) split by rows; for a general
FEM matrix use :func:`pdekit.rom.pod` on one device. The truncation convention is the one of
:mod:`pdekit.rom._pod`.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from ._pod import POD, _check_matrix, _check_truncation, truncation_rank


def sharded_pod(snapshots, *, rank: int | None = None, tol: float | None = None,
                weights=None, devices=None, method: str = "tsqr") -> POD:
    """POD of a snapshot matrix whose rows are split over `devices` (``jax.sharding``).

    **Arguments:**
    - `snapshots`: shape `(n, S)`; `n` must be divisible by the number of devices (pad
      with zero rows otherwise: zero rows change nothing).
    - `rank`, `tol`: truncation, as in :func:`pdekit.rom.pod`.
    - `weights`: optional positive diagonal inner product, shape `(n,)`.
    - `devices`: JAX devices (default: all).
    - `method`: ``"tsqr"`` (default, accurate) or ``"gram"`` (one all-reduce).

    **Returns:** a :class:`POD` whose `modes` are sharded by rows like the input; equal to
    the single-device POD up to the sign of each mode.

    **Raises:** `ValueError` for a bad `method`, non-divisible `n`, or bad weights.
    """
    X = _check_matrix(snapshots)
    rank, tol = _check_truncation(rank, tol)
    if method not in ("tsqr", "gram"):
        raise ValueError(f"`method` must be 'tsqr' or 'gram', got {method!r}.")
    devices = tuple(jax.devices() if devices is None else devices)
    nd = len(devices)
    if nd == 0:
        raise ValueError("`devices` is empty.")
    n, S = X.shape
    if n % nd:
        raise ValueError(f"`snapshots` has {n} rows, not divisible by {nd} devices; pad it "
                         "with zero rows.")
    if weights is None:
        sw = jnp.ones((n,), X.dtype)
    else:
        w = jnp.asarray(weights, X.dtype)
        if w.shape != (n,) or not bool(jnp.all(w > 0)):
            raise ValueError(f"`weights` must be positive with shape ({n},), got {w.shape}.")
        sw = jnp.sqrt(w)
    if method == "tsqr" and n // nd < S:
        raise ValueError(f"method='tsqr' needs at least S={S} rows per device, got {n // nd}; "
                         "use method='gram'.")
    mesh = Mesh(np.asarray(devices), ("rows",))
    rows = NamedSharding(mesh, PartitionSpec("rows"))
    X = jax.device_put(X, rows)
    sw = jax.device_put(sw, rows)
    U, s, total = _run(X, sw, mesh, method)
    eps = float(jnp.finfo(X.dtype).eps)
    floor = math.sqrt(eps * S) if method == "gram" else eps * max(n, S)
    r = truncation_rank(s, rank=rank, tol=tol, total_energy=float(total), floor=floor)
    return POD(U[:, :r], s[:r], total, s)


def _run(X, sw, mesh, method):
    spec = PartitionSpec("rows")

    def gram(Xi, swi):
        Yi = Xi * swi[:, None]
        C = jax.lax.psum(Yi.T @ Yi, "rows")
        lam, V = jnp.linalg.eigh(0.5 * (C + C.T))
        lam, V = lam[::-1], V[:, ::-1]
        s = jnp.sqrt(jnp.maximum(lam, 0.0))
        inv = jnp.where(s > 0, 1.0 / jnp.where(s > 0, s, 1.0), 0.0)
        Ui = (Xi @ V) * inv[None, :]
        return Ui, s, jnp.trace(C)

    def tsqr(Xi, swi):
        Yi = Xi * swi[:, None]
        Qi, Ri = jnp.linalg.qr(Yi)
        Rs = jax.lax.all_gather(Ri, "rows")  # (d, S, S), the same on every device
        d, S = Rs.shape[0], Rs.shape[1]
        Q2, R = jnp.linalg.qr(Rs.reshape(d * S, S))
        Ur, s, _ = jnp.linalg.svd(R)
        k = jax.lax.axis_index("rows")
        Q2i = jax.lax.dynamic_slice_in_dim(Q2, k * S, S, axis=0)
        Ui = (Qi @ (Q2i @ Ur)) / swi[:, None]
        total = jax.lax.psum(jnp.sum(Yi * Yi), "rows")
        return Ui, s, total

    fn = gram if method == "gram" else tsqr
    return jax.jit(jax.shard_map(
        fn, mesh=mesh, in_specs=(spec, spec),
        out_specs=(spec, PartitionSpec(), PartitionSpec()), check_vma=False,
    ))(X, sw)
