"""Benchmark data for the operator benchmark, made by ``pdekit datagen`` (issue #11: "same data,
from `pdekit datagen`").

:func:`datagen` runs the CLI in a subprocess (``pdekit datagen NAME --n N --resolution S --seed
SEED --out FILE --quiet``: float64 compute, float32 storage, as a user would run it) and keeps the
HDF5 file under ``benchmarks/out/``; the CLI resumes or reuses a file made with the same
parameters and refuses one made with others, so a cached file is never silently replaced.
:func:`exchange_file` turns it into the ``.npz`` that both contenders read (the neuraloperator
venv has no pdekit): train/test arrays (first ``n_train`` / last ``n_test`` samples, as
``Dataset.split``), the channel statistics of the training split and the per-epoch sample orders
of ``split.batches`` (``permutation(fold_in(key(seed), epoch))``).

* ``darcy``: ``-div(a grad u) = 1`` on the unit square, ``u = 0`` on the boundary, ``a = 12 / 3``
  thresholded from a GRF (Li et al. 2021), P1 FEM + GMG-CG, sampled on the ``s x s`` cell-centre
  grid (see ``pdekit.data`` / docs/data.md).
* ``burgers``: ``u_t + u u_x = 0.1 u_xx`` on the periodic interval, ``u0 ~ N(0, 625 (-Lap +
  25)^-2)`` -> ``u(1)``, ETDRK4 with 2/3 dealiasing.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def datagen(name: str, n: int, resolution: int, *, seed: int, path: Path) -> Path:
    """Run ``pdekit datagen`` into `path` (reused as is when already complete)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-c", "import sys; from pdekit.cli import main; main(sys.argv[1:])",
           "datagen", name, "--n", str(n), "--resolution", str(resolution), "--seed", str(seed),
           "--out", str(path), "--quiet"]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    subprocess.run(cmd, check=True, env=env)
    return path


def exchange_file(h5: Path, out: Path, *, n_train: int, n_test: int, epochs: int, seed: int,
                  meta: dict) -> Path:
    """Write the ``.npz`` both contenders read from the HDF5 dataset `h5`."""
    import jax

    from pdekit.data import Dataset

    ds = Dataset(h5)
    if len(ds) < n_train + n_test:
        raise ValueError(f"{h5} holds {len(ds)} samples, need {n_train + n_test}.")
    train, test = ds.split(n_train, n_test)
    x_tr, y_tr = train.arrays()
    x_te, y_te = test.arrays()
    axes = (0,) + tuple(range(2, x_tr.ndim))
    stats = {"x_mean": x_tr.mean(axis=axes, keepdims=True)[0],
             "x_std": x_tr.std(axis=axes, keepdims=True)[0],
             "y_mean": y_tr.mean(axis=axes, keepdims=True)[0],
             "y_std": y_tr.std(axis=axes, keepdims=True)[0]}
    # the order pdekit.data's split.batches uses: permutation(fold_in(key(seed), epoch))
    order = np.stack([np.asarray(jax.random.permutation(
        jax.random.fold_in(jax.random.key(seed), e), n_train)) for e in range(epochs)])
    np.savez(out, x_train=x_tr, y_train=y_tr, x_test=x_te, y_test=y_te, order=order,
             meta=json.dumps(meta), **{k: v.astype(np.float32) for k, v in stats.items()})
    return out
