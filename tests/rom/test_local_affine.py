"""Local certified Galerkin ROMs on the thermal block, and local non-intrusive ROMs on the
moving source: POD optimality per cluster (a local basis is never worse than the global one
of equal size on its own cluster), padded local ROMs = unpadded ones = a direct reduced
solve, certified routing by the smallest bound, save/load."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pdekit import rom

pytest.importorskip("pdekit.rom._pod")


@pytest.fixture(scope="module")
def block():
    p = rom.thermal_block(6, "2x2", mu_range=(0.05, 1.0))
    mus = p.sample(jax.random.key(0), 32)
    X = jax.vmap(p.solve)(mus)
    d = rom.Sine(p.product())
    cl = rom.kmedoids(rom.pairwise(d, X), 2, seed=0)
    lb = rom.local_bases(X, cl, rank=3, dissimilarity=d)
    return p, mus, X, cl, lb, rom.local_affine_rom(p, lb)


def test_local_basis_never_worse_than_global_on_its_cluster(block):
    p, _, X, cl, lb, _ = block
    g = rom.global_basis(X, rank=3, inner=p.product())
    Xn = np.asarray(X)
    W = p.product().to_scipy()
    for k in range(2):  # POD optimality, checked with scipy: sum of squared X-norm errors
        m = Xn[cl.labels == k]

        def sq_err(V, m=m):
            V = np.asarray(V)
            r = m - (m @ (W @ V)) @ V.T
            return float(np.sum(r * (W @ r.T).T))

        assert sq_err(lb.bases[k][:, :lb.ranks[k]]) <= sq_err(g.bases[0]) * (1 + 1e-9) + 1e-14


def test_padded_local_roms_match_direct_solves(block):
    p, mus, X, _, lb, R = block
    A = [p.operator(mus[i]).to_scipy() for i in range(2)]
    f = np.asarray(p.load(mus[0]))
    for k, r in enumerate(lb.ranks):
        V = np.asarray(lb.bases[k][:, :r])
        c_ref = np.linalg.solve(V.T @ (A[0] @ V), V.T @ f)  # independent reduced solve
        u, est = R.solve_in(mus[0], k)
        np.testing.assert_allclose(np.asarray(u)[:r], c_ref, rtol=1e-9, atol=1e-12)
        assert np.all(np.asarray(u)[r:] == 0)
        _, est_ref = rom.galerkin_rom(p, jnp.asarray(V)).solve_and_estimate(mus[0])
        np.testing.assert_allclose(float(est), float(est_ref), rtol=1e-8)


def test_routing_by_smallest_bound_is_certified(block):
    p, _, _, _, lb, R = block
    test = p.sample(jax.random.key(1), 4)
    for mu in test:
        u, k, est, src = R.solve(mu)
        assert int(src) == 1
        ests = np.asarray(R.estimates(mu))
        truth = p.solve(mu)
        errs = [float(p.energy_norm(truth - R.lift(R.solve_in(mu, j)[0], j), mu))
                for j in range(2)]
        assert int(k) == int(np.argmin(ests))
        assert np.all(ests >= np.asarray(errs) * (1 - 1e-9))        # every bound holds
        assert errs[int(k)] <= ests.min() * (1 + 1e-9)               # chosen error <= min bound


def test_local_affine_save_load(block, tmp_path):
    R = block[-1]
    clf = rom.RomNetClassifier(4, 2, key=jax.random.key(3))
    R = rom.LocalAffineROM(**{f: getattr(R, f) for f in (
        "operators", "rhs", "residual", "pad", "bases", "theta_a", "theta_f", "theta_ref",
        "ranks", "mu_min", "mu_max")}, classifier=clf)
    path = rom.save_local_rom(tmp_path / "la.h5", R, meta={"problem": "thermal-block"})
    R2 = rom.load_local_rom(path)
    assert isinstance(R2, rom.LocalAffineROM) and R2.ranks == R.ranks
    for x, y in zip(jax.tree_util.tree_leaves(R), jax.tree_util.tree_leaves(R2)):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    with pytest.raises(ValueError, match="LocalBases"):
        rom.local_affine_rom(block[0], block[3])


def test_local_nonintrusive_travelling_bump():
    # u(x; mu) = a bump centred at mu: a strongly nonlinear manifold in one parameter
    x = jnp.linspace(0, 1, 60)
    mtr, mte = jnp.linspace(0.1, 0.9, 16)[:, None], jnp.linspace(0.13, 0.87, 9)[:, None]

    def field(m):
        return jnp.exp(-((x[None, :] - m) ** 2) / 0.01)

    X, Y = field(mtr), field(mte)
    cl = rom.kmedoids(rom.pairwise(rom.Sine(), X), 2, seed=0)
    loc = rom.LocalNonIntrusiveROM.fit(X, mtr, cl, rank=4, dissimilarity=rom.Sine())
    np.testing.assert_array_equal(np.asarray(loc.medoids), np.asarray(X[cl.medoids]))
    assert loc.dissimilarity == "Sine"
    glo = rom.NonIntrusiveROM.fit(X.T, mtr, rank=4)
    lb = rom.local_bases(X, cl, rank=4)
    i = 3
    k = int(loc.route(mtr[i]))
    assert k == int(cl.labels[i])  # 1-NN routing at a training parameter: its own cluster
    ref = lb.bases[k] @ (lb.bases[k].T @ X[i])  # reproduces the local projection
    np.testing.assert_allclose(np.asarray(loc(mtr[i])), np.asarray(ref), atol=1e-8)
    U, G = jax.vmap(loc)(mte), jax.vmap(glo)(mte)
    err_loc = float(jnp.mean(jnp.linalg.norm(U - Y, axis=1) / jnp.linalg.norm(Y, axis=1)))
    err_glo = float(jnp.mean(jnp.linalg.norm(G - Y, axis=1) / jnp.linalg.norm(Y, axis=1)))
    assert err_loc < err_glo, (err_loc, err_glo)


@pytest.mark.slow  # ~10 s: three POD-RBF fits on FEM snapshots
def test_local_nonintrusive_moving_source():
    p = rom.MovingSource(8, intensity=(1.0, 1.0))
    mtr, mte = p.sample(jax.random.key(0), 60), p.sample(jax.random.key(1), 20)
    X, Y = p.solve(mtr), p.solve(mte)
    mtr, mte = mtr[:, :2], mte[:, :2]  # the intensity is fixed: the centre is the parameter
    d = rom.Sine(p.mass)
    cl = rom.kmedoids(rom.pairwise(d, X), 2, seed=0)
    loc = rom.LocalNonIntrusiveROM.fit(X, mtr, cl, rank=5, product=p.mass,
                                         mu_min=p.box[:1] * 2, mu_max=p.box[1:] * 2)
    glo = rom.NonIntrusiveROM.fit(X.T, mtr, rank=5, product=p.mass, mu_min=p.box[:1] * 2,
                                  mu_max=p.box[1:] * 2)
    lb = rom.local_bases(X, cl, rank=5, dissimilarity=d)
    # at training parameters: routed to their own cluster, error = local projection error
    for i in range(2):
        k = int(loc.route(mtr[i]))
        assert k == int(cl.labels[i])
        u = loc(mtr[i])
        ref = lb.bases[k] @ (lb.bases[k].T @ p.mass.matvec(X[i]))  # W-orthogonal projection
        np.testing.assert_allclose(np.asarray(u), np.asarray(ref), rtol=1e-6,
                                   atol=1e-8 * float(jnp.max(jnp.abs(X[i]))))

    def err(model):
        U = jax.vmap(model)(mte)
        return float(jnp.mean(jnp.linalg.norm(U - Y, axis=1) / jnp.linalg.norm(Y, axis=1)))

    assert err(loc) < err(glo), (err(loc), err(glo))
    with pytest.raises(ValueError, match="P \\+ 1"):
        rom.LocalNonIntrusiveROM.fit(X[:10], mtr[:10], np.arange(10) % 5)


def test_float32_routers(float32):
    x = jax.random.normal(jax.random.key(0), (20, 30))
    assert x.dtype == jnp.float32
    for d in (rom.Sine(), rom.Euclidean()):
        lb = rom.LocalBases(bases=jnp.zeros((3, 30, 1)), medoids=x[:3],
                            singular_values=jnp.ones((3, 1)), total_energy=jnp.ones(3),
                            dissimilarity=d, ranks=(1, 1, 1))
        np.testing.assert_array_equal(np.asarray(rom.medoid_router(lb)(x)),
                                      np.asarray(lb.route_nearest(x)))
    clf = rom.RomNetClassifier(30, 3, key=jax.random.key(1), dtype=jnp.float32)
    np.testing.assert_array_equal(np.asarray(rom.classifier_router(clf)(x)),
                                  np.asarray(clf.predict(x)))


@pytest.mark.slow  # ~20 s of float32 compiles of the thermal block and ROM I's offline stage
def test_float32_local_affine(float32):
    p = rom.thermal_block(4, "2x1", mu_range=(0.1, 1.0))
    mus = p.sample(jax.random.key(0), 12)
    X = jax.vmap(p.solve)(mus)
    assert X.dtype == jnp.float32
    d = rom.Sine(p.product())
    lb = rom.local_bases(X, rom.kmedoids(rom.pairwise(d, X), 2, seed=0), rank=2,
                         dissimilarity=d)
    R = rom.local_affine_rom(p, lb)
    u, k, est, _ = R.online()(mus[0])
    assert u.dtype == jnp.float32 and np.isfinite(float(est)) and 0 <= int(k) < 2
    assert int(rom.medoid_router(lb)(X[0])) == int(lb.route_nearest(X[:1])[0])
    clf = rom.RomNetClassifier(2, 2, key=jax.random.key(1), dtype=jnp.float32)
    assert rom.classifier_router(clf)(R.features(mus)).shape == (12,)


@pytest.mark.slow  # ~15 s of CPU: heat trajectories, two ROM I offline stages, compiles
def test_local_heat_roms_match_rom_one_and_are_certified(tmp_path):
    # heat equation (implicit Euler): parameters clustered by their final state, one POD
    # basis per cluster from the clusters' whole trajectories
    p = rom.thermal_block(6, (2, 1), mu_range=(0.05, 1.0), dt=0.02, num_steps=5)
    mus = p.sample(jax.random.key(0), 16)
    U = jax.vmap(p.solve)(mus)                                   # (16, T, n)
    d = rom.Sine(p.product())
    cl = rom.kmedoids(rom.pairwise(d, U[:, -1]), 2, seed=0)
    T = p.num_steps
    lb = rom.local_bases(U.reshape(16 * T, -1), np.repeat(cl.labels, T), rank=3,
                         dissimilarity=d)
    R = rom.local_affine_rom(p, lb)
    mu = p.sample(jax.random.key(1), 1)[0]
    truth, A, M = p.solve(mu), p.operator(mu), p.mass()
    errs, ests = [], np.asarray(R.estimates(mu))
    for k, r in enumerate(lb.ranks):  # each padded local ROM = ROM I's ROM of its basis
        uN, est = R.solve_in(mu, k)
        ref_u, ref_est = rom.galerkin_rom(p, lb.bases[k][:, :r]).solve_and_estimate(mu)
        np.testing.assert_allclose(np.asarray(uN)[:, :r], np.asarray(ref_u), rtol=1e-8,
                                   atol=1e-12)
        np.testing.assert_allclose(float(est), float(ref_est), rtol=1e-8)
        E = truth - R.lift(uN, k)  # (T, n); ROM I's space-time energy norm of the error
        err = jnp.sqrt(E[-1] @ M.matvec(E[-1])
                       + p.dt * jnp.sum(jax.vmap(lambda e: e @ A.matvec(e))(E)))
        errs.append(float(err))
    assert np.all(ests >= np.asarray(errs) * (1 - 1e-9))                 # every bound holds
    _, k, est, src = R.solve(mu)
    assert int(src) == 1 and int(k) == int(np.argmin(ests)) and errs[int(k)] <= float(est)
    R2 = rom.load_local_rom(rom.save_local_rom(tmp_path / "heat.h5", R))
    assert R2.dt == R.dt and R2.num_steps == T
    np.testing.assert_array_equal(np.asarray(R2.mass), np.asarray(R.mass))
