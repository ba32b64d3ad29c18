"""pdekit train / eval: a tiny run, resume, zero-shot evaluation at another resolution."""

import json

import pytest

from pdekit.cli import main


@pytest.fixture(scope="module")
def heat_file(tmp_path_factory):
    from pdekit.data import generate

    path = tmp_path_factory.mktemp("data") / "heat.h5"
    return str(generate("heat", path, n=24, resolution=32, seed=0, progress=False, dim=1))


def _train(data, out, *extra):
    return main(["train", "fno", "--data", data, "--out", str(out), "--modes", "6",
                 "--width", "6", "--layers", "1", "--batch-size", "8", "--n-train", "16",
                 "--n-test", "8", "--quiet", "--json", *extra])


def test_train_resume_eval(heat_file, tmp_path, capsys):
    run = tmp_path / "run"
    assert _train(heat_file, run, "--epochs", "2") == 0
    first = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert first["epochs"] == 2 and first["n_test"] == 8
    for name in ("run.json", "model.json", "model.eqx", "checkpoint.json", "metrics.csv",
                 "loss.png"):
        assert (run / name).is_file(), name
    # an existing run directory is never overwritten silently
    assert _train(heat_file, run, "--epochs", "2") == 2
    assert "--resume" in capsys.readouterr().err
    # a changed setting on resume is refused, naming it
    assert _train(heat_file, run, "--epochs", "3", "--resume", "--width", "8") == 2
    assert "--width" in capsys.readouterr().err
    assert _train(heat_file, run, "--epochs", "3", "--resume") == 0
    again = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert again["epochs"] == 3
    plot = tmp_path / "pred.png"
    assert main(["eval", str(run), "--data", heat_file, "--resolution", "16", "--plot",
                 str(plot), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    for key in ("test_rel_l2", "n_params", "resolution", "n_test", "s_per_epoch"):
        assert key in res, key
    assert res["resolution"] == [16] and res["n_test"] == 8 and plot.is_file()
    assert 0 < res["test_rel_l2"] < 1.5


def test_bad_input_names_the_argument(heat_file, tmp_path, capsys):
    assert _train(heat_file, tmp_path / "r", "--epochs", "0") == 2
    assert "--epochs" in capsys.readouterr().err
    assert _train(heat_file, tmp_path / "r", "--modes", "a,b") == 2
    assert "--modes" in capsys.readouterr().err
    assert _train(str(tmp_path / "missing.h5"), tmp_path / "r") == 2
    assert "--data" in capsys.readouterr().err
    assert main(["eval", str(tmp_path / "none"), "--data", heat_file]) == 2
    assert "RUN_DIR" in capsys.readouterr().err
