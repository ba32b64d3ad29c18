"""`pdekit compare`'s training recipe (schedules, weight decay, loss), learning curves, resume,
and the MgNO-vs-FNO benchmark script, at tiny sizes."""

import argparse
import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from pdekit.cli import main
from pdekit.cli._compare import _plain, curves_figure, make_optimizer


def _args(**kw):
    base = dict(budget=10, lr=1e-3, schedule="cosine", weight_decay=0.0)
    return argparse.Namespace(**{**base, **kw})


def _lrs(opt, steps):
    """The learning rate of each step: Adam's update of a constant unit gradient is -lr."""
    p = jnp.zeros(())

    def body(state, _):
        u, state = opt.update(jnp.ones(()), state, p)
        return state, -u

    with jax.numpy_dtype_promotion("standard"):  # optax mixes int32 counts and floats
        return np.asarray(jax.lax.scan(body, opt.init(p), None, length=steps)[1])


def _onecycle(step, total, peak, pct=0.2, div=2.0, final_div=100.0):
    """The two-phase cosine one-cycle (PyTorch's OneCycleLR, the MgNO code's schedule) written
    out; the phases end at steps ``pct * total`` and ``total`` (PyTorch: one step earlier)."""
    def cos(a, b, f):
        return b + (a - b) / 2 * (1 + math.cos(math.pi * f))

    up = pct * total
    if step <= up:
        return cos(peak / div, peak, step / up)
    return cos(peak, peak / div / final_div, (step - up) / (total - up))


def test_onecycle_and_step_schedules_match_their_definitions():
    steps = 4  # per epoch; 10 epochs
    lrs = _lrs(make_optimizer(_args(schedule="onecycle"), steps), 40)
    assert lrs[0] == pytest.approx(5e-4, rel=1e-3)          # lr / div_factor
    assert lrs.max() == pytest.approx(1e-3, rel=1e-3)       # the peak, at 20 % of the steps
    assert abs(int(np.argmax(lrs)) - 8) <= 1
    assert lrs[-1] < 1e-5 and lrs[-1] > 2.5e-6             # towards lr / 200
    ref = np.array([_onecycle(i, 40, 1e-3) for i in range(40)])
    np.testing.assert_allclose(lrs, ref, rtol=1e-4)
    lrs = _lrs(make_optimizer(_args(schedule="step"), steps), 40)
    # halved every budget / 5 = 2 epochs = 8 steps
    np.testing.assert_allclose(lrs[[0, 7, 8, 16, 39]], [1e-3, 1e-3, 5e-4, 2.5e-4, 6.25e-5],
                               rtol=1e-4)


def test_weight_decay_is_an_l2_penalty_on_the_gradient():
    opt = make_optimizer(_args(weight_decay=0.1), 1)
    # the same as Adam on the gradient 0.1 p (PyTorch Adam's weight_decay)
    ref = optax.adam(optax.cosine_decay_schedule(1e-3, 10, alpha=1e-2))
    p = jnp.asarray([2.0, -3.0])

    @jax.jit
    def both(p):
        u, _ = opt.update(jnp.zeros(2), opt.init(p), p)
        r, _ = ref.update(0.1 * p, ref.init(p), p)
        return u, r

    with jax.numpy_dtype_promotion("standard"):
        u, r = both(p)
    np.testing.assert_allclose(u, r, rtol=1e-6)
    assert np.all(np.sign(u) == -np.sign(p))


def test_bad_recipe_flags_are_named(tmp_path, capsys):
    base = ["compare", "--data", str(tmp_path / "none.h5"), "--out", str(tmp_path / "o")]
    for extra, name in [(["--weight-decay", "-1"], "--weight-decay"),
                        (["--eval-every", "-2"], "--eval-every"),
                        (["--models", "fno", "--levels", "3"], "--levels"),
                        (["--levels", "0"], "--levels"),
                        (["--padding", "1.5"], "--padding"),
                        (["--models", "mgno", "--padding", "0.1"], "--padding")]:
        assert main(base + extra) == 2
        assert name in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(base + ["--schedule", "linear"])


def test_curves_figure_and_plain_history():
    h = {"epoch": [1, 2, 3], "train_loss": [1.0, 0.5, 0.3], "test_rel_l2": [math.nan, 0.4, 0.2]}
    plain = _plain(h)
    assert plain["test_rel_l2"] == [None, 0.4, 0.2]
    json.dumps(plain, allow_nan=False)
    fig = curves_figure({"fno": plain, "mgno": plain}, "h1")
    lines = fig.axes[0].get_lines()
    assert len(lines) == 4
    assert list(lines[1].get_xdata()) == [2, 3]            # test points only where evaluated
    import matplotlib.pyplot as plt

    plt.close(fig)


@pytest.mark.slow
def test_compare_records_curves_and_resumes(tmp_path, capsys):
    from pdekit.data import generate

    data = generate("darcy", tmp_path / "d.h5", n=12, resolution=8, seed=0, progress=False)
    out = tmp_path / "cmp"
    args = ["compare", "--data", str(data), "--models", "fno", "--budget", "2",
            "--batch-size", "4", "--n-test", "4", "--width", "4", "--modes", "2",
            "--loss", "h1", "--schedule", "onecycle", "--weight-decay", "1e-4",
            "--eval-every", "1", "--out", str(out), "--quiet", "--json"]
    assert main(args) == 0
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    h = res["history"]["fno"]
    assert h["epoch"] == [1, 2] and all(v is not None for v in h["test_rel_l2"])
    assert h["test_rel_l2"][-1] == pytest.approx(res["models"]["fno"]["test_rel_l2"], rel=1e-5)
    assert res["recipe"]["loss"] == "h1" and (out / "curves.png").stat().st_size > 10_000
    assert main(args) == 2                                  # the checkpoint is not overwritten
    assert "exists" in capsys.readouterr().err
    assert main(args + ["--resume"]) == 0                   # finished: read back, not retrained
    again = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert again["models"]["fno"]["test_rel_l2"] == res["models"]["fno"]["test_rel_l2"]
    assert again["history"]["fno"] == h


@pytest.mark.slow
def test_mgno_vs_fno_benchmark_script(tmp_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import mgno_vs_fno

    s = mgno_vs_fno.main(["--out", str(tmp_path), "--epochs", "1", "--n-train", "20",
                          "--n-test", "4", "--resolution", "8", "--eval-every", "1"])
    assert {(r["recipe"], r["model"]) for r in s["runs"]} == set(mgno_vs_fno.MATRIX)
    assert {(q["mgno_recipe"], q["fno_recipe"]) for q in s["ratios"]} == {
        (a, b) for a in mgno_vs_fno.RECIPES for b in mgno_vs_fno.RECIPES}
    assert all(q["l2_ratio"] > 0 for q in s["ratios"])
    assert (tmp_path / "mgno_vs_fno.png").stat().st_size > 10_000
    assert (tmp_path / "mgno_vs_fno_sample.png").stat().st_size > 10_000


def test_mgno_vs_fno_budget_table_and_figure(tmp_path):
    """The ratio-against-budget table keeps only finished same-recipe (mgno_code) ratios, one
    row per budget with every seed, the mean, range and sample standard deviation."""
    import statistics
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import matplotlib.pyplot as plt
    import mgno_vs_fno

    def q(epochs, seed, ratio, recipe="mgno_code", finished=True):
        return {"seed": seed, "mgno_recipe": "mgno_code", "fno_recipe": recipe,
                "epochs": epochs, "finished": finished, "l2_ratio": ratio,
                "ratio_vs_epoch": [(1, 0.8), (epochs, ratio)], "at_epoch": epochs}

    def run(epochs, seed, model, err):
        return {"recipe": "mgno_code", "model": model, "seed": seed, "epochs": epochs,
                "finished": True, "curve": [(1, 0.1), (epochs, err)]}

    s32 = {"runs": [run(32, s, m, e) for s in (0, 1) for m, e in (("mgno", .01), ("fno", .03))],
           "ratios": [q(32, 1, 0.30), q(32, 0, 0.36), q(32, 0, 0.2, recipe="fno_paper"),
                      q(32, 2, 0.1, finished=False)]}
    s16 = {"runs": [run(16, 0, "mgno", .02), run(16, 0, "fno", .05)], "ratios": [q(16, 0, .4)]}
    table = mgno_vs_fno.budget_table([s32, s16])
    assert [r["epochs"] for r in table] == [16, 32]
    assert table[0] == {"epochs": 16, "per_seed": {0: 0.4}, "mean": 0.4, "min": 0.4,
                        "max": 0.4, "std": None}
    assert table[1]["per_seed"] == {0: 0.36, 1: 0.30}
    assert table[1]["mean"] == pytest.approx(0.33)
    assert table[1]["std"] == pytest.approx(statistics.stdev([0.36, 0.30]))
    fig = mgno_vs_fno.budget_figure([s16, s32])
    assert len(fig.axes[0].get_lines()) == 6 and len(fig.axes[1].get_lines()) >= 4
    assert fig.axes[2].get_xscale() == "linear"  # 16 and 32 epochs: a linear budget axis
    plt.close(fig)
    s64 = {"runs": [run(64, 0, "mgno", .01)], "ratios": [q(64, 0, .5)]}
    fig = mgno_vs_fno.budget_figure([s16, s32, s64])  # 16 ... 64 epochs span 4x: log axes
    assert [ax.get_xscale() for ax in fig.axes[:3]] == ["log"] * 3
    plt.close(fig)
    with pytest.raises(SystemExit, match="no such folder"):
        mgno_vs_fno.main(["--out", str(tmp_path), "--budgets", str(tmp_path / "nope")])
