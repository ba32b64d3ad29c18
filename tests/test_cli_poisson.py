import json

import numpy as np
import pytest

from pdekit.cli import main


def test_json_keys_and_accuracy(capsys, tmp_path):
    save = tmp_path / "u.npz"
    rc = main(
        [
            "simulate",
            "poisson",
            "--x64",
            "--json",
            "--n",
            "8",
            "--order",
            "2",
            "--solver",
            "cg",
            "--save",
            str(save),
        ]
    )
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("ndofs", "h", "assemble_s", "solve_s", "residual", "l2_error", "h1_error"):
        assert key in out
    assert out["ndofs"] == 17 * 17 and out["residual"] < 1e-9
    assert out["l2_error"] < 2e-3 and out["h1_error"] < 0.1
    data = np.load(save)
    assert data["u"].shape == (289,) and data["cells"].shape == (128, 3)


def test_checker_amg_plot(capsys, tmp_path):
    plot = tmp_path / "p.png"
    rc = main(
        [
            "simulate",
            "poisson",
            "--x64",
            "--json",
            "--mesh",
            "lshape",
            "--n",
            "8",
            "--coef",
            "checker",
            "--solver",
            "amg",
            "--plot",
            str(plot),
        ]
    )
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert "l2_error" not in out and out["converged"] and plot.stat().st_size > 10_000


def test_square_gmg(capsys):
    rc = main(["simulate", "poisson", "--x64", "--json", "--n", "16", "--solver", "gmg"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["converged"] and out["iterations"] <= 12 and out["residual"] < 1e-9
    assert out["l2_error"] < 1e-2  # P1 on 16 x 16 squares: O(h^2) (5.4e-3)


@pytest.mark.parametrize(
    "argv",
    [
        ["--coef", "-1"],
        ["--coef", "soft"],
        ["--mesh", "nowhere.msh"],
        ["--n", "0"],
        ["--mesh", "cube", "--order", "2"],
        ["--h", "3"],
        ["--save", "u.txt"],
        ["--order", "3"],
        ["--solver", "gmres"],
        ["--solver", "gmg", "--mesh", "disk"],
        ["--solver", "gmg", "--n", "30"],
    ],
)
def test_bad_args_exit_2(argv, capsys):
    try:
        rc = main(["simulate", "poisson", *argv])
    except SystemExit as exc:  # argparse choices
        rc = exc.code
    assert rc == 2
    assert "error" in capsys.readouterr().err
