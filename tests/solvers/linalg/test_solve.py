"""Sparse solves: agreement with scipy, adjoint gradients, vmap, tracing, validation, throw."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.sparse as sps
import scipy.sparse.linalg as spla

from pdekit.solvers import linalg

from .problems import poisson_2d, random_rhs

N = 24  # 576 unknowns


@pytest.fixture(scope="module")
def system():
    mat = poisson_2d(N, contrast=100.0)
    b = random_rhs(mat.shape[0])
    return mat, linalg.CSRMatrix.from_scipy(mat), jnp.asarray(b), spla.spsolve(mat.tocsc(), b)


@pytest.fixture(scope="module")
def amg(system):
    # reference matrix with the same pattern but other values: the hierarchy must adapt
    return linalg.AMG.build(poisson_2d(N, contrast=1.0), max_coarse=50)


def make_method(name, amg=None, rtol=1e-12):
    if name == "direct":
        return linalg.Direct()
    precond = {"cg": None, "cg-jacobi": linalg.Jacobi(), "cg-amg": amg}[name]
    return linalg.CG(rtol=rtol, max_steps=5000, preconditioner=precond)


ALL = ["cg", "cg-jacobi", "cg-amg", "direct"]


@pytest.mark.parametrize("name", ALL)
def test_agrees_with_spsolve(system, amg, name):
    mat, A, b, x_ref = system
    x, stats = linalg.solve_with_stats(A, b, make_method(name, amg))
    assert bool(stats["converged"])
    np.testing.assert_allclose(np.asarray(x), x_ref, rtol=0, atol=1e-9 * np.abs(x_ref).max())
    res = np.linalg.norm(np.asarray(b) - mat @ np.asarray(x))
    assert res <= 1e-11 * np.linalg.norm(np.asarray(b))
    np.testing.assert_allclose(float(stats["residual_norm"]), res, rtol=1e-3, atol=1e-13)


def _fd_check(solve_fn, data, b, v_data, v_b, *, eps=1e-6, rtol=1e-6):
    """Directional derivative of J(data, b) = sum(w * x) by the adjoint vs central differences."""
    w = jnp.asarray(np.random.default_rng(5).standard_normal(b.shape[0]))
    J = lambda d, r: jnp.vdot(w, solve_fn(d, r))  # noqa: E731
    g_data, g_b = jax.grad(J, argnums=(0, 1))(data, b)
    ad = float(jnp.vdot(g_data, v_data) + jnp.vdot(g_b, v_b))
    fd = float(J(data + eps * v_data, b + eps * v_b) - J(data - eps * v_data, b - eps * v_b))
    fd /= 2 * eps
    assert abs(ad - fd) <= rtol * abs(fd), (ad, fd)


def _symmetric_direction(mat, seed):
    """A random perturbation of the values that keeps the matrix symmetric."""
    rng = np.random.default_rng(seed)
    upper = sps.triu(mat, format="coo")
    pert = sps.coo_matrix((rng.standard_normal(upper.nnz), (upper.row, upper.col)), mat.shape)
    pert = sps.csr_matrix(pert + sps.triu(pert, 1).T)
    pert = pert + 0 * mat  # same pattern as mat
    pert.sort_indices()
    return jnp.asarray(pert.data) * mat.diagonal().mean() * 0.1


@pytest.mark.parametrize("name", ["cg-jacobi", "cg-amg", "direct"])
def test_gradient_matches_finite_differences(system, amg, name):
    mat, A, b, _ = system
    method = make_method(name, amg, rtol=1e-13)
    solve_fn = lambda d, r: linalg.solve(linalg.CSRMatrix(A.pattern, d), r, method)  # noqa: E731
    v_b = jnp.asarray(random_rhs(b.shape[0], seed=7))
    _fd_check(solve_fn, A.data, b, _symmetric_direction(mat, 3), v_b)


def test_direct_gradient_nonsymmetric():
    # convection-diffusion: A != A^T, so the adjoint needs the transposed solve
    n = 12
    lap = poisson_2d(n)
    conv = sps.kron(sps.identity(n), sps.diags([-1.0, 1.0], [-1, 1], shape=(n, n)))
    mat = sps.csr_matrix(lap + 0.8 * conv)
    A = linalg.CSRMatrix.from_scipy(mat)
    rng = np.random.default_rng(2)
    b = jnp.asarray(rng.standard_normal(n * n))
    solve_fn = lambda d, r: linalg.solve(  # noqa: E731
        linalg.CSRMatrix(A.pattern, d), r, linalg.Direct()
    )
    x = solve_fn(A.data, b)
    np.testing.assert_allclose(np.asarray(x), spla.spsolve(mat.tocsc(), np.asarray(b)), rtol=1e-12)
    v_data = jnp.asarray(rng.standard_normal(A.pattern.nnz))
    _fd_check(solve_fn, A.data, b, v_data, jnp.asarray(rng.standard_normal(n * n)))


@pytest.mark.parametrize("name", ["cg-amg", "direct"])
def test_vmap_equals_loop(system, amg, name):
    _, A, b, _ = system
    method = make_method(name, amg, rtol=1e-11)
    rng = np.random.default_rng(0)
    # positive diagonal scalings D A D keep SPD and the pattern
    scales = np.exp(rng.uniform(-1, 1, size=(8, b.shape[0])))
    rows, cols = np.asarray(A.pattern.rows), np.asarray(A.pattern.cols)
    datas = jnp.asarray(np.asarray(A.data)[None] * scales[:, rows] * scales[:, cols])
    bs = jnp.asarray(rng.standard_normal((8, b.shape[0])))
    one = lambda d, r: linalg.solve(linalg.CSRMatrix(A.pattern, d), r, method)  # noqa: E731
    batched = jax.vmap(one)(datas, bs)
    looped = jnp.stack([one(d, r) for d, r in zip(datas, bs)])
    np.testing.assert_allclose(np.asarray(batched), np.asarray(looped), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("name", ["cg-amg", "direct"])
def test_one_trace_while_values_change(system, amg, name):
    _, A, b, _ = system
    method = make_method(name, amg, rtol=1e-10)

    @eqx.filter_jit
    @eqx.debug.assert_max_traces(max_traces=1)
    def run(data, rhs, method):
        return linalg.solve(linalg.CSRMatrix(A.pattern, data), rhs, method)

    for k in range(3):
        x = run(A.data * (1.0 + k), b * (2.0 - k), method)
        np.testing.assert_allclose(
            np.asarray(A.matvec(x)) * (1.0 + k), np.asarray(b) * (2.0 - k), atol=1e-7
        )


def test_bad_input_raises(system, amg):
    _, A, b, _ = system
    method = linalg.CG(rtol=1e-8, preconditioner=linalg.Jacobi())
    with pytest.raises(ValueError, match="`b` must have shape"):
        linalg.solve(A, b[:-1], method)
    with pytest.raises(ValueError, match="non-finite"):
        linalg.solve(A, b.at[3].set(jnp.nan), method)
    other = linalg.CSRMatrix.from_scipy(poisson_2d(N + 1))
    with pytest.raises(ValueError, match="AMG was built for"):
        linalg.solve(other, jnp.ones(other.shape[0]), linalg.CG(preconditioner=amg))
    # same shape and nnz, different pattern: move the (0, 1)/(1, 0) pair to (0, N+1)/(N+1, 0)
    coo = poisson_2d(N).tocoo()
    rows, cols = coo.row.copy(), coo.col.copy()
    for r, c in ((0, 1), (1, 0)):
        k = np.nonzero((rows == r) & (cols == c))[0][0]
        rows[k], cols[k] = (0, N + 1) if r == 0 else (N + 1, 0)
    moved = linalg.CSRMatrix.from_scipy(sps.csr_matrix((coo.data, (rows, cols)), coo.shape))
    assert moved.pattern.nnz == A.pattern.nnz
    with pytest.raises(ValueError, match="different sparsity pattern"):
        linalg.solve(moved, b, linalg.CG(preconditioner=amg))
    with pytest.raises(ValueError, match="rtol"):
        linalg.CG(rtol=-1.0)
    with pytest.raises(ValueError, match="max_steps"):
        linalg.CG(max_steps=0)
    with pytest.raises(ValueError, match="preconditioner"):
        linalg.CG(preconditioner="amg")


def test_throw(system):
    _, A, b, _ = system
    method = linalg.CG(rtol=1e-12, max_steps=3)
    x, stats = linalg.solve_with_stats(A, b, method, throw=False)
    assert not bool(stats["converged"]) and int(stats["num_steps"]) == 3
    assert bool(jnp.all(jnp.isfinite(x)))
    with pytest.raises(Exception, match="CG did not reach"):
        jax.block_until_ready(linalg.solve(A, b, method))
    # b = 0: converged at step 0 with x = 0
    x, stats = linalg.solve_with_stats(A, jnp.zeros_like(b), method)
    assert bool(stats["converged"]) and int(stats["num_steps"]) == 0 and not bool(jnp.any(x))


def test_float32_smoke(float32):
    mat = poisson_2d(N, contrast=100.0)
    A = linalg.CSRMatrix.from_scipy(mat, dtype=jnp.float32)
    amg = linalg.AMG.build(A, max_coarse=50)
    b = jnp.asarray(random_rhs(N * N), jnp.float32)
    with pytest.raises(ValueError, match="enable_x64"):
        linalg.CG(rtol=1e-10)
    for method in (
        linalg.CG(rtol=1e-5, preconditioner=linalg.Jacobi()),
        linalg.CG(rtol=1e-5, preconditioner=amg),
        linalg.Direct(),
    ):
        x, stats = linalg.solve_with_stats(A, b, method)
        assert x.dtype == jnp.float32 and bool(stats["converged"])
        res = np.linalg.norm(np.asarray(b, np.float64) - mat @ np.asarray(x, np.float64))
        assert res <= 2e-5 * np.linalg.norm(np.asarray(b))


def test_direct_vmap_over_rhs_only(system):
    mat, A, b, _ = system
    bs = jnp.asarray(np.random.default_rng(3).standard_normal((4, b.shape[0])))
    xs = jax.vmap(lambda r: linalg.solve(A, r, linalg.Direct()))(bs)
    ref = spla.spsolve(mat.tocsc(), np.asarray(bs).T).T
    np.testing.assert_allclose(np.asarray(xs), ref, rtol=1e-10, atol=1e-12)
