import json

import numpy as np
import pytest

from pdekit.cli import main


def _run(capsys, *argv):
    rc = main(["simulate", "poisson", "--json", *argv])
    assert rc == 0
    return json.loads(capsys.readouterr().out)


def test_json_keys_and_values_against_exact(capsys, tmp_path):
    # no precision flag: float64 by default; the saved DOF values are compared with the
    # exact solution sin(pi x) sin(pi y) (P2 nodal error O(h^3) on 8 x 8 squares)
    save = tmp_path / "u.npz"
    out = _run(capsys, "--n", "8", "--order", "2", "--solver", "cg", "--save", str(save))
    for key in ("ndofs", "h", "assemble_s", "solve_s", "residual", "l2_error", "h1_error"):
        assert key in out
    assert out["dtype"] == "float64"
    assert out["ndofs"] == 17 * 17 and out["residual"] < 1e-9
    assert out["l2_error"] < 2e-3 and out["h1_error"] < 0.1
    data = np.load(save)
    assert data["u"].shape == (289,) and data["cells"].shape == (128, 3)
    xy = data["dof_coords"]
    exact = np.sin(np.pi * xy[:, 0]) * np.sin(np.pi * xy[:, 1])
    err = np.abs(data["u"] - exact).max()
    assert 1e-6 < err < 5e-4, err  # discretisation error (2.3e-4), not round-off or failure


def test_p2_rate_three_refinements_default_precision(capsys):
    # the P2 L2 rate through the CLI, no flag: 3 +- 0.2 (float32 lost it: issue #9)
    hs, errs = [], []
    for n in (4, 8, 16):
        out = _run(capsys, "--n", str(n), "--order", "2")
        assert out["dtype"] == "float64"
        hs.append(out["h"]), errs.append(out["l2_error"])
    rate = np.polyfit(np.log(hs), np.log(errs), 1)[0]
    assert abs(rate - 3) < 0.2, (errs, rate)


def test_float32_flag(capsys, float32):
    out = _run(capsys, "--n", "8", "--float32")
    assert out["dtype"] == "float32" and out["l2_error"] < 3e-2  # P1, h = 1/8: 2.1e-2


def test_x64_is_accepted_alias(capsys):
    out = _run(capsys, "--n", "4", "--x64")
    assert out["dtype"] == "float64"


@pytest.mark.parametrize("content", [b"\x00garbage", b"$MeshFormat\n2.2 0 8\n$EndMeshFormat\n"])
def test_corrupt_mesh_file_exit_2_names_file(tmp_path, capsys, content):
    path = tmp_path / "broken.msh"
    path.write_bytes(content)
    rc = main(["simulate", "poisson", "--mesh", str(path)])
    assert rc == 2
    assert "broken.msh" in capsys.readouterr().err


def test_mesh_file_out_of_range_cell_exit_2(tmp_path, capsys):
    import meshio

    path = tmp_path / "oob.vtu"
    meshio.write(str(path), meshio.Mesh(np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0]]),
                                        [("triangle", np.array([[0, 1, 5]]))]))
    rc = main(["simulate", "poisson", "--mesh", str(path)])
    assert rc == 2
    err = capsys.readouterr().err
    assert "oob.vtu" in err and "out of range" in err


def test_checker_amg_plot(capsys, tmp_path):
    plot = tmp_path / "p.png"
    rc = main(
        [
            "simulate",
            "poisson",
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
    rc = main(["simulate", "poisson", "--json", "--n", "16", "--solver", "gmg"])
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
        ["--float32", "--x64"],
    ],
)
def test_bad_args_exit_2(argv, capsys):
    try:
        rc = main(["simulate", "poisson", *argv])
    except SystemExit as exc:  # argparse choices
        rc = exc.code
    assert rc == 2
    assert "error" in capsys.readouterr().err
