"""Sharded POD over 4 forced host devices equals single-device POD (up to signs)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pdekit import rom


@pytest.mark.parametrize("method", ["tsqr", "gram"])
@pytest.mark.parametrize("weighted", [False, True])
def test_sharded_equals_single_device(method, weighted):
    devices = jax.devices()[:4]
    assert len(devices) == 4
    rng = np.random.default_rng(0)
    n, S = 160, 24
    X = (np.linalg.qr(rng.standard_normal((n, S)))[0] * 0.7 ** np.arange(S)) @ rng.standard_normal(
        (S, S))
    w = rng.uniform(0.5, 2.0, n) if weighted else None
    ref = rom.pod(jnp.asarray(X), product=None if w is None else jnp.diag(jnp.asarray(w)),
                  rank=8)
    out = rom.sharded_pod(jnp.asarray(X), rank=8, weights=w, devices=devices, method=method)
    assert len(out.modes.sharding.device_set) == 4
    rtol = 1e-12 if method == "tsqr" else 1e-9
    np.testing.assert_allclose(np.asarray(out.singular_values), np.asarray(ref.singular_values),
                               rtol=rtol)
    A, B = np.asarray(out.modes), np.asarray(ref.modes)
    signs = np.sign(np.sum(A * B, axis=0))
    np.testing.assert_allclose(A * signs, B, atol=1e-9)


def test_sharded_bad_input():
    with pytest.raises(ValueError, match="divisible"):
        rom.sharded_pod(jnp.ones((10, 2)), devices=jax.devices()[:4])
    with pytest.raises(ValueError, match="method"):
        rom.sharded_pod(jnp.ones((8, 2)), method="svd")
