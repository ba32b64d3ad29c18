"""Local POD bases: exactness on clustered low-rank data, overlap, projection errors against
numpy, and the issue's ordering on the moving-source problem (angle-based local bases beat
Euclidean local bases, which beat one global basis, on held-out parameters)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pdekit import rom

# local bases are built on the POD of ROM I (issue #12)
pytest.importorskip("pdekit.rom._pod")


def _clustered_lowrank(rng, K=3, r=2, dofs=40, per=15):
    bases = [np.linalg.qr(rng.standard_normal((dofs, r)))[0] for _ in range(K)]
    x = np.concatenate([rng.standard_normal((per, r)) @ B.T for B in bases])
    return x, np.repeat(np.arange(K), per), bases


def test_local_pod_exact_on_clustered_lowrank_data():
    rng = np.random.default_rng(0)
    x, labels, bases = _clustered_lowrank(rng)
    lb = rom.local_bases(jnp.asarray(x), labels, rank=2)
    assert lb.ranks == (2, 2, 2) and lb.num_clusters == 3
    E = np.asarray(lb.errors(jnp.asarray(x)))
    np.testing.assert_allclose(E[np.arange(x.shape[0]), labels], 0, atol=1e-7)
    assert np.all(np.asarray(lb.best(jnp.asarray(x))) == labels)
    # each local basis spans its cluster's subspace: principal angles 0
    for k, B in enumerate(bases):
        theta = np.asarray(rom.principal_angles(lb.bases[k], jnp.asarray(B)))
        assert theta.max() < 1e-7
    # one global basis of the same size cannot
    g = rom.global_basis(jnp.asarray(x), rank=2)
    assert float(jnp.mean(g.errors(jnp.asarray(x)))) > 0.3
    # representative = medoid under the dissimilarity, a member of its cluster
    assert np.all(np.asarray(lb.best(lb.medoids)) == np.arange(3))


def test_projection_errors_against_numpy_and_weighted():
    rng = np.random.default_rng(1)
    V = np.linalg.qr(rng.standard_normal((30, 4)))[0]
    x = rng.standard_normal((7, 30))
    ref = np.linalg.norm(x - (x @ V) @ V.T, axis=1) / np.linalg.norm(x, axis=1)
    np.testing.assert_allclose(np.asarray(rom.projection_errors(jnp.asarray(V), jnp.asarray(x))),
                               ref, rtol=1e-12)
    nested = np.asarray(rom.nested_projection_errors(jnp.asarray(V), jnp.asarray(x),
                                                     rom.InnerProduct()))
    np.testing.assert_allclose(nested[:, 4], ref, rtol=1e-6)
    np.testing.assert_allclose(nested[:, 0], 1.0)
    # W-orthonormal basis in a diagonal inner product = Euclidean after scaling by sqrt(w)
    w = rng.random(30) + 0.5
    Vw = V / np.sqrt(w)[:, None]
    got = np.asarray(rom.projection_errors(jnp.asarray(Vw), jnp.asarray(x), jnp.asarray(w)))
    xs = x * np.sqrt(w)
    np.testing.assert_allclose(got, np.linalg.norm(xs - (xs @ V) @ V.T, axis=1)
                               / np.linalg.norm(xs, axis=1), rtol=1e-10)


def test_overlap_tol_and_truncate():
    rng = np.random.default_rng(2)
    x, labels, _ = _clustered_lowrank(rng, r=3, per=12)
    x = x + 1e-3 * rng.standard_normal(x.shape)
    xj = jnp.asarray(x)
    base = rom.local_bases(xj, labels, tol=1e-2)
    assert base.ranks == (3, 3, 3)  # the noise is below the 1 % energy tolerance
    over = rom.local_bases(xj, labels, tol=1e-2, overlap=0.5)
    # 6 extra (foreign) snapshots per cluster: more directions to capture
    assert all(ro > rb for ro, rb in zip(over.ranks, base.ranks))
    t = over.truncate(2)
    assert t.ranks == (2, 2, 2) and t.bases.shape[2] == 2
    np.testing.assert_array_equal(np.asarray(t.bases), np.asarray(over.bases[:, :, :2]))


@pytest.fixture(scope="module")
def moving_source():
    """Snapshots, both clusterings and full-rank local/global bases, built once (the tests
    truncate them: `truncate` costs no new POD)."""
    p = rom.MovingSource(10)
    X = p.solve(p.sample(jax.random.key(0), 160))
    Y = p.solve(p.sample(jax.random.key(1), 100))
    out = {"problem": p, "X": X, "Y": Y,
           "global": rom.global_basis(X, rank=20, inner=p.mass)}
    for name, d in [("sine", rom.Sine(p.mass)), ("euclidean", rom.Euclidean(p.mass))]:
        D = rom.pairwise(d, X)
        cl = rom.kmedoids(D, 4, seed=0)
        out[name] = (d, D, cl, rom.local_bases(X, cl, rank=20, dissimilarity=d))
    return out


def test_moving_source_angle_beats_euclidean_beats_global(moving_source):
    ms, n = moving_source, 4
    X, Y = ms["X"], ms["Y"]
    out = {}
    for name in ["sine", "euclidean"]:
        lb = ms[name][3].truncate(n)
        # held-out snapshots on the best of the K bases (what a perfect router achieves)
        # and on the nearest medoid in the clustering's own dissimilarity
        out[name] = (float(jnp.mean(jnp.min(lb.errors(Y), axis=1))),
                     float(jnp.mean(lb.errors_assigned(Y, lb.route_nearest(Y)))))
    g = float(jnp.mean(ms["global"].truncate(n).errors(Y)))
    assert out["sine"][0] < out["euclidean"][0] < g, (out, g)
    assert out["sine"][1] < out["euclidean"][1] <= g * 1.02, (out, g)
    # the angle clustering ignores the intensity: rescaling every snapshot changes no label
    d, _, cl, _ = ms["sine"]
    scale = jnp.asarray(np.random.default_rng(0).uniform(0.01, 100, X.shape[0]))[:, None]
    np.testing.assert_array_equal(rom.kmedoids(rom.pairwise(d, X * scale), 4).labels,
                                  cl.labels)


def test_nwidth_figure(moving_source, tmp_path):
    lb, g = moving_source["sine"][3], moving_source["global"]
    fig = rom.plot_singular_values({"global": g, "local (sine)": lb}, max_modes=20)
    fig.savefig(tmp_path / "nwidth.png")
    fig2 = rom.plot_error_vs_size([1, 2], {"a": [0.1, 0.01]})
    assert fig.axes and fig2.axes
    # the N-width proxy (in-sample POD tail) of local bases lies below the global one
    tail_g = rom.relative_tail(g.singular_values[0], g.total_energy[0])
    tails = [rom.relative_tail(lb.singular_values[k], lb.total_energy[k])[5] for k in range(4)]
    assert max(tails) < tail_g[5]


def test_float32_smoke(float32):
    rng = np.random.default_rng(3)
    x, labels, _ = _clustered_lowrank(rng, per=8)
    lb = rom.local_bases(jnp.asarray(x, jnp.float32), labels, rank=2)
    assert lb.bases.dtype == jnp.float32
    assert float(jnp.max(lb.errors_assigned(jnp.asarray(x, jnp.float32),
                                            jnp.asarray(labels)))) < 1e-3


def test_bad_input():
    x = jnp.ones((4, 3))
    with pytest.raises(ValueError, match="clusters"):
        rom.local_bases(x, np.array([0, 1, 1]))
    with pytest.raises(ValueError, match="empty"):
        rom.local_bases(x, np.array([0, 2, 2, 0]))
    with pytest.raises(ValueError, match="overlap"):
        rom.local_bases(x, np.array([0, 0, 1, 1]), overlap=-1)
    with pytest.raises(ValueError, match="dissimilarity"):
        rom.local_bases(x, np.array([0, 0, 1, 1]), dissimilarity="sine")
    with pytest.raises(ValueError, match="mu"):
        rom.MovingSource(4).check_params(np.array([0.5, 0.5, 100.0]))
    with pytest.raises(ValueError, match="box"):
        rom.MovingSource(4, box=(0.5, 0.2))
