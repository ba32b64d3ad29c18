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
