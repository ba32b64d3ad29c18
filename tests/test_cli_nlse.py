"""`pdekit simulate nlse`: JSON, --save round trip, overwrite protection, bad arguments."""

import json

import numpy as np
import pytest

from pdekit.cli import main

SMALL = ["simulate", "nlse", "--N", "64", "--frames", "5", "--quiet", "--x64"]


def test_json_output_has_the_keys(capsys):
    assert main(SMALL + ["--case", "soliton", "--L", "30", "--t-final", "1", "--method",
                         "strang", "--dt", "0.01", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    for key in ("case", "parameters", "method", "steps", "wall_time_s", "compile_time_s",
                "final_drift", "max_abs_error_final"):
        assert key in report
    assert report["steps"] == 100
    assert abs(report["final_drift"]["mass"]) < 1e-13
    assert report["max_abs_error_final"] < 1e-3


def test_save_round_trips_and_refuses_overwrite(tmp_path, capsys):
    out = tmp_path / "run.npz"
    argv = SMALL + ["--case", "breather", "--t-final", "1", "--method", "yoshida4",
                    "--save", str(out), "--json"]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    data = np.load(out)
    assert data["psi"].shape == (5, 64) and np.iscomplexobj(data["psi"])
    assert data["t"].shape == (5,) and data["x"].shape == (64,)
    np.testing.assert_allclose(data["t"], np.linspace(-1, 1, 5))
    meta = json.loads(str(data["metadata"]))
    assert meta["case"] == "breather" and meta["steps"] == report["steps"]
    assert data["diag_mass"].shape == (5,)
    assert main(argv) == 2
    assert "exists" in capsys.readouterr().err


@pytest.mark.parametrize("extra,message", [
    (["--N", "63"], "--N"),
    (["--N", "-4"], "--N"),
    (["--t-final", "-1"], "t-final"),
    (["--param", "amplitud=2"], "amplitud"),
    (["--param", "amplitude"], "NAME=VALUE"),
    (["--method", "dopri8", "--rtol", "1e-20"], "rtol"),
    (["--L", "10", "--case", "breather"], "--L"),
    # the bad-input audit: each number is checked where it enters, naming the flag
    (["--L", "nan"], "--L"),
    (["--L", "-3"], "--L"),
    (["--t-final", "inf"], "--t-final"),
    (["--frames", "1"], "--frames"),
    (["--dt", "0"], "--dt"),
    (["--dt", "nan"], "--dt"),
    (["--rtol", "nan"], "--rtol"),
    (["--atol=-1e-9"], "--atol"),
    (["--method", "strang", "--rtol", "1e-8"], "--rtol"),
    (["--beta", "inf"], "--beta"),
    (["--beta", "-1"], "beta"),
    (["--gamma", "nan"], "--gamma"),
    (["--gamma", "-1"], "gamma"),
    (["--param", "amplitude=nan"], "amplitude"),
    (["--param", "amplitude=-2"], "amplitude"),
    (["--param", "velocity=abc"], "velocity"),
    (["--seed", "1"], "--seed"),
    (["--case", "mi", "--seed", "-1"], "--seed"),
    (["--case", "mi", "--param", "num_periods=2.5"], "num_periods"),
    (["--case", "mi", "--param", "epsilon=-1"], "epsilon"),
])
def test_bad_arguments_exit_2(extra, message, capsys):
    assert main(SMALL + ["--case", "soliton"] + extra) == 2
    err = capsys.readouterr().err
    assert "pdekit: error:" in err and message in err


def test_two_soliton_defaults_float64_lawsondop853_mass_drift(capsys):
    # no precision or method flag: float64 and the fastest accurate method by default
    assert main(["simulate", "nlse", "--case", "two-soliton", "--quiet", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["dtype"] == "complex128" and report["method"]["name"] == "lawsondop853"
    assert abs(report["max_abs_drift"]["mass"]) < 1e-12, report["max_abs_drift"]
    assert report["drift_scale"]["mass"] == "relative to M0"
    assert report["measured"]["shift1"] == pytest.approx(report["reference"]["shift1"],
                                                         rel=1e-3)


def test_float32_flag(capsys):
    assert main(["simulate", "nlse", "--N", "64", "--frames", "3", "--quiet", "--case",
                 "soliton", "--L", "30", "--t-final", "0.5", "--float32", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["dtype"] == "complex64" and report["method"]["rtol"] == pytest.approx(1e-5)
    assert report["max_abs_error_final"] < 1e-3


def test_unknown_case_exits_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["simulate", "nlse", "--case", "kdv"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_mi_json_reports_growth_rate_near_theory(capsys):
    # linear stability theory: g(K_max) = gamma A0^2 = 1 for the default plane wave
    assert main(["simulate", "nlse", "--case", "mi", "--N", "128", "--frames", "40", "--quiet",
                 "--x64", "--t-final", "10", "--method", "strang", "--dt", "0.01",
                 "--param", "num_periods=4", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["measured"]["growth_rate"] == pytest.approx(1.0, rel=0.05)
    # P0 ~ 0 (plane wave + noise): its drift is scaled by M0 k1, not by |P0|, and says so
    assert "P0 ~ 0" in report["drift_scale"]["momentum"]
    assert report["max_abs_drift"]["momentum"] < 1e-3


def test_lawsondop853_soliton_error_small(capsys):
    assert main(SMALL + ["--case", "soliton", "--N", "256", "--L", "60", "--param",
                         "position=0", "--t-final", "1", "--method", "lawsondop853", "--rtol",
                         "1e-10", "--atol", "1e-12", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["method"]["name"] == "lawsondop853"
    assert report["max_abs_error_final"] < 1e-9, report["max_abs_error_final"]


def test_plots_return_figures_and_never_switch_the_backend(monkeypatch):
    import matplotlib
    from matplotlib.figure import Figure

    from pdekit.plotting import plot_conservation, plot_nlse_summary
    from pdekit.solvers import spectral as sp

    calls = []
    monkeypatch.setattr(matplotlib, "use", lambda *a, **k: calls.append(a))
    case = sp.cases.soliton(position=0.0)
    grid = sp.FourierGrid(64, 30.0)
    ts = np.linspace(0.0, 1.0, 4)
    us = np.stack([np.asarray(case.exact(grid, t)) for t in ts])
    stats = {k: np.asarray(v) for k, v in case.problem(grid).diagnostics(us).items()}
    fig = plot_nlse_summary(np.asarray(grid.x), ts, us, stats, title="t")
    assert isinstance(fig, Figure) and len(fig.axes) >= 4 and not calls
    ax = plot_conservation(ts, sp.cases.conservation_drifts(stats, 30.0))
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("relative to |P0|" in t for t in labels), labels
