"""Smoke test of the operator example at a tiny size."""

import numpy as np

from tests.helpers import example_main as _main


def test_fno_darcy_example(tmp_path):
    out = _main("fno_darcy")(["--n", "10", "--resolution", "16", "--epochs", "1", "--modes",
                              "4", "--width", "4", "--out", str(tmp_path)])
    # pinned: the FNO layout's parameter count at modes 4 (7x4 kept), width 4, 4 layers
    assert out["n_params"] == 4 * (2 * 4 * 4 * 7 * 4) + 4 * (4 + 16 + 2 * 4 * 2 + 2 + 4 + 4) \
        + (3 * 8 + 8 + 8 * 4 + 4) + (4 * 8 + 8 + 8 + 1)
    assert np.isfinite(out["test_rel_l2"]) and np.isfinite(out["test_rel_l2_half"])
    for name in ("fno_darcy_prediction.png", "fno_darcy_loss.png"):
        assert (tmp_path / name).stat().st_size > 10_000
