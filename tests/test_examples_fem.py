"""Smoke tests of the FEM examples at tiny sizes."""

import numpy as np

from tests.helpers import example_main as _main


def test_poisson_convergence_example(tmp_path):
    out = _main("poisson_convergence")(["--levels", "2", "--n0", "4", "--out", str(tmp_path)])
    assert abs(out["rates"]["P1 L2"] - 2) < 0.15 and abs(out["rates"]["P2 L2"] - 3) < 0.2
    assert abs(out["rates"]["P1 H1"] - 1) < 0.15 and abs(out["rates"]["P2 H1"] - 2) < 0.15
    # pinned: P1 L2 error on the 4x4 mesh (a fixed, deterministic discretisation)
    assert np.isclose(out["errors"]["P1 L2"][0], 6.557e-02, rtol=1e-3)
    assert (tmp_path / "poisson_convergence.png").stat().st_size > 10_000


def test_darcy_batch_example(tmp_path):
    out = _main("darcy_batch")(
        ["--batch", "4", "--n", "8", "--grid", "9", "--x64", "--out", str(tmp_path)]
    )
    assert out["u"].shape == (4, 9, 9) and out["a"].shape == (4, 9, 9)
    u = out["u"]
    # homogeneous Dirichlet on the boundary, positive inside (maximum principle, f = 1 > 0)
    assert np.allclose(u[:, 0, :], 0) and np.allclose(u[:, :, -1], 0)
    assert np.all(u[:, 1:-1, 1:-1] > 0)
    assert (tmp_path / "darcy_batch.png").exists() and (tmp_path / "darcy_batch.npz").exists()
