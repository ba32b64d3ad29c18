"""`pdekit rom build thermal-block` / `pdekit rom eval`: JSON report, saved model, errors."""

import json

import pytest

from pdekit.cli import main


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    d = tmp_path_factory.mktemp("rom")
    out = d / "tb.h5"
    return d, out


def test_build_and_eval(built, capsys):
    d, out = built
    rc = main(["rom", "build", "thermal-block", "--blocks", "2x2", "--cells", "8", "--tol", "1e-3",
               "--train", "30", "--test", "10", "--out", str(out), "--x64", "--json", "--quiet"])
    assert rc == 0
    rep = json.loads(capsys.readouterr().out)
    for key in ("basis_size", "max_rel_error", "effectivity_min", "effectivity_max",
                "offline_s", "online_s", "fom_s"):
        assert key in rep
    assert rep["max_rel_error"] < 1e-3 and rep["effectivity_min"] >= 1.0 and rep["certified"]
    assert (rep["criterion"], rep["norm"]) == ("relative", "energy")  # the documented default
    assert out.exists()
    rc = main(["rom", "eval", str(out), "--mu", "0.2,0.9,0.5,0.1", "--x64", "--json",
               "--save", str(d / "u.npz")])
    assert rc == 0
    ev = json.loads(capsys.readouterr().out)
    assert ev["basis_size"] == rep["basis_size"] and ev["estimate"] > 0
    assert (d / "u.npz").exists()


def test_errors(built, capsys):
    d, out = built
    # outside the parameter box: clear error, exit status 2
    assert main(["rom", "eval", str(out), "--mu", "5,0.5,0.5,0.5", "--x64"]) == 2
    assert "outside the parameter box" in capsys.readouterr().err
    # existing output is not overwritten
    assert main(["rom", "build", "thermal-block", "--cells", "8", "--out", str(out)]) == 2
    assert "exists" in capsys.readouterr().err
    assert main(["rom", "build", "thermal-block", "--blocks", "2y", "--out",
                 str(d / "new.h5")]) == 2
    assert not (d / "new.h5").exists()


# ---- local reduced bases (issue #14): rom build PROBLEM --local K, rom eval of the file ----


@pytest.mark.slow  # ~10 s: trains the classifier
def test_build_eval_local_moving_source(tmp_path, capsys):
    out = tmp_path / "ms.h5"
    rc = main(["rom", "build", "moving-source", "--local", "3", "--cells", "6", "--train", "36",
               "--test", "8", "--rank", "4", "--epochs", "40", "--out", str(out), "--x64",
               "--json", "--quiet"])
    assert rc == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["n_clusters"] == 3 and rep["basis_sizes"] == [4, 4, 4]
    assert 0 <= rep["routing_accuracy"] <= 1 and rep["max_rel_error"] < 1
    # local bases (angle clustering) beat one global basis of the same size on the test set
    assert rep["local_projection_error_mean"] < rep["global_projection_error_mean"]
    rc = main(["rom", "eval", str(out), "--mu", "0.3,0.6,2", "--x64", "--json"])
    assert rc == 0
    ev = json.loads(capsys.readouterr().out)
    assert 0 <= ev["cluster"] < 3 and ev["rel_error"] < 1 and ev["router"] == "classifier"
    assert main(["rom", "eval", str(out), "--mu", "0.3,0.6", "--x64"]) == 2
    assert "--mu" in capsys.readouterr().err


@pytest.mark.slow  # ~15 s: thermal-block snapshots, three local certified ROMs
def test_build_eval_local_thermal_block_medoid(tmp_path, capsys):
    out = tmp_path / "tb.h5"
    rc = main(["rom", "build", "thermal-block", "--local", "2", "--blocks", "2x1", "--cells", "6",
               "--train", "16", "--test", "6", "--rank", "1", "--router", "medoid",
               "--dissimilarity", "euclidean", "--overlap", "0.2", "--out", str(out), "--x64",
               "--json", "--quiet"])
    assert rc == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["n_clusters"] == 2 and rep["router"] == "medoid"
    assert main(["rom", "eval", str(out), "--mu", "0.2,0.7", "--x64", "--json"]) == 0
    ev = json.loads(capsys.readouterr().out)
    assert ev["relative_bound"] >= ev["rel_error"] * (1 - 1e-9) - 1e-12  # certified bound


def test_local_errors(tmp_path, capsys):
    assert main(["rom", "build", "moving-source", "--out", str(tmp_path / "a.h5")]) == 2
    assert "--local" in capsys.readouterr().err
    assert main(["rom", "build", "thermal-block", "--local", "0", "--out",
                 str(tmp_path / "b.h5")]) == 2
    assert "--local" in capsys.readouterr().err
    assert main(["rom", "build", "moving-source", "--local", "2", "--overlap", "-1", "--out",
                 str(tmp_path / "c.h5")]) == 2
    assert "--overlap" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
