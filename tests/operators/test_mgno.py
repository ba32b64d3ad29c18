"""MgNO: V-cycle pieces against independent loop/dense references, the one-level reduction
to a convolution layer, transfer adjointness, the reference preset's size, transformations."""

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pdekit.operators import MgNO, VCycle
from pdekit.operators._mgno import conv, conv_cl, conv_transpose, count_params

PADS = ("zeros", "reflect", "circular")


def _src(i, n, padding):
    """Index of the value at (possibly out-of-range) position i, or None for a zero."""
    if 0 <= i < n:
        return i
    if padding == "zeros":
        return None
    if padding == "circular":
        return i % n
    return -i if i < 0 else 2 * (n - 1) - i  # reflect without repeating the edge


def conv1d_loop(x, w, stride, padding):
    """Reference 1D cross-correlation, x (C, n), w (O, C, k), PyTorch padding k // 2."""
    c, n = x.shape
    o_ch, _, k = w.shape
    n_out = -(-n // stride)
    out = np.zeros((o_ch, n_out))
    for i in range(n_out):
        for t in range(k):
            j = _src(stride * i - k // 2 + t, n, padding)
            if j is not None:
                out[:, i] += w[:, :, t] @ x[:, j]
    return out


def prolong1d_loop(v, w, n_fine, padding):
    """Reference kernel-4 stride-2 transposed convolution (PyTorch padding 1); with
    reflect/circular the coarse field is first extended by one point per side."""
    c, n_c = v.shape
    out = np.zeros((w.shape[1], 2 * n_c))
    lo, hi = (0, n_c) if padding == "zeros" else (-1, n_c + 1)
    for i in range(lo, hi):
        j = _src(i, n_c, padding)
        for t in range(4):
            o = 2 * i - 1 + t
            if 0 <= o < 2 * n_c:
                out[:, o] += w[:, :, t].T @ v[:, j]
    return out[:, :n_fine]


@pytest.mark.parametrize("padding", PADS)
@pytest.mark.parametrize("n", [8, 9])
def test_conv_and_prolongation_match_loops(padding, n):
    if padding == "circular" and n % 2:
        pytest.skip("periodic coarsening needs an even grid")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, n))
    w3 = rng.standard_normal((3, 2, 3))
    for stride in (1, 2):
        got = conv(jnp.asarray(x)[None], jnp.asarray(w3), stride=stride, padding=padding)[0]
        np.testing.assert_allclose(got, conv1d_loop(x, w3, stride, padding), atol=1e-12)
    v = rng.standard_normal((3, -(-n // 2)))
    w4 = rng.standard_normal((3, 2, 4))
    got = conv_transpose(jnp.asarray(v)[None], jnp.asarray(w4), (n,), padding=padding)[0]
    np.testing.assert_allclose(got, prolong1d_loop(v, w4, n, padding), atol=1e-12)


def vcycle1d_dense(vc, n):
    """The V-cycle's matrix built from the loop references (no shared code with VCycle)."""
    np_ = lambda a: np.asarray(a)  # noqa: E731
    pad = vc.padding

    def C(w, stride=1):  # conv as a function
        return lambda x: conv1d_loop(x, np_(w), stride, pad)

    def smooth(u, f, s_a):
        if len(s_a) == 1:
            return C(s_a[0])(f)
        return u + C(s_a[0])(f - C(s_a[1])(u))

    def apply(f):
        us, fs, u = [], [], None
        for l in range(vc.levels):
            if l:
                r = f - C(vc.residual_ops[l - 1])(u) if vc.residual else f
                f, u = C(vc.restrict_f[l - 1], 2)(r), C(vc.restrict_u[l - 1], 2)(u)
            for s_a in vc.smoothers[l]:
                u = smooth(u, f, s_a)
            us.append(u)
            fs.append(f)
        u = us[-1]
        for s_a in vc.post_smoothers[-1]:
            u = smooth(u, fs[-1], s_a)
        for l in range(vc.levels - 2, -1, -1):
            u = us[l] + prolong1d_loop(u, np_(vc.prolong[l]), us[l].shape[1], pad)
            for s_a in vc.post_smoothers[l]:
                u = smooth(u, fs[l], s_a)
        return u

    cf = vc.in_channels
    cols = [apply(e.reshape(cf, n)).ravel() for e in np.eye(cf * n)]
    return np.stack(cols, axis=1)


@pytest.mark.parametrize("padding", PADS)
def test_vcycle_matches_dense_reference(padding, getkey):
    n = 12
    vc = VCycle(2, 3, levels=3, pre_smooth=(1, 2, 1), post_smooth=(1, 0, 1), padding="zeros"
                if padding == "circular" and n % 4 else padding, residual=True,
                num_spatial_dims=1, key=getkey())
    f = jax.random.normal(getkey(), (2, n))
    dense = vcycle1d_dense(vc, n)
    got = eqx.filter_jit(lambda m, f: m(f))(vc, f)
    np.testing.assert_allclose(got.ravel(), dense @ np.asarray(f).ravel(), rtol=1e-10,
                               atol=1e-10)


@pytest.mark.parametrize("d", [1, 2])
@pytest.mark.parametrize("padding", PADS)
def test_one_level_is_a_conv_layer(d, padding, getkey):
    """levels=1, one smoothing step, no transfers: act(S*x + Wx + b) then the 1x1 head, which
    is one eqx.nn.Conv layer with the 1x1 map folded into the stencil centre."""
    model = MgNO(2, 1, width=5, num_layers=1, levels=1, pre_smooth=1, padding=padding,
                 activation="tanh", num_spatial_dims=d, key=getkey())
    x = jax.random.normal(getkey(), (2,) + (10,) * d)
    centre = (slice(None), slice(None)) + (1,) * d
    w = model.vcycles[0].smoothers[0][0][0].at[centre].add(model.linear_w[0])
    layer = eqx.nn.Conv(d, 2, 5, 3, padding=1, padding_mode=padding.upper(), key=getkey())
    layer = eqx.tree_at(lambda c: (c.weight, c.bias), layer,
                        (w, model.linear_b[0].reshape((5,) + (1,) * d)))
    expect = jnp.einsum("oc,c...->o...", model.head, jnp.tanh(layer(x)))
    np.testing.assert_allclose(eqx.filter_jit(lambda m, x: m(x))(model, x), expect,
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("d", [1, 2])
@pytest.mark.parametrize("padding", ["zeros", "circular"])
def test_restriction_and_prolongation_are_adjoint(d, padding):
    rng = np.random.default_rng(1)
    n = 8
    w3 = jnp.asarray(rng.standard_normal((3, 2) + (3,) * d))
    # the prolongation kernel [w0, w1, w2, 0] (same (3, 2, ...) array: a transposed
    # convolution's weight is (in, out, *k)) is exactly R^T
    w4 = jnp.pad(w3, [(0, 0), (0, 0)] + [(0, 1)] * d)
    u = jnp.asarray(rng.standard_normal((1, 2) + (n,) * d))
    v = jnp.asarray(rng.standard_normal((1, 3) + (n // 2,) * d))
    R = lambda u: conv(u, w3, stride=2, padding=padding)  # noqa: E731
    P = conv_transpose(v, w4, (n,) * d, padding=padding)
    (RTv,) = jax.linear_transpose(R, u)(v)
    np.testing.assert_allclose(P, RTv, atol=1e-12)
    # the same through the network's hand-written cotangents (the custom VJP of conv_cl)
    Rc = lambda u: jnp.moveaxis(conv_cl(jnp.moveaxis(u, 1, -1), w3, stride=2,  # noqa: E731
                                        padding=padding, custom_vjp=True), -1, 1)
    np.testing.assert_allclose(jax.vjp(Rc, u)[1](v)[0], P, atol=1e-12)
    # classical pair: full weighting R = 2^-d P^T for linear interpolation P
    fw = np.array([0.25, 0.5, 0.25])
    li = np.array([0.5, 1.0, 0.5, 0.0])
    outer = lambda a: np.einsum(*sum(([a, [i]] for i in range(d)), []))  # noqa: E731
    wr = jnp.asarray(outer(fw)[None, None])
    wp = jnp.asarray(outer(li)[None, None])
    u1 = u[:, :1]
    v1 = v[:, :1]
    lhs = jnp.vdot(conv(u1, wr, stride=2, padding=padding), v1)
    rhs = jnp.vdot(u1, conv_transpose(v1, wp, (n,) * d, padding=padding))
    np.testing.assert_allclose(lhs, rhs / 2**d, rtol=1e-12)
    # and P interpolates linear functions exactly away from the boundary
    if d == 1 and padding == "zeros":
        coarse = jnp.arange(4.0)[None, None]
        fine = conv_transpose(coarse, wp, (8,), padding=padding)[0, 0]
        np.testing.assert_allclose(fine[:7], np.arange(7) / 2.0)


def test_reference_preset_parameter_count(getkey):
    # MgNO_DC(num_layer=4, num_channel_u=24, num_channel_f=1,
    #         num_iteration=[[1,0]]*5 + [[2,0]]) in xlliu2017/MgNO: 572,661 parameters.
    model = MgNO.darcy_reference(key=getkey())
    assert count_params(model) == 572_661
    # the same from the structure: per V-cycle 5 prolongations (24x24x4x4), 5 u- and f-
    # restrictions, smoothers 9 + 4*18 + 2*18 = 117 stencil pairs x C_u x C_f; 1x1 maps.
    cu = 24
    per = lambda cf: 5 * cu * cu * 16 + 5 * 9 * (cu * cu + cf * cf) + 117 * cu * cf  # noqa
    assert per(1) + 3 * per(cu) + (cu + cu) + 3 * (cu * cu + cu) + cu == 572_661


def test_resolution_change_and_shape_errors(getkey):
    model = MgNO(1, 2, width=4, num_layers=1, levels=3, key=getkey())
    call = eqx.filter_jit(lambda m, x: m(x))
    for n in (16, 32, 17):
        x = jax.random.normal(getkey(), (1, n, n))
        y = call(model, x)
        assert y.shape == (2, n, n) and bool(jnp.all(jnp.isfinite(y)))
    periodic = MgNO(1, 1, width=4, num_layers=1, levels=3, padding="circular", key=getkey())
    periodic(jnp.ones((1, 16, 8)))
    with pytest.raises(ValueError, match="divisible by 4"):
        periodic(jnp.ones((1, 18, 16)))
    with pytest.raises(ValueError, match="jax.vmap"):
        model(jnp.ones((3, 1, 16, 16)))
    with pytest.raises(ValueError, match="coarsest"):
        MgNO(1, 1, levels=4, padding="reflect", num_spatial_dims=1, key=getkey())(
            jnp.ones((1, 8)))


def test_gradients_reach_every_parameter(getkey):
    model = MgNO(2, 1, width=3, num_layers=2, levels=2, pre_smooth=(1, 2), post_smooth=1,
                 residual=True, num_spatial_dims=1, key=getkey())
    x = jax.random.normal(getkey(), (2, 12))
    grads = eqx.filter_jit(eqx.filter_grad(lambda m: jnp.sum(m(x) ** 2)))(model)
    leaves = jax.tree_util.tree_leaves(grads)
    assert len(leaves) == len(jax.tree_util.tree_leaves(eqx.filter(model,
                                                                   eqx.is_inexact_array)))
    assert all(float(jnp.max(jnp.abs(g))) > 0 for g in leaves)


def test_vmap_jit_one_trace(getkey):
    model = MgNO(1, 1, width=4, num_layers=2, levels=2, key=getkey())
    xs = jax.random.normal(getkey(), (3, 1, 16, 16))

    @eqx.filter_jit
    @eqx.debug.assert_max_traces(max_traces=1)
    def run(m, xs):
        return jax.vmap(m)(xs)

    out = run(model, xs)
    run(model, xs + 1.0)
    one = eqx.filter_jit(lambda m, x: m(x))
    np.testing.assert_allclose(out, jnp.stack([one(model, x) for x in xs]), rtol=1e-10,
                               atol=1e-12)


@pytest.mark.parametrize("kwargs, match", [
    (dict(width=0), "width"), (dict(levels=0), "levels"), (dict(padding="neumann"), "padding"),
    (dict(pre_smooth=(1, 1)), "pre_smooth"), (dict(pre_smooth=0), r"pre_smooth\[0\]"),
    (dict(activation="sigmoid"), "activation"), (dict(num_spatial_dims=3), "num_spatial_dims"),
])
def test_bad_arguments_are_named(kwargs, match, getkey):
    with pytest.raises(ValueError, match=match):
        MgNO(1, 1, key=getkey(), **kwargs)


def test_float32_smoke(float32, getkey):
    model = MgNO(1, 1, width=4, num_layers=2, levels=3, key=getkey())
    y = eqx.filter_jit(lambda m, x: m(x))(model, jnp.ones((1, 16, 16), jnp.float32))
    assert y.dtype == jnp.float32 and model.head.dtype == jnp.float32


def test_save_load_roundtrip_is_bit_identical(tmp_path, getkey):
    from pdekit.operators import load_model, save_model

    model = MgNO(2, 1, width=3, num_layers=2, levels=2, pre_smooth=(1, 2), post_smooth=1,
                 padding="reflect", residual=True, num_spatial_dims=1, key=getkey())
    save_model(tmp_path / "m", model)
    back, _ = load_model(tmp_path / "m")
    assert back.config == model.config
    la, lb = jax.tree_util.tree_leaves(model), jax.tree_util.tree_leaves(back)
    assert len(la) == len(lb) and all(np.array_equal(a, b) for a, b in zip(la, lb))
    with pytest.raises(ValueError, match="exists"):
        save_model(tmp_path / "m", model)


@pytest.mark.parametrize("d,stride,pad,n", ((2, 1, 1, 7), (2, 2, 1, 7), (1, 2, 0, 9),
                                            (1, 1, 0, 6)))
def test_custom_conv_vjp_matches_autodiff_under_scan_and_vmap(d, stride, pad, n, getkey):
    # the hand-written cotangents of the internal convolution against JAX's own transpose
    # rules for lax.conv_general_dilated (independent reference), also inside lax.scan and
    # under vmap: shared kernel, per-entry kernels (an ensemble), batched cotangents (jacrev)
    from pdekit.operators._mgno import _DIMS, _conv

    def ref(x, k):
        return jax.lax.conv_general_dilated(x, k, (stride,) * d, [(pad, pad)] * d,
                                            dimension_numbers=_DIMS[d])

    def ours(x, k):
        return _conv(x, k, stride, pad)

    def vjp(f, x, k, g):
        return jax.vjp(f, x, k)[1](g)

    m = -(-(n + 2 * pad - 2) // stride)
    x = jax.random.normal(getkey(), (3, 2) + (n,) * d + (3,), dtype=jnp.float64)
    k = jax.random.normal(getkey(), (3,) + (3,) * d + (3, 4), dtype=jnp.float64)
    g = jax.random.normal(getkey(), (3, 2) + (m,) * d + (4,), dtype=jnp.float64)

    @functools.partial(jax.jit, static_argnums=0)
    def run(f):
        _, scanned = jax.lax.scan(lambda c, xg: (c, vjp(f, xg[0], k[0], xg[1])), 0.0, (x, g))
        shared = jax.vjp(lambda x, k: jax.vmap(f, (0, None))(x, k), x, k[0])[1](g)
        ensemble = jax.vmap(functools.partial(vjp, f))(x, k, g)
        # vmap over cotangents only (1D: the 2D jacobians cost seconds to compile)
        jac = jax.jacrev(f, argnums=1)(x[0], k[0]) if d == 1 else None
        return jax.vmap(f, (0, None))(x, k[0]), scanned, shared, ensemble, jac

    for a, b in zip(jax.tree_util.tree_leaves(run(ours)), jax.tree_util.tree_leaves(run(ref))):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def _apply_batch_and_vmap(model, xs, grad):
    def loss(f):
        return lambda m: jnp.sum(jnp.sin(f(m)(xs)))

    if grad:
        return eqx.filter_jit(lambda m: (eqx.filter_grad(loss(lambda m: m.apply_batch))(m),
                                         eqx.filter_grad(loss(jax.vmap))(m)))(model)
    return eqx.filter_jit(lambda m: (m.apply_batch(xs), jax.vmap(m)(xs)))(model)


def test_apply_batch_matches_vmap(getkey):
    model = MgNO(2, 1, width=3, num_layers=1, levels=2, padding="reflect",
                 num_spatial_dims=1, key=getkey())
    xs = jax.random.normal(getkey(), (3, 2, 10))
    a, b = _apply_batch_and_vmap(model, xs, grad=False)
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="apply_batch expects"):
        model.apply_batch(xs[0])


@pytest.mark.slow
def test_apply_batch_gradients_match_vmap(getkey):
    # the whole network (the pieces' gradients under vmap are checked above, by default)
    model = MgNO(2, 1, width=3, num_layers=2, levels=2, pre_smooth=(1, 2), post_smooth=1,
                 padding="reflect", residual=True, num_spatial_dims=1, key=getkey())
    xs = jax.random.normal(getkey(), (3, 2, 12))
    ga, gb = _apply_batch_and_vmap(model, xs, grad=True)
    for u, v in zip(jax.tree_util.tree_leaves(ga), jax.tree_util.tree_leaves(gb)):
        np.testing.assert_allclose(u, v, rtol=1e-10, atol=1e-12)


def test_gelu_is_the_exact_gelu():
    # MgNO's "gelu" (torch's default, as in the reference code) is the erf GELU, with the
    # erf formula's derivative
    from pdekit.operators._mgno import ACTIVATIONS

    x = jnp.linspace(-6.0, 6.0, 241)

    def ref(x):
        return jax.nn.gelu(x, approximate=False)

    @jax.jit
    def both(x):
        return [(f(x), jax.vmap(jax.grad(f))(x)) for f in (ACTIVATIONS["gelu"], ref)]

    (y, dy), (y_ref, dy_ref) = both(x)
    np.testing.assert_allclose(y, y_ref, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(dy, dy_ref, rtol=1e-13, atol=1e-15)
