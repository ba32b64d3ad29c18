"""Smoke test of examples/rom_local_bases.py at a tiny size."""

import pytest

from tests.helpers import example_main

# local bases are built on the POD of ROM I (issue #12)
pytest.importorskip("pdekit.rom._pod")


@pytest.mark.slow  # ~25 s of compiles at the tiny size; the ordering is also in test_local_bases
def test_rom_local_bases_example(tmp_path):
    main = example_main("rom_local_bases")
    out = main(["--x64", "--n", "8", "--train", "80", "--test", "40", "--K", "3",
                "--sizes", "1,2,4", "--criterion-Ks", "1,2,3", "--epochs", "10",
                "--no-soliton", "--out", str(tmp_path)])
    assert out["png"].exists() and out["png"].stat().st_size > 10_000
    r = out["routed"]
    # angle-based local bases beat the global basis at every size
    assert all(a < g for a, g in zip(r["angle"], r["global"])), r
    assert out["criterion_K"] in (1, 2, 3)
