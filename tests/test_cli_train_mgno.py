"""pdekit train/eval for MgNO and (POD-)DeepONet: tiny runs, resume, refusal, bad input."""

import json

import numpy as np
import pytest

from pdekit.cli import main


@pytest.fixture(scope="module")
def heat_file(tmp_path_factory):
    from pdekit.data import generate

    path = tmp_path_factory.mktemp("data") / "heat.h5"
    return str(generate("heat", path, n=20, resolution=32, seed=0, progress=False, dim=1))


def _train(model, data, out, *extra):
    return main(["train", model, "--data", data, "--out", str(out), "--batch-size", "8",
                 "--n-train", "16", "--n-test", "4", "--quiet", "--json", *extra])


def _last_json(capsys):
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


MG = ("--width", "4", "--layers", "1", "--levels", "2")


def test_mgno_train_refuse_eval(heat_file, tmp_path, capsys):
    run = tmp_path / "mg"
    assert _train("mgno", heat_file, run, "--epochs", "1", *MG) == 0
    first = _last_json(capsys)
    assert first["model"] == "mgno" and first["epochs"] == 1
    for name in ("run.json", "model.json", "model.eqx", "checkpoint.json", "loss.png"):
        assert (run / name).is_file(), name
    assert json.loads((run / "model.json").read_text())["config"]["inner"]["levels"] == 2
    assert _train("mgno", heat_file, run, "--epochs", "1", *MG) == 2  # never overwritten
    assert "--resume" in capsys.readouterr().err
    assert _train("mgno", heat_file, run, "--epochs", "2", "--resume", "--width", "4",
                  "--layers", "1", "--levels", "3") == 2
    assert "--levels" in capsys.readouterr().err
    # zero-shot at another resolution (the V-cycle runs on any grid it fits)
    assert main(["eval", str(run), "--data", heat_file, "--resolution", "16", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["resolution"] == [16] and res["n_params"] == first["n_params"]
    assert 0 < res["test_rel_l2"] < 2


@pytest.mark.slow
def test_mgno_resume_continues_the_run(heat_file, tmp_path, capsys):
    run = tmp_path / "mg"
    assert _train("mgno", heat_file, run, "--epochs", "1", *MG) == 0
    capsys.readouterr()
    assert _train("mgno", heat_file, run, "--epochs", "2", "--resume", *MG) == 0
    assert _last_json(capsys)["epochs"] == 2
    plot = tmp_path / "mg.png"
    assert main(["eval", str(run), "--data", heat_file, "--plot", str(plot)]) == 0
    assert plot.is_file()


def test_pod_deeponet_train_eval(heat_file, tmp_path, capsys):
    run = tmp_path / "pod"
    assert _train("deeponet", heat_file, run, "--epochs", "2", "--pod-basis", "3",
                  "--width", "8", "--branch", "mlp") == 0
    res = _last_json(capsys)
    saved = np.load(run / "pod_basis.npz")
    assert saved["basis"].shape == (1, 3, 32) and saved["mean"].shape == (1, 32)
    # the POD modes are orthonormal and their count is not trained: branch MLP 32-8-8-3 + bias
    np.testing.assert_allclose(saved["basis"][0] @ saved["basis"][0].T, np.eye(3), atol=1e-10)
    assert res["n_params"] == (32 * 8 + 8) + (8 * 8 + 8) + (8 * 3 + 3) + 1
    assert main(["eval", str(run), "--data", heat_file, "--json"]) == 0
    ev = json.loads(capsys.readouterr().out)
    assert ev["n_test"] == 4 and abs(ev["test_rel_l2"] - res["test_rel_l2"]) < 1e-6
    # a DeepONet's branch reads fixed sensors: another resolution is refused, naming it
    assert main(["eval", str(run), "--data", heat_file, "--resolution", "16"]) == 2
    assert "--resolution" in capsys.readouterr().err


def test_bad_model_options_are_named(heat_file, tmp_path, capsys):
    assert _train("fno", heat_file, tmp_path / "a", "--levels", "3") == 2
    assert "--levels" in capsys.readouterr().err
    assert _train("mgno", heat_file, tmp_path / "b", "--branch", "cnn") == 2
    assert "--branch" in capsys.readouterr().err
    assert _train("deeponet", heat_file, tmp_path / "c", "--pod-basis", "0") == 2
    assert "--pod-basis" in capsys.readouterr().err
    assert _train("mgno", heat_file, tmp_path / "d", "--levels", "9", "--conv-padding",
                  "reflect") == 2
    assert "--levels" in capsys.readouterr().err
    assert not (tmp_path / "d" / "checkpoint.json").exists()
