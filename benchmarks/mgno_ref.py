"""Peer runner: the reference MgNO PyTorch code (xlliu2017/MgNO, ``models.MgNO_DC``) timed on
the same task as ``mgno_bench.py`` (run in the neuraloperator venv, which has torch).

The reference ``models.py`` is not vendored: pass ``--models PATH`` (a checkout of
https://github.com/xlliu2017/MgNO). Its imports ``torchinfo`` and ``utilities3`` are only used
by its ``__main__`` block / parameter counting and are stubbed here.
"""

import argparse
import sys
import time
import types

from _harness import machine_info, pin_threads, versions, write_json


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--models", required=True, help="path to the reference models.py")
    p.add_argument("--n", type=int, default=256)
    p.add_argument("--resolution", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--out", default="-")
    a = p.parse_args(argv)
    threads = pin_threads()
    import torch

    torch.set_num_threads(threads)
    sys.modules["torchinfo"] = types.SimpleNamespace(summary=None)
    sys.modules["utilities3"] = types.SimpleNamespace(count_params=None)
    ns: dict = {"__name__": "mgno_reference_models"}
    exec(compile(open(a.models).read(), a.models, "exec"), ns)  # noqa: S102 (peer code)
    torch.manual_seed(0)
    model = ns["MgNO_DC"](num_layer=4, num_channel_u=24, num_channel_f=1, num_classes=1,
                          num_iteration=[[1, 0]] * 5 + [[2, 0]])
    n_params = sum(q.numel() for q in model.parameters())
    g = torch.Generator().manual_seed(0)
    x = torch.randn(a.n, 1, a.resolution, a.resolution, generator=g)
    y = torch.randn(a.n, 1, a.resolution, a.resolution, generator=g)
    opt = torch.optim.Adam(model.parameters(), lr=5e-4)

    def epoch():
        perm = torch.randperm(a.n, generator=g)
        for i in range(a.n // a.batch_size):
            idx = perm[i * a.batch_size:(i + 1) * a.batch_size]
            opt.zero_grad()
            out = model(x[idx])
            diff = torch.linalg.vector_norm((out - y[idx]).flatten(1), dim=1)
            loss = (diff / torch.linalg.vector_norm(y[idx].flatten(1), dim=1)).mean()
            loss.backward()
            opt.step()

    times = []
    for _ in range(a.epochs):
        c0, t0 = time.process_time(), time.perf_counter()
        epoch()
        times.append((time.perf_counter() - t0, time.process_time() - c0))
    with torch.no_grad():
        xb = x[:a.batch_size]
        model(xb)
        t0 = time.perf_counter()
        model(xb)
        infer = (time.perf_counter() - t0) / a.batch_size
    walls = [t for t, _ in times[1:]] or [times[0][0]]
    cpus = [c for _, c in times[1:]] or [times[0][1]]
    write_json({"n_params": n_params, "s_per_epoch": min(walls), "cpu_s_per_epoch": min(cpus),
                "first_epoch": times[0][0], "inference_s_per_sample": infer,
                "cpu_per_wall": sum(c for _, c in times) / sum(t for t, _ in times),
                "versions": versions("torch"), "machine": machine_info()}, a.out)


if __name__ == "__main__":
    main()
