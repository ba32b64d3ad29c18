"""MgNO's test error relative to FNO's on one Darcy data set and budget (issue #13's target).

The MgNO paper (He, Liu, Xu, ICLR 2024) reports MgNO 0.34e-2 test relative L2 on rough Darcy
against FNO's ~1e-2 class (ratio ~0.34) after 500 epochs. This script trains both models with
``pdekit compare`` under the same data, epochs and seed, for two recipes, and reports the ratio:

- ``mgno_code``: the reference MgNO code's Darcy recipe (xlliu2017/MgNO ``darcy.py``): relative
  H1 training loss, Adam with weight decay 1e-4 (an L2 penalty on the gradient), one-cycle
  schedule (lr/2 -> 5e-4 over 20 %% of the steps -> lr/200, cosine), batch 8, per-channel
  (scalar) normalisers;
- ``fno_paper``: the FNO paper's Darcy recipe (Li et al. 2021): relative L2 loss, Adam 1e-3 with
  weight decay 1e-4, the rate halved every budget/5 epochs (100 of 500), batch 20, pointwise
  normalisers, and the FNO code's zero domain padding for non-periodic Darcy (9 points on 85^2;
  here 1/8 of the grid: 4 points on 32^2).

Both models run under both recipes, and every MgNO run is divided by every FNO run of the same
seed and budget (same recipe, and the other one, so that the ratio can be taken against FNO's
better recipe). Data: ``pdekit datagen darcy`` with the rough GRF
(``tau=5``, alpha 2, coefficient 12/3 thresholded, ``f = 1``, ``u = 0`` on the boundary; the
reference code's rough set is ``darcy_alpha2_tau5``), made if missing.

Each run is its own ``pdekit compare`` folder ``OUT/<recipe>_s<seed>_<model>/``: a finished run
(``compare.json``) is reused, an interrupted one resumes from its checkpoints. ``--only`` picks
runs, so several processes can share the matrix. At the end (or with ``--report``) it writes
``OUT/mgno_vs_fno.json`` (final errors, ratios per seed and recipe, ratio against epochs) and
``OUT/mgno_vs_fno.png`` (test relative L2 against epochs of every run, and the ratio) and
``OUT/mgno_vs_fno_sample.png`` (every seed-0 model on test sample 0).

    python benchmarks/mgno_vs_fno.py --out OUT [--epochs 50] [--seeds 0,1] [--n-train 1000]
        [--n-test 128] [--resolution 32] [--only mgno_code/mgno/0,...] [--report]
    python benchmarks/mgno_vs_fno.py --out OUT --budgets OUT16,OUT32,...   # ratio vs budget

Errors do not depend on machine load, so this is not run under the benchmark lock (nice 19);
seconds per epoch in the output are then indicative only.
"""

import json
import re
import sys
from pathlib import Path

PAPER_RATIO = 0.34  # MgNO / FNO test relative L2 on rough Darcy after 500 epochs (the paper)
RECIPES = {
    "mgno_code": ["--loss", "h1", "--schedule", "onecycle", "--lr", "5e-4", "--weight-decay",
                  "1e-4", "--batch-size", "8", "--normalizer", "channel"],
    "fno_paper": ["--loss", "l2", "--schedule", "step", "--lr", "1e-3", "--weight-decay", "1e-4",
                  "--batch-size", "20", "--normalizer", "pointwise", "--padding", "0.125"],
}
MATRIX = [("mgno_code", "mgno"), ("mgno_code", "fno"), ("fno_paper", "fno"), ("fno_paper", "mgno")]


def recipe_flags(recipe: str, model: str) -> list[str]:
    """The `pdekit compare` flags of `recipe` for `model` (FNO's domain padding only for FNO)."""
    flags = list(RECIPES[recipe])
    if model != "fno" and "--padding" in flags:
        i = flags.index("--padding")
        del flags[i:i + 2]
    return flags


def run_dir(out: Path, recipe: str, model: str, seed: int) -> Path:
    return out / f"{recipe}_s{seed}_{model}"


def ensure_data(path: Path, n: int, resolution: int) -> Path:
    """The rough Darcy file (made with pdekit.data.generate if missing; resumable)."""
    from pdekit.data import generate

    return generate("darcy", path, n=n, resolution=resolution, seed=1, tau=5.0, progress=True)


def train_one(data: Path, out: Path, recipe: str, model: str, seed: int, args) -> dict:
    """One ``pdekit compare`` run (reused when finished, resumed when interrupted)."""
    from pdekit.cli import main

    d = run_dir(out, recipe, model, seed)
    if (d / "compare.json").exists():
        return json.loads((d / "compare.json").read_text())
    argv = ["compare", "--data", str(data), "--models", model, "--budget", str(args.epochs),
            "--n-train", str(args.n_train), "--n-test", str(args.n_test), "--seed", str(seed),
            "--eval-every", str(args.eval_every), "--out", str(d), *recipe_flags(recipe, model)]
    if (d / "checkpoints" / model / "checkpoint.json").exists():
        argv.append("--resume")
    if main(argv) != 0:
        raise SystemExit(f"pdekit compare failed for {d.name}")
    return json.loads((d / "compare.json").read_text())


def summarise(out: Path) -> dict:
    """Errors and MgNO/FNO ratios of every run under `out`. A finished run (``compare.json``)
    gives its final test errors; an unfinished one (``finished: False``) its learning curve so
    far (from the checkpoint's ``metrics.json``), and its ratio is taken at the last epoch both
    models reached (mid-schedule, so not the final figure)."""
    runs = {}
    for d in sorted(p for p in out.glob("*_s*_*") if p.is_dir()):
        m = re.fullmatch(r"(.+)_s(\d+)_(\w+)", d.name)
        if m is None:
            continue
        recipe, seed, model = m.groups()
        if (d / "compare.json").exists():
            res = json.loads((d / "compare.json").read_text())
            h, row = res["history"][model], res["models"][model]
            info = {"finished": True, "test_rel_l2": row["test_rel_l2"],
                    "test_rel_h1": row["test_rel_h1"], "n_params": row["n_params"],
                    "s_per_epoch": row["s_per_epoch"], "epochs": res["budget_epochs"],
                    "n_train": res["n_train"], "n_test": res["n_test"]}
        elif (d / "checkpoints" / model / "metrics.json").exists():
            h = json.loads((d / "checkpoints" / model / "metrics.json").read_text())
            h["test_rel_l2"] = [None if v != v else v for v in h["test_rel_l2"]]  # NaN
            header = json.loads((d / "checkpoints" / model / "checkpoint.json").read_text())
            info = {"finished": False, "epochs": header["state"]["epochs"],
                    "epochs_done": h["epoch"][-1] if h["epoch"] else 0}
        else:
            continue
        info["curve"] = [(e, v) for e, v in zip(h["epoch"], h["test_rel_l2"]) if v is not None]
        runs[(recipe, model, int(seed))] = info
    ratios = []
    for (recipe, model, seed), r in runs.items():
        if model != "mgno":
            continue
        for fno_recipe in RECIPES:
            f = runs.get((fno_recipe, "fno", seed))
            if f is None or f["epochs"] != r["epochs"]:
                continue
            fc = dict(f["curve"])
            vs = [(e, v / fc[e]) for e, v in r["curve"] if e in fc]
            q = {"seed": seed, "mgno_recipe": recipe, "fno_recipe": fno_recipe,
                 "epochs": r["epochs"], "finished": r["finished"] and f["finished"],
                 "ratio_vs_epoch": vs}
            if q["finished"]:
                q["l2_ratio"] = r["test_rel_l2"] / f["test_rel_l2"]
                q["h1_ratio"] = r["test_rel_h1"] / f["test_rel_h1"]
            elif vs:
                q["at_epoch"], q["l2_ratio"] = vs[-1]
            else:
                continue
            ratios.append(q)
    return {"runs": [{"recipe": k[0], "model": k[1], "seed": k[2], **v}
                     for k, v in runs.items()], "ratios": ratios, "paper_ratio": PAPER_RATIO}


def figure(summary: dict):
    """Test relative L2 against epochs of every run (left) and MgNO/FNO (right), as a Figure."""
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    style = {"mgno": "-", "fno": "--"}
    colours = {}
    for r in summary["runs"]:
        key = (r["recipe"], r["model"])
        c = colours.setdefault(key, f"C{len(colours)}")
        e, v = zip(*r["curve"]) if r["curve"] else ((), ())
        a.semilogy(e, v, style.get(r["model"], ":"), color=c, lw=1.2,
                   label=(f"{r['model']} ({r['recipe']}, seed {r['seed']}): {v[-1]:.2e}"
                          + ("" if r["finished"] else " (unfinished)")) if v else None)
    a.set_xlabel("epoch")
    a.set_ylabel("test relative L2")
    a.grid(True, which="both", alpha=0.3)
    a.legend(fontsize=7)
    for q in summary["ratios"]:  # coloured as the FNO run it divides by; line: MgNO's recipe
        if q["ratio_vs_epoch"]:
            e, v = zip(*q["ratio_vs_epoch"])
            ls = "-" if q["mgno_recipe"] == "mgno_code" else ":"  # marker: seed
            b.plot(e, v, ls, marker="os^v"[q["seed"] % 4], ms=3,
                   color=colours.get((q["fno_recipe"], "fno"), "k"), lw=1.2,
                   label=f"MgNO ({q['mgno_recipe']}) / FNO ({q['fno_recipe']}), seed "
                   f"{q['seed']}: {q['l2_ratio']:.2f}" + ("" if q["finished"] else " so far"))
    paper = summary["paper_ratio"]
    b.axhline(paper, color="k", ls=":", lw=1, label=f"paper (500 epochs): {paper}")
    b.set_xlabel("epoch")
    b.set_ylabel("MgNO / FNO test relative L2")
    b.set_ylim(0, None)
    b.grid(True, alpha=0.3)
    b.legend(fontsize=7)
    n = next((r for r in summary["runs"] if r["finished"]), None)
    size = f"{n['n_train']} train / {n['n_test']} test samples, " if n else ""
    epochs = sorted({r["epochs"] for r in summary["runs"]})
    fig.suptitle(f"Rough Darcy: {size}{'/'.join(map(str, epochs))} epochs; the same data, "
                 "budget and seed for both models", fontsize=10)
    return fig


def budget_table(summaries: list[dict], recipe: str = "mgno_code") -> list[dict]:
    """The final MgNO/FNO test relative L2 ratio per budget, both models under `recipe`, from
    the `summarise` dicts of several budgets' folders: one row per budget (epochs) with the
    ratio of every finished seed, their mean, range and sample standard deviation (``None``
    for one seed), sorted by budget. Unfinished runs are left out."""
    import statistics

    rows: dict[int, dict[int, float]] = {}
    for s in summaries:
        for q in s["ratios"]:
            if q["finished"] and q["mgno_recipe"] == recipe and q["fno_recipe"] == recipe:
                rows.setdefault(q["epochs"], {})[q["seed"]] = q["l2_ratio"]
    table = []
    for epochs in sorted(rows):
        r = dict(sorted(rows[epochs].items()))
        v = list(r.values())
        table.append({"epochs": epochs, "per_seed": r, "mean": statistics.fmean(v),
                      "min": min(v), "max": max(v),
                      "std": statistics.stdev(v) if len(v) > 1 else None})
    return table


def budget_figure(summaries: list[dict], recipe: str = "mgno_code",
                  paper: float = PAPER_RATIO):
    """Learning curves of both models under `recipe` for every budget and seed (left: test
    relative L2 against epoch, colour = budget, solid MgNO, dashed FNO), their ratio against
    epoch (middle) and the final ratio against the budget (right: every seed, the mean and
    the paper's value), as a Figure."""
    import matplotlib.pyplot as plt

    fig, (a, b, c) = plt.subplots(1, 3, figsize=(15, 4.4), constrained_layout=True,
                                  gridspec_kw={"width_ratios": [1.2, 1.2, 0.8]})
    budgets = sorted({r["epochs"] for s in summaries for r in s["runs"]
                      if r["recipe"] == recipe})
    colour = {e: f"C{i}" for i, e in enumerate(budgets)}
    marker = "os^vD"
    for s in summaries:
        for r in s["runs"]:
            if r["recipe"] != recipe or not r["curve"]:
                continue
            e, v = zip(*r["curve"])
            tag = "" if r["finished"] else " (unfinished)"
            a.semilogy(e, v, "-" if r["model"] == "mgno" else "--", color=colour[r["epochs"]],
                       lw=1.1, alpha=1.0 if r["seed"] == 0 else 0.6,
                       label=f"{r['model']}, {r['epochs']} ep., seed {r['seed']}: "
                       f"{v[-1]:.2e}{tag}")
        for q in s["ratios"]:
            if (q["mgno_recipe"], q["fno_recipe"]) != (recipe, recipe) or not q["ratio_vs_epoch"]:
                continue
            e, v = zip(*q["ratio_vs_epoch"])
            b.plot(e, v, "-", marker=marker[q["seed"] % 5], ms=2.5, lw=1.0,
                   color=colour[q["epochs"]],
                   label=f"{q['epochs']} epochs, seed {q['seed']}: {q['l2_ratio']:.3f}"
                   + ("" if q["finished"] else f" at epoch {q.get('at_epoch')}"))
    log_x = len(budgets) > 1 and max(budgets) >= 4 * min(budgets)  # 16 ... 500 epochs
    for ax in (a, b, c) if log_x else ():
        ax.set_xscale("log")
    a.set_xlabel("epoch")
    a.set_ylabel("test relative L2")
    a.grid(True, which="both", alpha=0.3)
    a.legend(fontsize=6, ncol=2)
    for ax in (b, c):
        ax.axhline(paper, color="k", ls=":", lw=1, label=f"paper (500 epochs): {paper}")
        ax.grid(True, alpha=0.3)
    b.set_xlabel("epoch")
    b.set_ylabel("MgNO / FNO test relative L2")
    b.set_ylim(0, None)
    b.legend(fontsize=6)
    table = budget_table(summaries, recipe)
    for row in table:
        for seed, v in row["per_seed"].items():
            c.plot(row["epochs"], v, marker[seed % 5], color=colour[row["epochs"]], ms=5,
                   mfc="none")
    if table:
        c.errorbar([r["epochs"] for r in table], [r["mean"] for r in table],
                   yerr=[[r["mean"] - r["min"] for r in table],
                         [r["max"] - r["mean"] for r in table]],
                   fmt="k-s", ms=4, lw=1, capsize=3, label="mean (bars: seed range)")
    c.set_xlabel("budget (epochs)")
    c.set_ylabel("final MgNO / FNO test relative L2")
    c.set_xticks(budgets, [str(e) for e in budgets])
    c.minorticks_off()
    c.legend(fontsize=7)
    fig.suptitle(f"Rough Darcy, both models under the {recipe} recipe: learning curves, ratio "
                 "during training and at the end of each budget (open markers: seeds)",
                 fontsize=10)
    return fig


def sample_figure(out: Path, seed: int = 0):
    """Input, truth, each seed-`seed` model's prediction and |error| on test sample 0 (the
    ``pdekit compare`` figure of the saved models), or None when no run has finished."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from pdekit.cli._compare import compare_figure
    from pdekit.data import Dataset
    from pdekit.operators import load_model

    preds, xt, yt, res = {}, None, None, None
    for recipe, model in MATRIX:
        d = run_dir(out, recipe, model, seed)
        if not (d / "compare.json").exists():
            continue
        res = json.loads((d / "compare.json").read_text())
        if xt is None:
            _, test = Dataset(res["data"]).split(res["n_train"], res["n_test"])
            xt, yt = test.arrays()
        m, _ = load_model(d / model)
        preds[f"{model} ({recipe})"] = np.asarray(jax.vmap(m)(jnp.asarray(xt[:1])))[0]
    if not preds:
        return None
    fig = compare_figure(xt[0], yt[0], preds)
    fig.suptitle(f"Rough Darcy {xt.shape[-1]}²: {res['n_train']} training samples, "
                 f"{res['budget_epochs']} epochs (test sample 0; relative L2 in titles)")
    return fig


def report_budgets(out: Path, dirs: list[Path]) -> list[dict]:
    """Write ``out/budgets.json`` (`budget_table` and every run's curve) and
    ``out/budgets.png`` (`budget_figure`) from the run folders `dirs`; print the table."""
    import matplotlib.pyplot as plt

    missing = [str(d) for d in dirs if not d.is_dir()]
    if missing:
        raise SystemExit(f"--budgets: no such folder {', '.join(missing)}")
    summaries = [summarise(d) for d in dirs]
    table = budget_table(summaries)
    out.mkdir(parents=True, exist_ok=True)
    (out / "budgets.json").write_text(json.dumps(
        {"table": table, "summaries": summaries, "paper_ratio": PAPER_RATIO}, indent=1) + "\n")
    fig = budget_figure(summaries)
    fig.savefig(out / "budgets.png", dpi=110)
    plt.close(fig)
    print(f"{'epochs':>6s}  per seed (MgNO / FNO test rel L2, mgno_code recipe)  mean  range")
    for r in table:
        seeds = ", ".join(f"s{k} {v:.3f}" for k, v in r["per_seed"].items())
        print(f"{r['epochs']:6d}  {seeds:44s}  {r['mean']:.3f}  {r['min']:.3f}-{r['max']:.3f}")
    print(f"wrote {out / 'budgets.json'}, {out / 'budgets.png'}")
    return table


def main(argv=None):
    import argparse

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True, help="folder of the runs and the report")
    p.add_argument("--data", default=None, help="Darcy file (default OUT/darcy_rough.h5, made "
                   "if missing)")
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--seeds", default="0", help="comma-separated seeds")
    p.add_argument("--n-train", type=int, default=1000)
    p.add_argument("--n-test", type=int, default=128)
    p.add_argument("--resolution", type=int, default=32)
    p.add_argument("--eval-every", type=int, default=2)
    p.add_argument("--only", default=None, help="comma-separated RECIPE/MODEL/SEED runs")
    p.add_argument("--report", action="store_true", help="only summarise finished runs")
    p.add_argument("--budgets", default=None, help="comma-separated OUT folders of runs at "
                   "different --epochs: only write OUT/budgets.json and OUT/budgets.png (the "
                   "mgno_code ratio against the budget, every seed, mean and spread)")
    args = p.parse_args(argv)
    if args.budgets is not None:
        return report_budgets(Path(args.out), [Path(d) for d in args.budgets.split(",")])
    if args.epochs < 1 or args.n_train < 1 or args.n_test < 1 or args.eval_every < 1:
        raise SystemExit("--epochs, --n-train, --n-test and --eval-every must be >= 1")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if not args.report:
        data = Path(args.data) if args.data else out / "darcy_rough.h5"
        if not data.exists():
            ensure_data(data, args.n_train + args.n_test, args.resolution)
        seeds = [int(s) for s in args.seeds.split(",")]
        todo = [(r, m, s) for s in seeds for r, m in MATRIX]
        if args.only:
            want = {tuple(t.split("/")) for t in args.only.split(",")}
            todo = [t for t in todo if (t[0], t[1], str(t[2])) in want]
            if not todo:
                raise SystemExit(f"--only {args.only!r} matches no run of {MATRIX} x {seeds}")
        for recipe, model, seed in todo:
            train_one(data, out, recipe, model, seed, args)
    summary = summarise(out)
    (out / "mgno_vs_fno.json").write_text(json.dumps(summary, indent=1) + "\n")
    fig = figure(summary)
    fig.savefig(out / "mgno_vs_fno.png", dpi=110)
    fig = sample_figure(out)
    if fig is not None:
        fig.savefig(out / "mgno_vs_fno_sample.png", dpi=100)
    print(f"{'recipe':10s} {'model':5s} {'seed':>4s} {'epochs':>6s} {'rel L2':>9s} "
          f"{'rel H1':>9s} {'params':>9s}")
    for r in summary["runs"]:
        if r["finished"]:
            print(f"{r['recipe']:10s} {r['model']:5s} {r['seed']:4d} {r['epochs']:6d} "
                  f"{r['test_rel_l2']:9.3e} {r['test_rel_h1']:9.3e} {r['n_params']:9d}")
        else:
            print(f"{r['recipe']:10s} {r['model']:5s} {r['seed']:4d} {r['epochs']:6d} "
                  f"unfinished: epoch {r['epochs_done']}, test rel L2 "
                  f"{r['curve'][-1][1] if r['curve'] else float('nan'):.3e}")
    for q in summary["ratios"]:
        what = (f"L2 {q['l2_ratio']:.3f}, H1 {q['h1_ratio']:.3f}" if q["finished"] else
                f"L2 {q['l2_ratio']:.3f} at epoch {q['at_epoch']} (unfinished)")
        print(f"MgNO ({q['mgno_recipe']}) / FNO ({q['fno_recipe']}), seed {q['seed']}: "
              f"{what} (paper {PAPER_RATIO})")
    print(f"wrote {out / 'mgno_vs_fno.json'}, {out / 'mgno_vs_fno.png'}, "
          f"{out / 'mgno_vs_fno_sample.png'}")
    return summary


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
