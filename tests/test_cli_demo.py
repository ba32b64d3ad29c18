"""`pdekit demo` (what `make demo` runs, here with `--quick` sizes for the dataset, FNO and ROM
stages): every case writes its figure and data, the results match their analytic references
(and the ROM its certified tolerance), and a second run refuses to overwrite without
--overwrite."""

import json

import pytest

from pdekit.cli import main


def test_demo_runs_all_cases_and_protects_its_output(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--quick"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()
             if line.startswith("{")]
    by_case = {r.get("case", r.get("mesh", r.get("name", r.get("problem", r.get("model"))))): r
               for r in lines}
    assert set(by_case) >= {"soliton", "two-soliton", "breather", "mi", "lshape", "darcy", "fno",
                            "thermal-block"}
    assert by_case["darcy"]["n"] == 24 and (tmp_path / "darcy.h5").exists()
    assert 0 < by_case["fno"]["test_rel_l2"] < 2.0 and (tmp_path / "fno_darcy.png").exists()
    rom = by_case["thermal-block"]
    assert rom["certified"] and rom["max_rel_error"] < 1e-4  # tol 1e-6 on the estimate
    assert by_case["soliton"]["max_abs_error_final"] < 1e-8
    assert by_case["breather"]["max_abs_error_peak"] < 1e-6
    two = by_case["two-soliton"]
    assert two["measured"]["shift1"] == pytest.approx(two["reference"]["shift1"], rel=0.01)
    assert by_case["mi"]["measured"]["growth_rate"] == pytest.approx(1.0, rel=0.05)
    assert by_case["lshape"]["converged"] and by_case["lshape"]["l2_error"] < 1e-3
    for stem in ("nlse_soliton", "nlse_two-soliton", "nlse_breather", "nlse_mi", "poisson_lshape"):
        assert (tmp_path / f"{stem}.png").stat().st_size > 10_000
    before = (tmp_path / "nlse_soliton.npz").stat().st_mtime_ns
    assert main(["demo", "--out", str(tmp_path)]) != 0  # refuses: files exist
    assert "--overwrite" in capsys.readouterr().err
    assert (tmp_path / "nlse_soliton.npz").stat().st_mtime_ns == before
