"""Smoke test of examples/nlse_two_soliton.py at a small size."""

import pytest

from tests.helpers import example_main


def test_two_soliton_example(tmp_path):
    main = example_main("nlse_two_soliton")
    result = main(["--N", "512", "--dt", "0.02", "--frames", "11", "--out", str(tmp_path)])
    # Analytic Zakharov–Shabat shifts for the default pair: 2 ln|r| / A_j.
    assert result["shift1"] == pytest.approx(0.8803587, rel=0.01)
    assert result["shift2"] == pytest.approx(-0.5869058, rel=0.01)
    assert result["mass_drift"] < 1e-12
    assert (tmp_path / "nlse_two_soliton.png").stat().st_size > 10_000
