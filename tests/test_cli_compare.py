"""`pdekit compare` and the MgNO Darcy example at tiny sizes."""

import json

import pytest

from pdekit.cli import main
from tests.helpers import example_main


@pytest.fixture(scope="module")
def darcy_file(tmp_path_factory):
    from pdekit.data import generate

    path = tmp_path_factory.mktemp("data") / "darcy16.h5"
    return generate("darcy", path, n=10, resolution=16, seed=0, progress=False)


def test_compare_table_figure_and_models(darcy_file, tmp_path, capsys):
    out = tmp_path / "cmp"
    args = ["compare", "--data", str(darcy_file), "--models", "deeponet,pod-deeponet",
            "--budget", "2", "--batch-size", "4", "--n-test", "2", "--pod-modes", "4",
            "--width", "4", "--out", str(out), "--quiet", "--json"]
    assert main(args) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(result["models"]) == {"deeponet", "pod-deeponet"}
    for row in result["models"].values():
        assert {"test_rel_l2", "test_rel_h1", "n_params", "s_per_epoch",
                "inference_s_per_sample"} <= set(row)
        assert 0 < row["test_rel_l2"] < 10 and row["n_params"] > 0
    assert (out / "compare.png").stat().st_size > 10_000
    from pdekit.operators import load_model

    model, extra = load_model(out / "deeponet")
    assert extra["n_params"] == result["models"]["deeponet"]["n_params"]
    # never overwritten silently; bad model names are named
    assert main(args) == 2
    assert "exists" in capsys.readouterr().err
    assert main(args[:4] + ["fno,unet"] + args[5:] + ["--overwrite"]) == 2
    assert "--models" in capsys.readouterr().err


@pytest.mark.slow
def test_mgno_darcy_example(tmp_path):
    res = example_main("mgno_darcy")(["--resolution", "16", "--n-train", "16", "--n-test", "4",
                                      "--epochs", "2", "--batch-size", "4", "--width", "4",
                                      "--levels", "3", "--out", str(tmp_path)])
    assert set(res) == {"zeros", "circular"}
    assert all(0 < r["rel_l2"] < 10 for r in res.values())
    assert (tmp_path / "mgno_darcy.png").stat().st_size > 10_000
