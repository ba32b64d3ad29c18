"""neuraloperator 2.0 runner for benchmarks/operators_bench.py (runs in benchmarks/.venv-operators).

Reads the spec JSON ``{"jobs": [...]}``; each job names a data file (written by
operators_bench.py: train/test arrays, training statistics, per-epoch sample orders) and a
model; trains with the same loss (mean per-sample relative L2 in physical units), optimiser
(Adam, constant learning rate), batch size, epochs and order as the pdekit side, and reports
seconds per epoch, the test relative L2 and the parameter count.
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness as H  # noqa: E402

H.pin_threads()

import numpy as np  # noqa: E402
import torch  # noqa: E402


def rel_l2(pred, y):
    b = y.shape[0]
    diff = torch.linalg.vector_norm((pred - y).reshape(b, -1), dim=1)
    return (diff / torch.linalg.vector_norm(y.reshape(b, -1), dim=1)).mean()


def run(job):
    from neuralop.models import FNO, TFNO

    torch.manual_seed(job["seed"])
    torch.set_num_threads(int(H.os.environ.get("PDEKIT_BENCH_THREADS", "1")))
    with np.load(job["data"]) as f:
        d = {k: f[k] for k in f.files}
    xm, xs, ym, ys = (torch.from_numpy(d[k]) for k in ("x_mean", "x_std", "y_mean", "y_std"))
    eps = 1e-6
    x_tr = (torch.from_numpy(d["x_train"]) - xm) / (xs + eps)
    y_tr = torch.from_numpy(d["y_train"])
    x_te = (torch.from_numpy(d["x_test"]) - xm) / (xs + eps)
    y_te = torch.from_numpy(d["y_test"])
    kw = dict(n_modes=tuple(job["modes"]), in_channels=x_tr.shape[1],
              out_channels=y_tr.shape[1], hidden_channels=job["width"], n_layers=job["layers"])
    if job["model"] == "tfno":
        model = TFNO(factorization="tucker", rank=job["rank"], **kw)
    else:
        model = FNO(**kw)
    n_params = sum(p.numel() * (2 if p.is_complex() else 1) for p in model.parameters())
    opt = torch.optim.Adam(model.parameters(), lr=job["lr"])
    order = d["order"]
    B = job["batch_size"]
    times, cpus, losses = [], [], []
    for epoch in range(job["epochs"]):
        model.train()
        t0, c0 = time.perf_counter(), time.process_time()
        total = 0.0
        perm = torch.from_numpy(order[epoch].astype(np.int64))
        for b in range(len(perm) // B):
            idx = perm[b * B:(b + 1) * B]
            opt.zero_grad(set_to_none=True)
            out = model(x_tr[idx]) * (ys + eps) + ym
            loss = rel_l2(out, y_tr[idx])
            loss.backward()
            opt.step()
            total += loss.item()
        times.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
        losses.append(total / (len(perm) // B))
    model.eval()
    with torch.no_grad():
        errs = []
        for i in range(0, len(x_te), 50):
            pred = model(x_te[i:i + 50]) * (ys + eps) + ym
            b = pred.shape[0]
            e = torch.linalg.vector_norm((pred - y_te[i:i + 50]).reshape(b, -1), dim=1)
            errs.append(e / torch.linalg.vector_norm(y_te[i:i + 50].reshape(b, -1), dim=1))
        test = float(torch.cat(errs).mean())
    steady = times[1:] if len(times) > 1 else times
    return {**{k: job[k] for k in ("case", "model")}, "contender": "neuraloperator",
            "n_params": int(n_params), "s_per_epoch": float(np.median(steady)),
            "cpu_s_per_epoch": float(np.median(cpus[1:] if len(cpus) > 1 else cpus)),
            "first_epoch_s": times[0], "epoch_times": times, "train_loss": losses,
            "test_rel_l2": test}


def main():
    args, spec = H.read_spec(__doc__.splitlines()[0])
    results = H.run_jobs(spec["jobs"], run)
    H.write_json({"results": results, "threads": H.threads_summary(),
                  "versions": H.versions("torch", "neuraloperator", "numpy")}, args.out)


if __name__ == "__main__":
    main()
