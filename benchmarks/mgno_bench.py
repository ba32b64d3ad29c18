"""MgNO vs the reference PyTorch code (issue #13): seconds per training epoch on the timing
task (Darcy-sized 64x64 inputs, 256 samples, batch 16, Adam, relative-L2 loss), both sides
with the reference Darcy configuration (4 layers, 24 channels, 6 levels: 572,661 parameters),
threads pinned alike (``_harness.pin_threads``: 1 thread on core 0 by default).

    flock /tmp/pdekit-bench.lock python benchmarks/mgno_bench.py \
        --ref-models /path/to/MgNO/models.py --ref-python benchmarks/.venv-operators/bin/python

Writes JSON (``--out``); prints a table with the time ratio pdekit / reference.
"""

import argparse
import time

from _harness import machine_info, pin_threads, run_peer, threads_summary, versions, write_json


def pdekit_epoch_time(n, resolution, batch_size, epochs, layout):
    import equinox as eqx
    import jax
    import jax.numpy as jnp
    import optax

    from pdekit.operators import MgNO
    from pdekit.operators._mgno import count_params

    model = MgNO.darcy_reference(key=jax.random.key(0))
    kx, ky = jax.random.split(jax.random.key(1))
    x = jax.random.normal(kx, (n, 1, resolution, resolution))
    y = jax.random.normal(ky, (n, 1, resolution, resolution))
    opt = optax.adam(5e-4)
    state = opt.init(eqx.filter(model, eqx.is_inexact_array))

    def loss(m, xb, yb):
        out = jax.vmap(m)(xb)
        num = jnp.linalg.norm((out - yb).reshape(len(xb), -1), axis=1)
        return jnp.mean(num / jnp.linalg.norm(yb.reshape(len(xb), -1), axis=1))

    @eqx.filter_jit(donate="all-except-first")
    def step(m, s, xb, yb):
        g = eqx.filter_grad(loss)(m, xb, yb)
        upd, s = opt.update(g, s, eqx.filter(m, eqx.is_inexact_array))
        return eqx.apply_updates(m, upd), s

    nb = n // batch_size

    def epoch(m, s, e):
        perm = jax.random.permutation(jax.random.fold_in(jax.random.key(2), e), n)
        for i in range(nb):
            idx = perm[i * batch_size:(i + 1) * batch_size]
            m, s = step(m, s, x[idx], y[idx])
        jax.block_until_ready(m)
        return m, s

    times = []
    for e in range(epochs):
        c0, t0 = time.process_time(), time.perf_counter()
        model, state = epoch(model, state, e)
        times.append((time.perf_counter() - t0, time.process_time() - c0))
    fwd = eqx.filter_jit(lambda m, x: jax.vmap(m)(x))  # weights as arguments, not constants
    xb = x[:batch_size]
    fwd(model, xb).block_until_ready()
    t0 = time.perf_counter()
    fwd(model, xb).block_until_ready()
    infer = (time.perf_counter() - t0) / batch_size
    walls = [t for t, _ in times[1:]] or [times[0][0]]
    return {"n_params": count_params(model), "s_per_epoch": min(walls),
            "first_epoch": times[0][0], "inference_s_per_sample": infer,
            "cpu_per_wall": sum(c for _, c in times) / sum(t for t, _ in times)}


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--ref-models", default=None, help="reference MgNO models.py")
    p.add_argument("--ref-python", default="benchmarks/.venv-operators/bin/python")
    p.add_argument("--n", type=int, default=256)
    p.add_argument("--resolution", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    p.add_argument("--skip-peer", action="store_true")
    p.add_argument("--out", default="-")
    a = p.parse_args(argv)
    if a.quick:
        a.n, a.resolution, a.batch_size, a.epochs = 8, 32, 4, 2
    pin_threads()
    ours = pdekit_epoch_time(a.n, a.resolution, a.batch_size, a.epochs, "NCHW")
    sizes = ["--n", str(a.n), "--resolution", str(a.resolution), "--batch-size",
             str(a.batch_size), "--epochs", str(a.epochs)]
    if a.skip_peer or a.ref_models is None:
        ref = {"skipped": "no --ref-models given" if not a.skip_peer else "--skip-peer"}
    else:
        ref = run_peer(a.ref_python, "mgno_ref.py", ["--models", a.ref_models] + sizes,
                       label="MgNO reference (PyTorch)")
    result = {"task": vars(a), "pdekit": ours, "reference": ref,
              "threads": threads_summary(), "machine": machine_info(),
              "versions": versions("jax", "jaxlib", "equinox", "optax")}
    if "s_per_epoch" in ref:
        result["ratio_s_per_epoch"] = ours["s_per_epoch"] / ref["s_per_epoch"]
        result["ratio_inference"] = ours["inference_s_per_sample"] / ref["inference_s_per_sample"]
    print(f"{'':12s} {'params':>8s} {'s/epoch':>8s} {'1st epoch':>9s} {'infer ms':>8s} cpu/wall")
    for name, r in (("pdekit MgNO", ours), ("reference", ref)):
        if "s_per_epoch" in r:
            print(f"{name:12s} {r['n_params']:8d} {r['s_per_epoch']:8.2f} {r['first_epoch']:9.2f}"
                  f" {1e3 * r['inference_s_per_sample']:8.2f} {r['cpu_per_wall']:.2f}")
    if "ratio_s_per_epoch" in result:
        print(f"time per epoch pdekit / reference: {result['ratio_s_per_epoch']:.2f}")
    write_json(result, a.out)


if __name__ == "__main__":
    main()
