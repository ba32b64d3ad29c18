"""Smoke test of examples/nlse_two_soliton.py at a small size."""

import importlib.util
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_two_soliton_example(tmp_path):
    example = _load("nlse_two_soliton")
    result = example.main(["--N", "512", "--dt", "0.02", "--frames", "11", "--x64",
                           "--out", str(tmp_path)])
    # Analytic Zakharov–Shabat shifts for the default pair: 2 ln|r| / A_j.
    assert result["shift1"] == pytest.approx(0.8803587, rel=0.01)
    assert result["shift2"] == pytest.approx(-0.5869058, rel=0.01)
    assert result["mass_drift"] < 1e-12
    assert (tmp_path / "nlse_two_soliton.png").stat().st_size > 10_000
