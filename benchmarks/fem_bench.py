"""FEM benchmark (issue #4): pdekit vs scikit-fem (+ scipy spsolve, pyamg CG) vs DOLFINx.

P1 Poisson -div(a grad u) = f on the unit square, u = 0 on the boundary, structured n x n mesh
('right' diagonal, 2 n^2 triangles, (n+1)^2 DOFs): n = 320 (~1e5 DOFs) and n = 1024 (~1e6 DOFs;
sizes divisible by a power of 2 so that the geometric multigrid applies),
f = 2 pi^2 sin(pi x) sin(pi y), so every contender's nodal error against sin(pi x) sin(pi y) is
printed as a correctness check (it is O(h^2) and must agree across contenders).

* assembly: the global stiffness matrix values on a fixed CSR pattern. pdekit:
  ``fem.assemble_stiffness(space)`` (jit; first call = trace + compile, reported as
  ``compile_s``); the mesh + ``FunctionSpace`` (pattern, scatter map, geometry) is set-up.
  scikit-fem: ``asm(laplace, basis)``. DOLFINx: ``assemble_matrix`` into the existing matrix.
* solve: pdekit ``linalg.CG(rtol, preconditioner=linalg.AMG.build(A))`` (AMG.build is host
  set-up, timed apart), ``linalg.CG(rtol, preconditioner=linalg.GMG(grid_shape))`` (no host
  set-up: its Galerkin hierarchy is built inside the timed solve) and ``linalg.Direct()`` (host
  SuperLU) on the Dirichlet-eliminated system; scikit-fem spsolve and pyamg (set-up + CG);
  DOLFINx PETSc CG+GAMG and LU. Iterative
  solvers stop at the same relative residual ``rtol = 1e-8``.
* Darcy: 256 coefficient fields, piecewise constant on an 8 x 8 block grid with values
  10^U(-1, 1) (contrast up to 100), f = 1, at n = 64: pdekit ``jax.vmap`` of
  ``Poisson.solve`` (assembly + solve per sample, AMG-preconditioned CG and Direct) and
  ``Poisson.solve_batch`` (AMG-CG over lax.map chunks of 4; GMG-CG, the geometric multigrid
  ``linalg.GMG`` for structured grids, one sample at a time) vs a scikit-fem loop (assembly
  + spsolve per sample).

* mesh -> solution (time to solution, issue #9): P1 Poisson at n = 1024 (1.05M DOFs) from
  nothing: mesh generation, function space, problem construction (boundary DOFs), assembly,
  preconditioner set-up and solve, each stage timed; pdekit with GMG-CG and AMG-CG (AMG.build
  is host set-up from the assembled matrix), DOLFINx with CG+GAMG. First-call compilation is
  reported apart: pdekit's = first call minus second call of the same solve; DOLFINx's = the
  FFCx form compilation (cached on disk after its first run).

Usage: ``python benchmarks/fem_bench.py [--quick] [--pdekit-only] [--darcy-only] [--e2e-only]
[--out FILE.json]`` (``--darcy-only``: only the Darcy batch, against the scikit-fem loop;
``--e2e-only``: only the mesh -> solution rows, against DOLFINx).
"""

from __future__ import annotations

import _harness as H

H.pin_threads()

import json  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import equinox as eqx  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from pdekit.solvers import fem, linalg  # noqa: E402

VENV_FEM = H.HERE / ".venv-fem" / "bin" / "python"
VENV_DOLFINX = H.HERE / ".venv-dolfinx" / "bin" / "python"
FULL = dict(sizes=(320, 1024), rtol=1e-8, repeat=5, darcy_n=64, darcy_batch=256, blocks=8,
            e2e_n=1024)
QUICK = dict(sizes=(16,), rtol=1e-8, repeat=2, darcy_n=8, darcy_batch=4, blocks=2, e2e_n=16)


def source(x):
    return 2 * jnp.pi**2 * jnp.sin(jnp.pi * x[0]) * jnp.sin(jnp.pi * x[1])


def exact(xy):
    return np.sin(np.pi * xy[:, 0]) * np.sin(np.pi * xy[:, 1])


def poisson(n, rtol, repeat, direct=True):
    (mesh, space), t_setup = H.first_call(
        lambda: (lambda m: (m, fem.FunctionSpace(m, fem.P1())))(fem.unit_square_mesh(n)))
    A, t_first = H.first_call(lambda: jax.block_until_ready(fem.assemble_stiffness(space)))
    t_asm = H.timeit(lambda: jax.block_until_ready(fem.assemble_stiffness(space)),
                     repeat=repeat, max_time=60)
    row = {"n": n, "dofs": space.num_dofs, "cells": mesh.num_cells, "setup_s": t_setup,
           "assembly": t_asm, "assembly_compile_s": t_first - t_asm["best"],
           "nnz": int(A.pattern.nnz)}
    err = lambda u: float(np.abs(np.asarray(u) - exact(space.dof_coords)).max())  # noqa: E731

    # AMG set-up on the host from the Dirichlet-eliminated matrix, then CG in JAX
    problem0 = fem.Poisson(space, method=linalg.Direct())
    A0, b = jax.block_until_ready(problem0.system(1.0, source))
    amg, t_amg = H.first_call(lambda: linalg.AMG.build(A0))
    cg = linalg.CG(rtol=rtol, preconditioner=amg)
    solve_cg = eqx.filter_jit(lambda A, b: linalg.solve_with_stats(A, b, cg))
    (u, stats), t_first = H.first_call(lambda: jax.block_until_ready(solve_cg(A0, b)))
    t = H.timeit(lambda: jax.block_until_ready(solve_cg(A0, b)), repeat=min(repeat, 3),
                 max_time=60)
    row.update(amg_setup_s=t_amg, amg_cg=t, amg_cg_compile_s=t_first - t["best"],
               amg_iters=int(stats["num_steps"]), amg_converged=bool(stats["converged"]),
               amg_err_max=err(u))
    try:  # geometric multigrid: the whole set-up runs inside the solve, per matrix
        gmg = linalg.CG(rtol=rtol, preconditioner=linalg.GMG(fem.grid_shape(space),
                                                             max_coarse=200))
    except ValueError as e:
        print(f"  (no GMG row at n={n}: {e})")
    else:
        solve_gmg = eqx.filter_jit(lambda A, b: linalg.solve_with_stats(A, b, gmg))
        (u, stats), t_first = H.first_call(lambda: jax.block_until_ready(solve_gmg(A0, b)))
        t = H.timeit(lambda: jax.block_until_ready(solve_gmg(A0, b)), repeat=min(repeat, 3),
                     max_time=60)
        row.update(gmg_cg=t, gmg_cg_compile_s=t_first - t["best"],
                   gmg_iters=int(stats["num_steps"]), gmg_converged=bool(stats["converged"]),
                   gmg_err_max=err(u))
    if direct:
        solve_lu = eqx.filter_jit(lambda A, b: linalg.solve(A, b, linalg.Direct()))
        sols = []
        u, t_first = H.first_call(lambda: jax.block_until_ready(solve_lu(A0, b)))
        t = H.timeit(lambda: sols.append(jax.block_until_ready(solve_lu(A0, b))),
                     repeat=min(repeat, 2), max_time=20)
        row.update(direct=t, direct_err_max=err(u))
    # the whole user-level call: system assembly + AMG-CG solve, jitted
    problem = fem.Poisson(space, method=cg)
    jax.block_until_ready(problem.solve(1.0, source))
    row["poisson_solve_total"] = H.timeit(
        lambda: jax.block_until_ready(problem.solve(1.0, source)), repeat=min(repeat, 3),
        max_time=60)
    return row


def mesh_to_solution(n, rtol, variants=("gmg", "amg")):
    """Time to solution from nothing (see the module docstring), GMG-CG and AMG-CG rows."""
    from time import perf_counter, process_time

    jax.block_until_ready(jnp.zeros(1))  # backend start-up is not part of the solve
    out = {"n": n}
    for name in variants:
        t = {}
        c0 = process_time()  # process CPU seconds of the counted stages (compile subtracted)
        t0 = perf_counter()
        mesh = fem.unit_square_mesh(n)
        t["mesh_s"] = perf_counter() - t0
        t0 = perf_counter()
        space = fem.FunctionSpace(mesh, fem.P1())
        t["space_s"] = perf_counter() - t0
        if name == "gmg":
            t0 = perf_counter()
            method = linalg.CG(rtol=rtol, preconditioner=linalg.GMG(fem.grid_shape(space),
                                                                    max_coarse=200))
            problem = fem.Poisson(space, method=method)
            t["problem_s"] = perf_counter() - t0
            t["host_setup_s"] = 0.0
        else:  # AMG.build needs the assembled matrix: its assembly counts as set-up
            t0 = perf_counter()
            problem0 = fem.Poisson(space)
            t["problem_s"] = perf_counter() - t0
            t0, c_sys = perf_counter(), process_time()
            jax.block_until_ready(problem0.system(1.0, source))
            first_system = perf_counter() - t0
            c_skip = process_time() - c_sys  # CPU of the compiling first assembly
            t0 = perf_counter()  # the same assembly again, compiled: compile = difference
            A0, _ = jax.block_until_ready(problem0.system(1.0, source))
            second_system = perf_counter() - t0
            amg = linalg.AMG.build(A0)
            problem = eqx.tree_at(lambda p: p.method, problem0,
                                  linalg.CG(rtol=rtol, preconditioner=amg))
            t["host_setup_s"] = perf_counter() - t0  # one assembly + AMG.build
            t["system_compile_s"] = first_system - second_system
        # assembly + preconditioner set-up in JAX + solve: first call (with compile), then
        # the same call again (compiled); compile = first - second
        c_before_first = process_time()
        t0 = perf_counter()
        u, stats = jax.block_until_ready(problem.solve_with_stats(1.0, source))
        first = perf_counter() - t0
        t0, c1 = perf_counter(), process_time()
        u, stats = jax.block_until_ready(problem.solve_with_stats(1.0, source))
        t["solve_s"] = perf_counter() - t0
        c_solve = process_time() - c1
        # CPU of mesh .. host set-up (minus the AMG row's compiling first assembly, replaced
        # by its compiled second run), plus the compiled solve
        t["cpu_s"] = (c_before_first - c0) - (c_skip if name == "amg" else 0.0) + c_solve
        t["compile_s"] = first - t["solve_s"] + t.get("system_compile_s", 0.0)
        t["total_s"] = sum(t[k] for k in ("mesh_s", "space_s", "problem_s", "host_setup_s",
                                         "solve_s"))
        t.update(dofs=space.num_dofs, iters=int(stats["num_steps"]),
                 converged=bool(stats["converged"]),
                 err_max=float(np.abs(np.asarray(u) - exact(space.dof_coords)).max()))
        out[name] = t
        del mesh, space, problem, u
    return out


def darcy(n, blocks_values, rtol):
    mesh = fem.unit_square_mesh(n)
    space = fem.FunctionSpace(mesh, fem.P1())
    to_cells = fem.BlockCoefficient(mesh, blocks_values.shape[1:])
    values = jnp.asarray(blocks_values)
    ref = fem.Poisson(space).system(1.0, 1.0)[0]
    out = {"n": n, "dofs": space.num_dofs, "batch": int(values.shape[0])}
    amg = linalg.CG(rtol=rtol, preconditioner=linalg.AMG.build(ref))
    gmg = linalg.CG(rtol=rtol, preconditioner=linalg.GMG(fem.grid_shape(space)))
    # `jax.vmap` of one solve (batch-leading, all samples in lock step) and
    # `Poisson.solve_batch` (lax.map over chunks: cache-resident, per-sample convergence)
    for name, method, mode in (("amg_cg", amg, "vmap"), ("direct", linalg.Direct(), "vmap"),
                               ("amg_cg_chunked", amg, 4), ("gmg_cg", gmg, "vmap"),
                               ("gmg_cg_chunked", gmg, 1)):
        problem = fem.Poisson(space, method=method)
        if mode == "vmap":
            batched = eqx.filter_jit(jax.vmap(lambda v, p=problem: p.solve(to_cells(v), 1.0)))
        else:
            batched = eqx.filter_jit(lambda vs, p=problem, bs=mode: p.solve_batch(
                a=jax.vmap(to_cells)(vs), f=1.0, batch_size=bs))
        us, t_first = H.first_call(lambda b=batched: jax.block_until_ready(b(values)))
        t = H.timeit(lambda b=batched: jax.block_until_ready(b(values)), repeat=2, max_time=60)
        out[name] = {"time": t, "compile_s": t_first - t["best"],
                     "solves_per_s": values.shape[0] / t["best"],
                     "u_mean": np.asarray(us).mean(axis=1).tolist()}
        if isinstance(method, linalg.CG):
            steps = jax.jit(jax.vmap(lambda v, p=problem: p.solve_with_stats(
                to_cells(v), 1.0)[1]["num_steps"]))(values)
            out[name]["cg_iters"] = {"min": int(steps.min()), "max": int(steps.max()),
                                     "mean": float(steps.mean())}
    return out


def run_peers(cfg, blocks_values, tmp: Path, darcy_only=False):
    np.save(tmp / "blocks.npy", blocks_values)
    jobs = [] if darcy_only else [{"n": n, "direct": True} for n in cfg["sizes"]]
    spec = {"rtol": cfg["rtol"], "repeat": cfg["repeat"], "poisson": jobs,
            "darcy": {"n": cfg["darcy_n"], "blocks": str(tmp / "blocks.npy")}}
    (tmp / "skfem.json").write_text(json.dumps(spec))
    skfem = H.run_peer(VENV_FEM, "fem_skfem.py", ["--spec", str(tmp / "skfem.json")],
                       label="scikit-fem", timeout=900)
    if darcy_only:
        return skfem, {"skipped": "--darcy-only"}
    spec["darcy"] = None
    spec["e2e"] = {"n": cfg["e2e_n"]}
    (tmp / "dolfinx.json").write_text(json.dumps(spec))
    dolfinx = H.run_peer(VENV_DOLFINX, "fem_dolfinx.py", ["--spec", str(tmp / "dolfinx.json")],
                         label="DOLFINx", timeout=900)
    return skfem, dolfinx


def main(argv=None):
    p = H.common_argparser(__doc__.splitlines()[0])
    p.add_argument("--pdekit-only", action="store_true", help="skip the peer subprocesses")
    p.add_argument("--darcy-only", action="store_true",
                   help="only the Darcy batch (pdekit variants and the scikit-fem loop)")
    p.add_argument("--e2e-only", action="store_true",
                   help="only the mesh -> solution rows (pdekit and DOLFINx)")
    args = p.parse_args(argv)
    if args.e2e_only:
        return main_e2e(args)
    cfg = QUICK if args.quick else FULL
    out = {"benchmark": "fem", "quick": args.quick, "config": cfg,
           "machine": H.machine_info(), "threads": H.threads_summary(),
           "versions": H.versions("pdekit", "jax", "jaxlib", "numpy", "scipy", "pyamg")}
    print(f"FEM benchmark: sizes={cfg['sizes']} threads={H.threads_summary()}", flush=True)
    out["pdekit"] = []
    for n in () if args.darcy_only else cfg["sizes"]:
        out["pdekit"].append(poisson(n, cfg["rtol"], cfg["repeat"]))
        print("  pdekit " + json.dumps(_brief(out["pdekit"][-1])), flush=True)
    rng = np.random.default_rng(0)
    b = cfg["blocks"]
    blocks_values = 10.0 ** rng.uniform(-1.0, 1.0, (cfg["darcy_batch"], b, b))
    out["pdekit_darcy"] = darcy(cfg["darcy_n"], blocks_values, cfg["rtol"])
    print("  pdekit darcy " + json.dumps({k: v["solves_per_s"] for k, v in
                                          out["pdekit_darcy"].items() if isinstance(v, dict)}),
          flush=True)
    if not args.darcy_only:  # time to solution (quick: GMG only, to keep the smoke test short)
        out["pdekit_e2e"] = mesh_to_solution(cfg["e2e_n"], cfg["rtol"],
                                             ("gmg",) if args.quick else ("gmg", "amg"))
        print("  pdekit e2e " + json.dumps(out["pdekit_e2e"]), flush=True)
    out["skfem"] = out["dolfinx"] = {"skipped": "--pdekit-only"}
    if not args.pdekit_only:
        with tempfile.TemporaryDirectory() as tmpdir:
            out["skfem"], out["dolfinx"] = run_peers(cfg, blocks_values, Path(tmpdir),
                                                     args.darcy_only)
    if "pdekit_e2e" in out:
        out["dolfinx_e2e"] = out["dolfinx"].get("e2e", {"skipped": "no DOLFINx e2e"})
        out["e2e_rows"] = e2e_rows(out)
        out["e2e_table_md"] = e2e_table(out["e2e_rows"])
    out["rows"] = rows(out)
    out["summary"] = summarize(out)
    print_tables(out)
    if "e2e_rows" in out:
        print("\ntime to solution (mesh -> u):\n" + e2e_table(out["e2e_rows"]))
    H.write_json(out, args.out)
    return out


def main_e2e(args):
    """The mesh -> solution rows alone (``--e2e-only``)."""
    cfg = QUICK if args.quick else FULL
    out = {"benchmark": "fem-e2e", "quick": args.quick, "config": cfg,
           "machine": H.machine_info(), "threads": H.threads_summary(),
           "load_before": open("/proc/loadavg").read().split()[:3],
           "versions": H.versions("pdekit", "jax", "jaxlib", "numpy", "scipy", "pyamg")}
    out["pdekit_e2e"] = mesh_to_solution(cfg["e2e_n"], cfg["rtol"])
    print("  pdekit e2e " + json.dumps(out["pdekit_e2e"]), flush=True)
    out["dolfinx_e2e"] = {"skipped": "--pdekit-only"}
    if not args.pdekit_only:
        with tempfile.TemporaryDirectory() as tmpdir:
            spec = {"rtol": cfg["rtol"], "repeat": 1, "poisson": [],
                    "e2e": {"n": cfg["e2e_n"]}}
            path = Path(tmpdir) / "dolfinx.json"
            path.write_text(json.dumps(spec))
            res = H.run_peer(VENV_DOLFINX, "fem_dolfinx.py", ["--spec", str(path)],
                             label="DOLFINx", timeout=900)
            out["dolfinx_e2e"] = res.get("e2e", res)
    out["load_after"] = open("/proc/loadavg").read().split()[:3]
    out["e2e_rows"] = e2e_rows(out)
    print("\n" + e2e_table(out["e2e_rows"]))
    H.write_json(out, args.out)
    return out


def e2e_rows(out):
    rows_ = []
    for name in ("gmg", "amg"):
        if name not in out["pdekit_e2e"]:
            continue
        r = out["pdekit_e2e"][name]
        rows_.append(dict(contender=f"pdekit ({name.upper()}-CG)", dofs=r["dofs"],
                          mesh_s=r["mesh_s"], space_s=r["space_s"] + r["problem_s"],
                          setup_solve_s=r["host_setup_s"] + r["solve_s"],
                          total_s=r["total_s"], cpu_s=r.get("cpu_s"),
                          compile_s=r["compile_s"], iters=r["iters"], err=r["err_max"]))
    d = out.get("dolfinx_e2e", {})
    if "total_s" in d:
        rows_.append(dict(contender="DOLFINx (CG+GAMG)", dofs=d["dofs"], mesh_s=d["mesh_s"],
                          space_s=d["space_s"], setup_solve_s=d["assemble_s"] + d["solve_s"],
                          total_s=d["total_s"], cpu_s=d.get("cpu_s"),
                          compile_s=d["form_compile_s"], iters=d["iters"], err=d["err_max"]))
        for r in rows_[:-1]:
            r["dolfinx_over_pdekit"] = d["total_s"] / r["total_s"]
            if d.get("cpu_s") and r.get("cpu_s"):
                r["cpu_ratio"] = d["cpu_s"] / r["cpu_s"]
    return rows_


def e2e_table(rows_):
    return H.table(rows_, [("contender", "contender", "s"), ("dofs", "DOFs", "d"),
                           ("mesh_s", "mesh [s]", ".2f"),
                           ("space_s", "space + problem [s]", ".2f"),
                           ("setup_solve_s", "assembly + set-up + solve [s]", ".2f"),
                           ("total_s", "total, compile apart [s]", ".2f"),
                           ("cpu_s", "CPU [s]", ".2f"),
                           ("compile_s", "compile [s]", ".1f"), ("iters", "iters", "d"),
                           ("err", "max nodal err", ".2e"),
                           ("dolfinx_over_pdekit", "DOLFINx / pdekit", ".2f"),
                           ("cpu_ratio", "CPU DOLFINx / pdekit", ".2f")])


def _brief(row):
    return {k: (v["best"] if isinstance(v, dict) else v) for k, v in row.items()}


def _best(d, key):
    v = d.get(key)
    return v["best"] if isinstance(v, dict) else v


def rows(out):
    """One table row per (contender, size): assembly, solve times, errors."""
    table = []
    peers = [("pdekit", out["pdekit"])]
    for name in ("skfem", "dolfinx"):
        if "poisson" in out[name]:
            peers.append((name, out[name]["poisson"]))
    for name, runs in peers:
        for r in runs:
            if name == "pdekit":
                extra = dict(amg_setup_s=r["amg_setup_s"], iterative_s=_best(r, "amg_cg"),
                             cg_compile_s=r["amg_cg_compile_s"],
                             iters=r["amg_iters"], direct_s=_best(r, "direct"),
                             compile_s=r["assembly_compile_s"], err=r["amg_err_max"],
                             solver="AMG(pyamg set-up)+CG in JAX / SuperLU")
            elif name == "skfem":
                extra = dict(amg_setup_s=_best(r, "amg_setup"), iterative_s=_best(r, "amg_cg"),
                             iters=r["amg_iters"], direct_s=_best(r, "spsolve"),
                             err=r["amg_err_max"], solver="pyamg SA + scipy CG / spsolve")
            else:
                extra = dict(iterative_s=_best(r, "gamg_cg"), iters=r["gamg_iters"],
                             direct_s=_best(r, "lu"), compile_s=r["form_compile_s"],
                             err=r["gamg_err_max"],
                             solver=f"PETSc CG+GAMG (set-up incl.) / LU ({r.get('lu_factor')})")
            table.append(dict(contender=name, n=r["n"], dofs=r["dofs"],
                              assembly_s=_best(r, "assembly"),
                              assembly_cpu_per_wall=r["assembly"]["cpu_per_wall"], **extra))
            if name == "pdekit" and "gmg_cg" in r:
                table.append(dict(contender="pdekit-gmg", n=r["n"], dofs=r["dofs"],
                                  assembly_s=_best(r, "assembly"),
                                  assembly_cpu_per_wall=r["assembly"]["cpu_per_wall"],
                                  amg_setup_s=0.0, iterative_s=_best(r, "gmg_cg"),
                                  cg_compile_s=r["gmg_cg_compile_s"], iters=r["gmg_iters"],
                                  compile_s=r["assembly_compile_s"], err=r["gmg_err_max"],
                                  solver="GMG+CG in JAX (set-up inside the solve)"))
    return table


def summarize(out):
    s = {}
    by = {(r["contender"], r["n"]): r for r in out["rows"]}
    for (name, n), r in by.items():
        if name.startswith("pdekit"):
            continue
        gmg = by.get(("pdekit-gmg", n))
        if gmg is not None:  # GMG has no separate set-up: its solve time includes it
            it_peer = r["iterative_s"] + (r.get("amg_setup_s") or 0.0)
            s[f"iterative_incl_setup_ratio_{name}_over_pdekit_gmg_n{n}"] = \
                it_peer / gmg["iterative_s"]
        mine = by[("pdekit", n)]
        s[f"assembly_ratio_{name}_over_pdekit_n{n}"] = r["assembly_s"] / mine["assembly_s"]
        it_peer = r["iterative_s"] + (r.get("amg_setup_s") or 0.0)
        it_mine = mine["iterative_s"] + mine["amg_setup_s"]
        s[f"iterative_incl_setup_ratio_{name}_over_pdekit_n{n}"] = it_peer / it_mine
        if r.get("amg_setup_s") is not None:  # DOLFINx times GAMG set-up + solve together
            s[f"iterative_solve_only_ratio_{name}_over_pdekit_n{n}"] = \
                r["iterative_s"] / mine["iterative_s"]
        if r.get("direct_s") and mine.get("direct_s"):
            s[f"direct_ratio_{name}_over_pdekit_n{n}"] = r["direct_s"] / mine["direct_s"]
    if ("skfem", out["config"]["sizes"][0]) in by:
        s["assembly_target_met"] = all(
            by[("skfem", n)]["assembly_s"] >= by[("pdekit", n)]["assembly_s"]
            for n in out["config"]["sizes"])
    d = out["pdekit_darcy"]
    best = max((k for k in d if isinstance(d[k], dict)), key=lambda k: d[k]["solves_per_s"])
    s["darcy_best_pdekit"] = best
    s["darcy_pdekit_solves_per_s"] = {k: d[k]["solves_per_s"] for k in d
                                      if isinstance(d[k], dict)}
    sk = out["skfem"].get("darcy") if isinstance(out["skfem"], dict) else None
    if sk:
        s["darcy_skfem_solves_per_s"] = sk["solves_per_s"]
        s["darcy_speedup"] = {k: v / sk["solves_per_s"]
                              for k, v in s["darcy_pdekit_solves_per_s"].items()}
        s["darcy_target_5x_met"] = max(s["darcy_speedup"].values()) >= 5
        a, b = np.array(d[best]["u_mean"]), np.array(sk["u_mean"])
        s["darcy_mean_u_max_rel_diff_vs_skfem"] = float(np.max(np.abs(a - b) / np.abs(b)))
    return s


def print_tables(out):
    cols = [("contender", "contender", "s"), ("dofs", "DOFs", "d"),
            ("assembly_s", "assembly [s]", ".4f"), ("compile_s", "compile [s]", ".2f"),
            ("amg_setup_s", "host set-up [s]", ".3f"), ("iterative_s", "iterative [s]", ".3f"),
            ("cg_compile_s", "CG compile [s]", ".2f"), ("iters", "iters", "d"),
            ("direct_s", "direct [s]", ".3f"), ("err", "max nodal err", ".2e"),
            ("solver", "solvers", "s")]
    print("\n" + H.table(out["rows"], cols))
    d = out["pdekit_darcy"]
    drows = [{"name": f"pdekit ({k})", "solves_per_s": v["solves_per_s"],
              "time_s": v["time"]["best"], "compile_s": v["compile_s"],
              "iters": "{min}-{max}".format(**v["cg_iters"]) if "cg_iters" in v else "-"}
             for k, v in d.items() if isinstance(v, dict)]
    sk = out["skfem"].get("darcy") if isinstance(out["skfem"], dict) else None
    if sk:
        drows.append({"name": "scikit-fem loop (spsolve)", "solves_per_s": sk["solves_per_s"],
                      "time_s": sk["time"]["best"]})
    print(f"\nDarcy batch of {d['batch']} at {d['dofs']} DOFs:\n" + H.table(
        drows, [("name", "contender", "s"), ("time_s", "time [s]", ".3f"),
                ("compile_s", "compile [s]", ".2f"), ("solves_per_s", "solves/s", ".1f"),
                ("iters", "CG iterations", "s")]))
    print("\nsummary: " + json.dumps(out["summary"], indent=1, default=str))


if __name__ == "__main__":
    main()
