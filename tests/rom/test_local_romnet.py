"""ROM-net: the classifier routes held-out parameters to their best local basis (>= 95 %),
local Galerkin ROMs with residual/global fallback, and the one-file save/load."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pdekit import rom

# local bases are built on the POD of ROM I (issue #12)
pytest.importorskip("pdekit.rom._pod")


@pytest.fixture(scope="module")
def pipeline():
    p = rom.MovingSource(8)
    mtr, mte = p.sample(jax.random.key(0), 300), p.sample(jax.random.key(1), 200)
    X, Y = p.solve(mtr), p.solve(mte)
    d = rom.Sine(p.mass)
    lb = rom.local_bases(X, rom.kmedoids(rom.pairwise(d, X), 4), rank=5, dissimilarity=d)
    clf, hist = rom.train_classifier(p.features(mtr), np.asarray(lb.best(X)), 4,
                                     key=jax.random.key(2), epochs=120)
    g = rom.global_basis(X, rank=5, inner=p.mass)
    R = rom.local_galerkin_rom(p.A, lb, classifier=clf, global_basis=g.bases[0])
    return p, mte, Y, lb, clf, hist, R


def test_classifier_routes_heldout_to_best_basis(pipeline):
    p, mte, Y, lb, clf, hist, _ = pipeline
    best = np.asarray(lb.best(Y))
    acc = float(np.mean(np.asarray(clf.predict(p.features(mte))) == best))
    assert acc >= 0.95, acc
    assert hist["train_accuracy"] >= 0.95 and hist["train_loss"][-1] < hist["train_loss"][0]


def test_galerkin_rom_and_fallback(pipeline):
    p, mte, Y, lb, clf, _, R = pipeline
    b = p.loads(mte[:6])
    f = p.features(mte[:6])
    for i in range(6):
        u, k, src = R.solve(b[i], f[i])
        assert int(src) == 0 and int(k) == int(clf.predict(f[i:i + 1])[0])
        # Galerkin = the A-orthogonal projection of the true solution onto the local basis
        V = lb.bases[int(k)]
        AV = jax.vmap(R.A.matvec, in_axes=1, out_axes=1)(V)
        c = jnp.linalg.solve(V.T @ AV, AV.T @ Y[i])
        np.testing.assert_allclose(np.asarray(u), np.asarray(V @ c), rtol=1e-7, atol=1e-10)
        assert float(jnp.linalg.norm(u - Y[i]) / jnp.linalg.norm(Y[i])) < 0.3
        # never confident: the cluster with the smallest residual
        u1, k1, s1 = R.solve(b[i], f[i], threshold=1.01)
        assert int(s1) == 1 and int(k1) == int(jnp.argmin(R.residuals(b[i])))
        # residual tolerance that no local ROM meets: the global basis
        u2, k2, s2 = R.solve(b[i], f[i], threshold=1.01, residual_tol=0.0)
        assert int(s2) == 2 and int(k2) == -1


def test_save_load_bit_identical(pipeline, tmp_path):
    _, _, _, _, _, _, R = pipeline
    path = rom.save_local_rom(tmp_path / "rom.h5", R, meta={"problem": "moving-source"})
    R2 = rom.load_local_rom(path)
    la, lb = jax.tree_util.tree_leaves(R), jax.tree_util.tree_leaves(R2)
    assert len(la) == len(lb)
    for x, y in zip(la, lb):
        assert np.asarray(x).dtype == np.asarray(y).dtype
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    assert R2.local.ranks == R.local.ranks and type(R2.local.dissimilarity) is rom.Sine
    with pytest.raises(FileExistsError):
        rom.save_local_rom(path, R)
    (tmp_path / "bad.h5").write_bytes(b"not hdf5")
    with pytest.raises(OSError):
        rom.load_local_rom(tmp_path / "bad.h5")


def test_bad_input(pipeline):
    p, _, _, lb, clf, _, _ = pipeline
    with pytest.raises(ValueError, match="labels"):
        rom.train_classifier(jnp.ones((4, 2)), np.array([0, 1, 5, 0]), 2, key=jax.random.key(0))
    with pytest.raises(ValueError, match="features"):
        rom.train_classifier(jnp.ones(4), np.array([0, 1, 1, 0]), 2, key=jax.random.key(0))
    with pytest.raises(ValueError, match="classifier"):
        small = rom.RomNetClassifier(3, 2, key=jax.random.key(0))
        rom.local_galerkin_rom(p.A, lb, classifier=small)
    with pytest.raises(ValueError, match="features of shape"):
        clf(jnp.ones(5))


def test_compiled_routers_match_methods(pipeline):
    p, mte, Y, lb, clf, _, R = pipeline
    f = p.features(mte)
    route = rom.classifier_router(clf)
    np.testing.assert_array_equal(np.asarray(route(f)), np.asarray(clf.predict(f)))
    assert int(route(f[3])) == int(clf.predict(f[3:4])[0])
    for d in (rom.Sine(p.mass), rom.Euclidean(p.mass)):  # (OneMinusCos: Sine's code path)
        lbd = rom.LocalBases(bases=lb.bases, medoids=lb.medoids,
                             singular_values=lb.singular_values,
                             total_energy=lb.total_energy, dissimilarity=d, ranks=lb.ranks)
        med = rom.medoid_router(lbd)
        # independent reference: the dissimilarities in numpy/scipy, by their definitions
        M = p.mass.to_scipy()
        u, m = np.asarray(Y[:40]), np.asarray(lb.medoids)
        g, nu, nm = u @ (M @ m.T), np.sqrt(np.sum(u * (M @ u.T).T, 1)), np.sqrt(
            np.sum(m * (M @ m.T).T, 1))
        c = g / np.outer(nu, nm)
        ref = np.argmin({"Sine": np.sqrt(1 - np.minimum(c**2, 1)), "OneMinusCos": 1 - abs(c),
                         "Euclidean": nu[:, None]**2 + nm[None]**2 - 2 * g}[type(d).__name__],
                        axis=1)
        np.testing.assert_array_equal(np.asarray(med(Y[:40])), ref)
        if isinstance(d, rom.Sine):
            assert int(med(Y[5])) == ref[5]
    online = R.online()
    b = p.loads(mte[:1])
    for x, y in zip(online(b[0], f[0]), R.solve(b[0], f[0])):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match="classifier"):
        rom.classifier_router(lb)
    with pytest.raises(ValueError, match="LocalBases"):
        rom.medoid_router(clf)


def test_routers_all_backends_and_dtypes_agree(pipeline):
    p, mte, Y, lb, clf, _, _ = pipeline
    f = p.features(mte)
    ref = np.asarray(clf.predict(f))
    ref_m = np.asarray(lb.route_nearest(Y))
    # (jax, float64) is test_compiled_routers_match_methods
    for backend, dt in (("jax", jnp.float32), ("numpy", None), ("numpy", jnp.float32)):
        rc = rom.classifier_router(clf, dtype=dt, backend=backend)
        rm = rom.medoid_router(lb, dtype=dt, backend=backend)
        arg = (lambda a: np.asarray(a)) if backend == "numpy" else (lambda a: a)
        agree = np.mean(np.asarray(rc(arg(f))) == ref)
        assert agree == 1.0 if dt is None else agree >= 0.99, (backend, dt, agree)
        assert int(rc(arg(f[3]))) == ref[3] or dt is not None
        assert np.mean(np.asarray(rm(arg(Y))) == ref_m) >= (1.0 if dt is None else 0.99)
        assert int(rm(arg(Y[5]))) == ref_m[5] or dt is not None
    with pytest.raises(ValueError, match="backend"):
        rom.classifier_router(clf, backend="torch")
    with pytest.raises(ValueError, match="dtype"):
        rom.medoid_router(lb, dtype=np.int32)
