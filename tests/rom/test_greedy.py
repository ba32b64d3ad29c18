"""Weak greedy criteria against a dense numpy reference, and compile counts (one compile of
each greedy kernel serves every iteration)."""

from collections import Counter

import jax
import jax.monitoring
import numpy as np
import pytest

from pdekit import rom


@pytest.fixture(scope="module")
def tiny():
    problem = rom.thermal_block(6, (2, 2))  # 25 free DOFs
    train = problem.sample(jax.random.key(3), 40)
    return problem, train


def _dense_estimates(problem, train, V, norm):
    """Residual dual norm over min-theta, from dense matrices (independent of the ROM)."""
    Aq = [np.asarray(problem.operator(np.eye(4)[q] * 1.0).todense()) for q in range(4)]
    X = sum(Aq)
    f = np.asarray(problem.rhs[0])
    out = []
    for mu in np.asarray(train):
        A = sum(m * a for m, a in zip(mu, Aq))
        if V.shape[1]:
            u = V @ np.linalg.solve(V.T @ A @ V, V.T @ f)
        else:
            u = np.zeros_like(f)
        r = f - A @ u
        dual = np.sqrt(r @ np.linalg.solve(X, r))
        alpha = mu.min()
        out.append(dual / (alpha if norm == "product" else np.sqrt(alpha)))
    return np.asarray(out)


@pytest.mark.parametrize("norm", ["product", "energy"])
def test_absolute_criterion_picks_argmax_of_absolute_estimate(tiny, norm):
    problem, train = tiny
    res = rom.weak_greedy(problem, train, max_basis_size=4, criterion="absolute", norm=norm)
    V = np.asarray(res.basis)
    picks = [int(np.argmin(np.abs(np.asarray(train) - s).sum(1))) for s in res.selected]
    for k, pick in enumerate(picks):
        est = _dense_estimates(problem, train, V[:, :k], norm)
        assert pick == int(np.argmax(est)), (k, pick, int(np.argmax(est)))
        np.testing.assert_allclose(res.max_estimates[k], est.max(), rtol=1e-8)


def test_relative_and_absolute_criteria_differ(tiny):
    """The default (relative) picks by estimate / ||u_N||: not the absolute argmax here."""
    problem, train = tiny
    rel = rom.weak_greedy(problem, train, max_basis_size=4)
    ab = rom.weak_greedy(problem, train, max_basis_size=4, criterion="absolute")
    assert not np.array_equal(rel.selected, ab.selected)
    with pytest.raises(ValueError, match="criterion"):
        rom.weak_greedy(problem, train, max_basis_size=2, criterion="max")
    with pytest.raises(ValueError, match="norm"):
        rom.weak_greedy(problem, train, max_basis_size=2, norm="h1")


def test_one_compile_per_kernel_for_all_iterations(tiny):
    compiles = Counter()

    def listen(name, duration, **kw):
        if name.endswith("backend_compile_duration"):
            compiles[str(kw.get("fun_name", ""))] += 1

    jax.monitoring.register_event_duration_secs_listener(listen)
    try:
        problem, train = tiny  # max_basis_size 6: shapes no other test uses, fresh caches
        res = rom.weak_greedy(problem, train, max_basis_size=6)
        assert res.rom.basis_size == 6
        kernels = {k: v for k, v in compiles.items()
                   if any(n in k for n in ("_criterion", "_extend_basis"))}
        assert sorted(kernels.values()) == [1, 1], kernels  # 7 evaluations, 6 extensions
        compiles.clear()
        rom.weak_greedy(problem, problem.sample(jax.random.key(1), 40), max_basis_size=6)
        assert sum(compiles.values()) == 0, dict(compiles)  # new values: nothing compiles
    finally:
        jax.monitoring.unregister_event_duration_listener(listen)
