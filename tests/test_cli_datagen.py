"""`pdekit datagen`: JSON keys, resume, plot, refusal of bad input before any work."""

import json

import numpy as np
import pytest

from pdekit.cli import main
from pdekit.data import Dataset

BASE = ["datagen", "darcy", "--n", "6", "--resolution", "16", "--seed", "3",
        "--batch-size", "4", "--dtype", "float64"]


def test_json_plot_and_rerun(capsys, tmp_path):
    out, plot = tmp_path / "d.h5", tmp_path / "d.png"
    rc = main([*BASE, "--out", str(out), "--json", "--plot", str(plot)])
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    for key in ("name", "n", "resolution", "seed", "path", "samples_per_s", "wall_s"):
        assert key in res
    assert (res["name"], res["n"], res["resolution"], res["seed"]) == ("darcy", 6, 16, 3)
    assert res["computed"] == 6 and res["samples_per_s"] > 0
    assert plot.stat().st_size > 10_000
    ds = Dataset(out)
    assert len(ds) == 6 and ds.meta["params"]["tau"] == 3.0
    ds.close()
    # the same command again: nothing left to do, file unchanged
    before = out.read_bytes()
    assert main([*BASE, "--out", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["computed"] == 0
    assert out.read_bytes() == before


def test_param_and_mismatch(capsys, tmp_path):
    out = tmp_path / "h.h5"
    cmd = ["datagen", "heat", "--n", "3", "--resolution", "16", "--out", str(out), "--quiet",
           "--param", "nu=0.05", "--param", "dim=2"]
    assert main(cmd) == 0
    with Dataset(out) as ds:
        assert ds.meta["params"]["nu"] == 0.05
    capsys.readouterr()
    assert main([*cmd[:-4], "--param", "nu=0.1"]) == 2
    err = capsys.readouterr().err
    assert "other parameters" in err and "--overwrite" in err


@pytest.mark.parametrize(
    "args, match",
    [
        (["darcy", "--n", "-4", "--resolution", "16"], "--n"),
        (["darcy", "--n", "4", "--resolution", "-16"], "--resolution"),
        (["darcy", "--n", "4", "--resolution", "20"], "`resolution`"),
        (["dracy", "--n", "4", "--resolution", "16"], "unknown generator"),
        (["darcy", "--n", "4", "--resolution", "16", "--param", "tau=nan"], "`tau`"),
        (["darcy", "--n", "4", "--resolution", "16", "--param", "tau"], "NAME=VALUE"),
        (["darcy", "--n", "4", "--resolution", "16", "--batch-size", "0"], "--batch-size"),
    ],
)
def test_bad_input(capsys, tmp_path, args, match):
    out = tmp_path / "bad.h5"
    assert main(["datagen", *args, "--out", str(out)]) == 2
    assert match in capsys.readouterr().err
    assert not out.exists()


def test_unwritable_and_directory_out(capsys, tmp_path):
    assert main(["datagen", "heat", "--n", "2", "--resolution", "8", "--out",
                 str(tmp_path)]) == 2
    assert "directory" in capsys.readouterr().err
    f = tmp_path / "file"
    f.write_text("x")
    assert main(["datagen", "heat", "--n", "2", "--resolution", "8", "--out",
                 str(f / "sub.h5")]) == 2
    assert "writable" in capsys.readouterr().err


@pytest.mark.slow
def test_workers_same_bytes(capsys, tmp_path):
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    cmd = ["datagen", "heat", "--n", "10", "--resolution", "16", "--batch-size", "2",
           "--quiet", "--param", "dim=2"]
    assert main([*cmd, "--out", str(a)]) == 0
    assert main([*cmd, "--out", str(b), "--workers", "2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["workers"] == 2
    xa, ya = Dataset(a).arrays()
    xb, yb = Dataset(b).arrays()
    assert np.array_equal(xa, xb) and np.array_equal(ya, yb)


def test_devices_same_bytes(capsys, tmp_path):
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    cmd = ["datagen", "heat", "--n", "6", "--resolution", "16", "--batch-size", "2",
           "--quiet", "--json"]
    assert main([*cmd, "--out", str(a)]) == 0
    assert main([*cmd, "--out", str(b), "--devices", "2"]) == 0
    outs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [o["devices"] for o in outs] == [1, 2]
    xa, ya = Dataset(a).arrays()
    xb, yb = Dataset(b).arrays()
    assert np.array_equal(xa, xb) and np.array_equal(ya, yb)
