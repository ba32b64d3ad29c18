"""Dataset: lazy file views, split, seeded batches, statistics, sub-sampling."""

import jax
import numpy as np
import pytest

from pdekit.data import Dataset, generate


@pytest.fixture
def arrays():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((10, 2, 8, 6)).astype(np.float32)
    y = rng.standard_normal((10, 1, 8, 6)).astype(np.float32)
    return x, y


@pytest.fixture(scope="module")
def heat_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("heat") / "heat.h5"
    return generate("heat", path, n=12, resolution=16, seed=1, batch_size=4, progress=False,
                    dim=2)


def test_from_arrays_split_and_shapes(arrays):
    x, y = arrays
    ds = Dataset.from_arrays(x, y, meta={"what": "random"})
    assert len(ds) == 10 and ds.x_shape == (2, 8, 6) and ds.y_shape == (1, 8, 6)
    train, test = ds.split(7, 2)
    xt, yt = train.arrays()
    np.testing.assert_array_equal(xt, x[:7])
    np.testing.assert_array_equal(test.arrays()[1], y[-2:])
    assert ds.meta == {"what": "random"}
    with pytest.raises(ValueError, match="`n_train` \\+ `n_test`"):
        ds.split(8, 3)
    with pytest.raises(ValueError, match="same length"):
        Dataset.from_arrays(x, y[:3])


def test_batches_follow_the_seeded_permutation(arrays):
    x, y = arrays
    train, _ = Dataset.from_arrays(x, y).split(9, 1)
    assert train.num_batches(4) == 2 and train.num_batches(4, drop_last=False) == 3
    perm = np.asarray(jax.random.permutation(jax.random.fold_in(jax.random.key(5), 2), 9))
    got = list(train.batches(4, seed=5, epoch=2))
    assert len(got) == 2
    for b, (xb, yb) in enumerate(got):
        assert isinstance(xb, jax.Array) and xb.shape == (4, 2, 8, 6)
        np.testing.assert_array_equal(np.asarray(xb), x[perm[4 * b: 4 * b + 4]])
        np.testing.assert_array_equal(np.asarray(yb), y[perm[4 * b: 4 * b + 4]])
    again = [np.asarray(b[0]) for b in train.batches(4, seed=5, epoch=2)]
    other = [np.asarray(b[0]) for b in train.batches(4, seed=5, epoch=3)]
    assert all(np.array_equal(a, g[0]) for a, g in zip(again, got))
    assert not all(np.array_equal(a, o) for a, o in zip(again, other))
    last = list(train.batches(4, seed=5, epoch=2, drop_last=False))[-1]
    assert last[0].shape[0] == 1


def test_mean_std_against_numpy(arrays):
    x, y = arrays
    train, _ = Dataset.from_arrays(x, y).split(8, 2)
    (xm, xs), (ym, ys) = train.mean_std(chunk=3)
    np.testing.assert_allclose(xm, x[:8].astype(np.float64).mean(0), rtol=1e-12)
    np.testing.assert_allclose(ys, y[:8].astype(np.float64).std(0), rtol=1e-12)
    (xm, xs), _ = train.mean_std(axis=(0, 2, 3))
    assert xm.shape == (2, 1, 1)
    np.testing.assert_allclose(xs[:, 0, 0], x[:8].astype(np.float64).std(axis=(0, 2, 3)),
                               rtol=1e-12)
    with pytest.raises(ValueError, match="`axis`"):
        train.mean_std(axis=1)


def test_subsample(arrays):
    x, y = arrays
    ds = Dataset.from_arrays(x, y, coords={"y": np.arange(8), "x": np.arange(6)}).subsample(2)
    assert ds.x_shape == (2, 4, 3)
    np.testing.assert_array_equal(ds.arrays()[0], x[:, :, ::2, ::2])
    np.testing.assert_array_equal(ds.coords["y"], [0, 2, 4, 6])
    np.testing.assert_array_equal(ds.subsample(2).arrays()[1], y[:, :, ::4, ::4])


def test_file_dataset_is_lazy_and_consistent(heat_file):
    ds = Dataset(heat_file)
    assert ds._cache is None and len(ds) == 12 and ds.x_shape == (1, 16, 16)
    assert ds.meta["generator"] == "heat" and ds.meta["params"]["dim"] == 2
    assert ds.meta["units"] and ds.meta["grid"]["kind"] == "periodic"
    np.testing.assert_allclose(ds.coords["x"], np.arange(16) / 16)
    train, test = ds.split(8, 4)
    x, y = train.arrays()
    mem = Dataset.from_arrays(x, y)
    for (a, b), (c, d) in zip(train.batches(3, seed=0, epoch=1, in_memory=False),
                              mem.batches(3, seed=0, epoch=1)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(c))
        np.testing.assert_array_equal(np.asarray(b), np.asarray(d))
    np.testing.assert_array_equal(train.subsample(4).arrays()[0], x[:, :, ::4, ::4])
    (m, s), _ = train.mean_std(axis=(0, 2, 3))
    np.testing.assert_allclose(m.ravel(), [x.astype(np.float64).mean()], rtol=1e-10)
    ds.close()
