"""Snapshot container: HDF5 round trip (bit-identical), npz and meshio readers (files written
by scikit-fem), and bad input (NaN, mismatched mesh, existing file) with nothing written."""

import numpy as np
import pytest

from pdekit.data import Snapshots


def _mesh():
    import skfem

    return skfem.MeshTri.init_symmetric().refined(2)


def _fields(m, mus):
    x, y = m.p
    return np.stack([np.sin(mu * x) * y for mu in mus])


def test_hdf5_roundtrip_bit_identical(tmp_path):
    m = _mesh()
    mus = np.array([0.5, 1.0, 2.0])
    snaps = Snapshots(_fields(m, mus), mus, param_names=["k"], points=m.p.T, cells=m.t.T,
                      meta={"solver": "scikit-fem"})
    path = snaps.save(tmp_path / "s.h5")
    back = Snapshots.load(path, mesh=(m.p.T, m.t.T))
    assert np.array_equal(back.fields, snaps.fields) and back.fields.dtype == snaps.fields.dtype
    assert np.array_equal(back.params, snaps.params) and back.param_names == ["k"]
    assert back.meta == {"solver": "scikit-fem"} and back.matrix().shape == (m.p.shape[1], 3)
    with pytest.raises(FileExistsError):
        snaps.save(path)
    # a time series keeps its times
    ts = Snapshots(np.ones((2, 4, 5)), np.ones((2, 1)), times=np.arange(4.0))
    back = Snapshots.load(ts.save(tmp_path / "t.h5"))
    assert np.array_equal(back.times, np.arange(4.0)) and back.matrix().shape == (5, 8)


def test_meshio_files_written_by_scikit_fem(tmp_path, monkeypatch):
    m = _mesh()
    mus = [0.5, 1.5]
    paths = []
    for i, u in enumerate(_fields(m, mus)):
        p = tmp_path / f"u{i}.vtu"
        m.save(str(p), point_data={"u": u})
        paths.append(p)
    snaps = Snapshots.from_meshio(paths, "u", params=np.array(mus), mesh=(m.p.T, m.t.T))
    np.testing.assert_allclose(snaps.fields, _fields(m, mus), rtol=1e-12)
    with pytest.raises(ValueError, match="no point field"):
        Snapshots.from_meshio(paths, "v")
    # XDMF time series (meshio writer, as FEniCS-style solvers produce)
    import meshio

    xdmf = tmp_path / "series.xdmf"
    monkeypatch.chdir(tmp_path)  # meshio writes the .h5 next to the working directory
    with meshio.xdmf.TimeSeriesWriter(str(xdmf)) as w:
        w.write_points_cells(np.c_[m.p.T, np.zeros(m.p.shape[1])], [("triangle", m.t.T)])
        for t, u in zip([0.1, 0.2], _fields(m, mus)):
            w.write_data(t, point_data={"u": u})
    series = Snapshots.from_meshio(xdmf, "u", params=np.array([[1.0]]))
    assert series.fields.shape == (1, 2, m.p.shape[1])
    np.testing.assert_allclose(series.times, [0.1, 0.2])
    np.testing.assert_allclose(series.fields[0], _fields(m, mus), rtol=1e-12)


def test_npz_reader(tmp_path):
    m = _mesh()
    f = _fields(m, [1.0, 2.0])
    np.savez(tmp_path / "a.npz", fields=f, params=np.array([1.0, 2.0]), points=m.p.T, cells=m.t.T)
    snaps = Snapshots.from_npz(tmp_path / "a.npz", mesh=(m.p.T, m.t.T))
    assert np.array_equal(snaps.fields, f)
    with pytest.raises(ValueError, match="no array 'U'"):
        Snapshots.from_npz(tmp_path / "a.npz", fields="U")


def test_bad_input_nothing_written(tmp_path):
    m = _mesh()
    f = _fields(m, [1.0, 2.0])
    bad = f.copy()
    bad[0, 3] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        Snapshots(bad, [1.0, 2.0]).save(tmp_path / "x.h5")
    assert not (tmp_path / "x.h5").exists()
    with pytest.raises(ValueError, match="params"):
        Snapshots(f, [1.0])
    snaps = Snapshots(f, [1.0, 2.0], points=m.p.T, cells=m.t.T)
    path = snaps.save(tmp_path / "s.h5")
    other = m.refined(1)
    with pytest.raises(ValueError, match="does not match"):
        Snapshots.load(path, mesh=(other.p.T, other.t.T))
    with pytest.raises(ValueError, match="does not match"):
        snaps.check_mesh(m.p.T, m.t.T[:, ::-1])
