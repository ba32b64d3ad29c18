"""generate(): reproducible, resumable, device-count independent, refuses what it must."""

import os
import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pytest

from pdekit.data import GENERATORS, Dataset, generate, generate_with_stats

# one configuration throughout, so the compiled sampler is shared between tests
CFG = dict(n=6, resolution=16, seed=3, dtype="float64", progress=False)


def _arrays(path):
    with h5py.File(path, "r") as f:
        return f["x"][...], f["y"][...], f["completed"][...], dict(f.attrs)


def _same(p, q):
    xa, ya, ca, aa = _arrays(p)
    xb, yb, cb, ab = _arrays(q)
    assert xa.tobytes() == xb.tobytes() and ya.tobytes() == yb.tobytes()
    assert ca.all() and cb.all()
    assert aa.keys() == ab.keys()
    for k in aa:
        assert np.array_equal(aa[k], ab[k]), k


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return generate("darcy", tmp_path_factory.mktemp("ref") / "ref.h5", batch_size=4, **CFG)


def test_same_seed_same_bytes(reference, tmp_path):
    again = generate("darcy", tmp_path / "again.h5", batch_size=4, **CFG)
    _same(reference, again)
    assert again.read_bytes() == reference.read_bytes()  # the whole file, byte for byte
    other = generate("darcy", tmp_path / "other.h5", batch_size=4, **{**CFG, "seed": 4})
    assert not np.array_equal(_arrays(other)[0], _arrays(reference)[0])


@pytest.mark.parametrize("name", ["heat", pytest.param("darcy", marks=pytest.mark.slow)])
def test_batch_size_does_not_change_data(reference, tmp_path, name):
    one = reference if name == "darcy" else generate(name, tmp_path / "b4.h5", batch_size=4,
                                                      **CFG)
    _same(one, generate(name, tmp_path / "bs2.h5", batch_size=2, **CFG))


@pytest.mark.parametrize("name", ["heat", pytest.param("darcy", marks=pytest.mark.slow)])
def test_four_devices_same_bytes(reference, tmp_path, name):
    import jax

    assert len(jax.devices()) >= 4  # tests/conftest.py forces 4 host devices
    # (heat in the default suite: each device compiles once, and darcy compiles slowly)
    cfg = {**CFG, "n": 10} if name == "heat" else CFG
    one = reference if name == "darcy" else generate(name, tmp_path / "d1.h5", batch_size=4,
                                                      **cfg)
    stats = generate_with_stats(name, tmp_path / "d4.h5", batch_size=8, devices=4, **cfg)
    assert stats.devices == 4 and stats.batch_size == 8
    _same(one, stats.path)


def test_resume_after_exception_equals_uninterrupted(reference, tmp_path):
    path = tmp_path / "resume.h5"

    def boom(done):
        raise KeyboardInterrupt  # as Ctrl-C after the first batch is on disk

    with pytest.raises(KeyboardInterrupt):
        generate_with_stats("darcy", path, batch_size=4, on_batch=boom, **CFG)
    with pytest.raises(ValueError, match="unfinished"):
        Dataset(path)
    partial = Dataset(path, allow_incomplete=True)
    assert len(partial) == 4
    partial.close()
    stats = generate_with_stats("darcy", path, batch_size=4, **CFG)
    assert (stats.resumed_from, stats.computed) == (4, 2)
    _same(reference, path)
    # a finished file: nothing to do
    assert generate_with_stats("darcy", path, batch_size=4, **CFG).computed == 0


@pytest.mark.slow
def test_resume_after_kill_equals_uninterrupted(reference, tmp_path):
    path = tmp_path / "killed.h5"
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {os.getcwd()!r})
        import pdekit; pdekit.enable_x64()
        from pdekit.data import generate_with_stats
        kill = lambda done: os.kill(os.getpid(), signal.SIGKILL)
        generate_with_stats("darcy", {str(path)!r}, batch_size=2, on_batch=kill, **{CFG!r})
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=300)
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]
    with h5py.File(path, "r") as f:
        assert f["completed"][...].sum() == 2
    stats = generate_with_stats("darcy", path, batch_size=2, **CFG)
    assert stats.resumed_from == 2
    _same(reference, path)


def test_mismatched_file_refused_and_kept(reference, tmp_path):
    path = tmp_path / "mine.h5"
    path.write_bytes(reference.read_bytes())
    before = path.read_bytes()
    with pytest.raises(ValueError, match=r"other parameters \(seed: file has 3, asked 4\)"):
        generate("darcy", path, batch_size=4, **{**CFG, "seed": 4})
    with pytest.raises(ValueError, match="tau"):
        generate("darcy", path, batch_size=4, tau=4.0, **CFG)
    assert path.read_bytes() == before
    generate("darcy", path, batch_size=4, overwrite=True, **{**CFG, "seed": 4})
    assert Dataset(path).meta["seed"] == 4


def test_foreign_and_corrupt_files_refused(tmp_path):
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["data"] = np.zeros(3)
    corrupt = tmp_path / "corrupt.h5"
    corrupt.write_bytes(b"not an hdf5 file" * 10)
    for p, msg in ((foreign, "not a pdekit dataset"), (corrupt, "not a readable HDF5")):
        before = p.read_bytes()
        with pytest.raises(ValueError, match=msg):
            generate("darcy", p, **CFG)
        with pytest.raises(ValueError, match=msg):
            Dataset(p)
        assert p.read_bytes() == before


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n=-1), "`n`"),
        (dict(n=0), "`n`"),
        (dict(resolution=-16), "`resolution`"),
        (dict(resolution=17), "`resolution`"),
        (dict(seed=-1), "`seed`"),
        (dict(tau=float("nan")), "parameter `tau`"),
        (dict(alpha=float("inf")), "parameter `alpha`"),
        (dict(viscosity=1.0), "unknown parameter"),
        (dict(coefficient="circles"), "parameter `coefficient`"),
        (dict(dtype="float16"), "`dtype`"),
        (dict(batch_size=0), "`batch_size`"),
        (dict(devices=99), "`devices`"),
    ],
)
def test_bad_input_refused_before_work(tmp_path, kwargs, match):
    path = tmp_path / "bad.h5"
    with pytest.raises(ValueError, match=match):
        generate("darcy", path, **{**CFG, **kwargs})
    assert not path.exists()


def test_bad_name_and_path(tmp_path):
    with pytest.raises(ValueError, match="unknown generator 'dracy'"):
        generate("dracy", tmp_path / "x.h5", **CFG)
    with pytest.raises(ValueError, match="`path`.*directory"):
        generate("darcy", tmp_path, **CFG)
    locked = tmp_path / "ro"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if not os.access(locked, os.W_OK):  # (root ignores permissions)
            with pytest.raises(ValueError, match="`path`.*writable"):
                generate("darcy", locked / "x.h5", **CFG)
    finally:
        locked.chmod(0o700)
    assert "darcy" in GENERATORS


def test_float32_smoke(float32, tmp_path):
    """(darcy in float32: tests/data/test_darcy.py, against a float64 direct solve)"""
    path = generate("heat", tmp_path / "f32.h5", n=2, resolution=16, progress=False)
    ds = Dataset(path)
    x, y = ds.arrays()
    assert x.dtype == y.dtype == np.float32 and np.all(np.isfinite(y)) and np.abs(y).max() > 0
    assert ds.meta["compute_dtype"] == "float32"
