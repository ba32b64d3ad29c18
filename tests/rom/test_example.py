"""Smoke test of examples/rom_thermal_block.py at a tiny size."""

from tests.helpers import example_main


def test_rom_thermal_block_example(tmp_path):
    main = example_main("rom_thermal_block")
    out = main(["--cells", "10", "--train", "40", "--test", "10", "--tol", "1e-5",
                "--out", str(tmp_path)])
    assert out["max_rel_error"] < 1e-5
    assert out["effectivity_min"] >= 1.0
    assert out["basis_size"] <= 30
    assert (tmp_path / "rom_thermal_block.png").exists()
