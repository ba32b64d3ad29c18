"""The one-file format of a LocalNonIntrusiveROM (save_local_rom / load_local_rom): every
array and static field back bit-identical (per-cluster RBF and MLP regressors, routing
data, medoids, classifier weights), same outputs; files of another kind or a newer
version refused by name; nothing overwritten silently."""

import equinox as eqx
import h5py
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pdekit import rom


@pytest.fixture(scope="module")
def bump():
    # two clusters over mu in [0.1, 0.9]: random arrays of the right shapes stand in for the
    # fits (the format does not care how they were made; fit is tested elsewhere), so the
    # test compiles only the evaluation
    rng = np.random.default_rng(0)
    lo, hi = (0.1,), (0.9,)

    def arr(*shape):
        return jnp.asarray(rng.standard_normal(shape))

    rbf = rom.NonIntrusiveROM(arr(40, 3), jnp.asarray(rng.uniform(size=(6, 1))), arr(6, 3),
                              arr(2, 3), lo, hi, "cubic", 1.5)
    sizes = (1, 5, 2)  # a POD-MLP in cluster 1: the format stores any per-cluster kind
    mlp = rom.NonIntrusiveMLP(arr(40, 2), arr(sum(a * b + b for a, b in zip(sizes[:-1],
                                                                          sizes[1:]))),
                              arr(1), jnp.full((1,), 0.4), arr(2), jnp.ones(2), sizes, "tanh",
                              lo, hi)
    clf = eqx.filter_eval_shape(lambda k: rom.RomNetClassifier(1, 2, width=8, depth=1, key=k),
                                jax.random.key(1))  # skeleton, then random weights
    clf = jax.tree_util.tree_map(lambda s: arr(*s.shape) if isinstance(s, jax.ShapeDtypeStruct)
                                 else s, clf)
    kw = dict(centers=jnp.asarray(rng.uniform(size=(12, 1))),
              labels=jnp.asarray(np.repeat([0, 1], 6), jnp.int32), mu_min=lo, mu_max=hi)
    R = rom.LocalNonIntrusiveROM(roms=(rbf, rbf), classifier=None, **kw)
    Rm = rom.LocalNonIntrusiveROM(roms=(rbf, mlp), classifier=clf, medoids=arr(2, 40),
                                  dissimilarity="Sine", **kw)
    return R, Rm, jnp.linspace(0.1, 0.9, 12)[:, None]


def _assert_identical(R, R2):
    la, lb = jax.tree_util.tree_leaves(R), jax.tree_util.tree_leaves(R2)
    assert len(la) == len(lb)
    for x, y in zip(la, lb):
        assert np.asarray(x).dtype == np.asarray(y).dtype
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    # static fields (box, kernels, MLP sizes, names) equal: same tree structure
    assert jax.tree_util.tree_structure(R) == jax.tree_util.tree_structure(R2)


def test_local_nonintrusive_save_load_bit_identical(bump, tmp_path):
    _, R, mu = bump
    assert R.medoids.shape == (2, 40) and R.dissimilarity == "Sine"
    mine = tmp_path / "ni.h5.tmp"  # a user's file with the obvious temporary name
    mine.write_bytes(b"mine")
    path = rom.save_local_rom(tmp_path / "ni.h5", R, meta={"problem": "bump"})
    R2 = rom.load_local_rom(path)
    assert isinstance(R2, rom.LocalNonIntrusiveROM)
    assert isinstance(R2.roms[1], rom.NonIntrusiveMLP) and R2.roms[1].sizes == (1, 5, 2)
    _assert_identical(R, R2)
    for m in mu[::5]:  # routed by the classifier, then the cluster's model
        np.testing.assert_array_equal(np.asarray(R2(m)), np.asarray(R(m)))
    with h5py.File(path) as f:
        assert "header" in f.attrs and "roms/1/params" in f  # no pickle: arrays and JSON
    # never overwritten silently; overwrite=True replaces it
    stamp = path.stat().st_mtime_ns
    with pytest.raises(FileExistsError, match="overwrite"):
        rom.save_local_rom(path, R)
    assert path.stat().st_mtime_ns == stamp
    rom.save_local_rom(path, R2, overwrite=True)
    _assert_identical(R, rom.load_local_rom(path))
    assert mine.read_bytes() == b"mine"  # untouched, and no temporary file left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ni.h5", "ni.h5.tmp"]


def test_local_nonintrusive_file_refusals(bump, tmp_path):
    R = bump[0]
    path = rom.save_local_rom(tmp_path / "ni.h5", R)
    # a ROM I file is not a local ROM, and a local ROM is not a ROM I file: named
    single = rom.save_rom(tmp_path / "single.h5", R.roms[0])
    with pytest.raises(ValueError, match="not a pdekit local-ROM file"):
        rom.load_local_rom(single)
    with pytest.raises(ValueError, match="pdekit-rom"):
        rom.load_rom(path)
    with h5py.File(path, "a") as f:  # a newer version of the format
        f.attrs["header"] = f.attrs["header"].replace('"version": 1', '"version": 2')
    with pytest.raises(ValueError, match="LocalNonIntrusiveROM of format version 2"):
        rom.load_local_rom(path)
    with pytest.raises(ValueError, match="`rom` must be"):
        rom.save_local_rom(tmp_path / "x.h5", R.roms[0])
    with pytest.raises(ValueError, match="JSON"):
        rom.save_local_rom(tmp_path / "y.h5", R, meta={"f": object()})
    assert not (tmp_path / "x.h5").exists() and not (tmp_path / "y.h5").exists()


def test_local_nonintrusive_io_float32(bump, tmp_path, float32):
    def f32(a):  # the float64 model's arrays, rounded to float32
        if eqx.is_array(a) and a.dtype == np.float64:
            return jnp.asarray(np.asarray(a, np.float32))
        return a

    R = jax.tree_util.tree_map(f32, bump[1])
    assert R.centers.dtype == jnp.float32 and R.roms[1].params.dtype == jnp.float32
    _assert_identical(R, rom.load_local_rom(rom.save_local_rom(tmp_path / "f32.h5", R)))
    with h5py.File(tmp_path / "f64.h5", "w") as f:  # a float64 file is not rounded silently
        f.attrs["header"] = ('{"format": "pdekit.rom.LocalNonIntrusiveROM", "version": 1, '
                             '"dtype": "float64"}')
    with pytest.raises(ValueError, match="enable_x64"):
        rom.load_local_rom(tmp_path / "f64.h5")


def _bump_snapshots():
    x = jnp.linspace(0, 1, 40)
    mu = jnp.linspace(0.1, 0.9, 12)[:, None]
    return jnp.exp(-((x[None, :] - mu) ** 2) / 0.02), mu, np.repeat([0, 1], 6)


def test_fit_regressor_bad_input():
    X, mu, labels = _bump_snapshots()
    with pytest.raises(ValueError, match="regressor"):
        rom.LocalNonIntrusiveROM.fit(X, mu, labels, rank=2, regressor="gp")
    with pytest.raises(ValueError, match="mlp_options"):
        rom.LocalNonIntrusiveROM.fit(X, mu, labels, rank=2, mlp_options={"epochs": 1})


@pytest.mark.slow  # ~10 s: two small MLP trainings
def test_fit_mlp_per_cluster_and_round_trip(tmp_path):
    X, mu, labels = _bump_snapshots()
    R = rom.LocalNonIntrusiveROM.fit(X, mu, labels, rank=3, regressor="mlp",
                                     mlp_options={"epochs": 200, "hidden": (16,)})
    assert all(isinstance(r, rom.NonIntrusiveMLP) for r in R.roms)
    err = float(jnp.linalg.norm(R(mu[2]) - X[2]) / jnp.linalg.norm(X[2]))
    assert err < 0.5, err  # a trained fit, not the initial weights
    _assert_identical(R, rom.load_local_rom(rom.save_local_rom(tmp_path / "mlp.h5", R)))
