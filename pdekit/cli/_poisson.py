"""``pdekit simulate poisson``: ``-div(a grad u) = f`` with finite elements.

Default problem: the manufactured solution ``u = prod_i sin(pi x_i)`` (Dirichlet data ``u``
on the whole boundary, ``f = a d pi^2 u``) for a constant coefficient, so errors are known;
with ``--coef checker`` (a 1:100 checkerboard, Darcy-like), ``f = 1`` and ``u = 0`` on the
boundary, and no error is reported.
"""

from __future__ import annotations

import math
import pathlib

from ._common import add_common_options

_MESHES = ("square", "lshape", "disk", "annulus", "cube")


def add_parser(subparsers):
    p = subparsers.add_parser(
        "poisson",
        help="Poisson/Darcy problem with finite elements",
        description="Solve -div(a grad u) = f with Lagrange P1/P2 finite elements.",
    )
    p.add_argument(
        "--mesh",
        default="square",
        help=f"one of {', '.join(_MESHES)}, or a mesh file (.msh, .vtu, .xdmf) (default square)",
    )
    size = p.add_mutually_exclusive_group()
    size.add_argument("--n", type=int, default=None, help="cells per unit length (default 32)")
    size.add_argument("--h", type=float, default=None, help="mesh size; sets --n to round(1/h)")
    p.add_argument(
        "--refine", type=int, default=0, help="uniform refinements of the mesh (default 0)"
    )
    p.add_argument("--order", type=int, choices=(1, 2), default=1, help="element order (default 1)")
    p.add_argument(
        "--coef",
        default="1.0",
        help="diffusion coefficient: a positive number, or 'checker' (4x4 blocks 1:100)",
    )
    p.add_argument(
        "--solver",
        choices=("direct", "cg", "amg", "gmg"),
        default="direct",
        help="direct (SuperLU on host), cg (Jacobi), amg (CG + algebraic multigrid) or gmg "
        "(CG + geometric multigrid; --mesh square --order 1 --refine 0, n = 2^k m, m <= 4)",
    )
    p.add_argument(
        "--rtol",
        type=float,
        default=None,
        help="CG relative tolerance (default 1e-10, or 1e-5 with --float32)",
    )
    add_common_options(p)
    p.set_defaults(func=run)


def _parse(args):
    """Validate everything before any work; returns (n, coef) or raises ValueError."""
    if args.h is not None:
        if not (math.isfinite(args.h) and 0 < args.h <= 1):
            raise ValueError(f"--h must be in (0, 1], got {args.h}.")
        n = max(1, round(1 / args.h))
    else:
        n = 32 if args.n is None else args.n
    if n < 1 or n > 4096:
        raise ValueError(f"--n must be in 1..4096, got {n}.")
    if not 0 <= args.refine <= 6:
        raise ValueError(f"--refine must be in 0..6, got {args.refine}.")
    if args.mesh not in _MESHES:
        path = pathlib.Path(args.mesh)
        if not path.is_file():
            raise ValueError(
                f"--mesh: expected one of {_MESHES} or an existing mesh file, got {args.mesh!r}."
            )
    if args.mesh == "cube" and args.order == 2:
        raise ValueError("--order 2 is supported on triangle meshes only (not --mesh cube).")
    if args.coef == "checker":
        coef = "checker"
    else:
        try:
            coef = float(args.coef)
        except ValueError:
            raise ValueError(
                f"--coef must be a positive number or 'checker', got {args.coef!r}."
            ) from None
        if not (math.isfinite(coef) and coef > 0):
            raise ValueError(f"--coef must be > 0, got {coef}.")
    if args.rtol is not None and not (0 < args.rtol < 1):
        raise ValueError(f"--rtol must be in (0, 1), got {args.rtol}.")
    if args.solver == "gmg" and (args.mesh != "square" or args.order != 1 or args.refine):
        raise ValueError(
            "--solver gmg needs a structured grid: --mesh square --order 1 --refine 0 "
            f"(got --mesh {args.mesh} --order {args.order} --refine {args.refine}); "
            "use --solver amg otherwise."
        )
    if args.save and pathlib.Path(args.save).suffix not in (".npz", ".vtu", ".xdmf", ".vtk"):
        raise ValueError(f"--save: use a .npz, .vtu, .vtk or .xdmf file, got {args.save!r}.")
    return n, coef


def _mesh(fem, name, n):
    if name == "square":
        return fem.unit_square_mesh(n)
    if name == "lshape":
        return fem.lshape_mesh(max(1, n // 2))
    if name == "disk":
        return fem.disk_mesh(max(1, n // 2))
    if name == "annulus":
        return fem.annulus_mesh(max(1, n // 4))
    if name == "cube":
        return fem.unit_cube_mesh(n)
    return fem.Mesh.read(name)


def run(args):
    n, coef = _parse(args)
    import time

    import jax
    import jax.numpy as jnp
    import numpy as np

    from .._misc import x64_enabled
    from ..solvers import fem, linalg
    from ._common import emit_json

    mesh = _mesh(fem, args.mesh, n).refine(args.refine)
    if args.order == 2 and mesh.dim == 3:
        raise ValueError("--order 2 is supported on triangle meshes only.")
    space = fem.FunctionSpace(mesh, fem.P1() if args.order == 1 else fem.P2())
    d = mesh.dim

    def exact(x):
        out = jnp.sin(math.pi * x[0])
        for i in range(1, d):
            out = out * jnp.sin(math.pi * x[i])
        return out

    def exact_grad(x):
        s = [jnp.sin(math.pi * x[i]) for i in range(d)]
        c = [math.pi * jnp.cos(math.pi * x[i]) for i in range(d)]
        return [math.prod(c[i] if j == i else s[j] for j in range(d)) for i in range(d)]

    if coef == "checker":
        a = fem.checkerboard(mesh, 4, 1.0, 100.0)
        f, known = 1.0, False
        dirichlet = fem.Dirichlet(0.0)
    else:
        a = coef

        def f(x):
            return coef * d * math.pi**2 * exact(x)

        known = True
        dirichlet = fem.Dirichlet(exact)
    problem = fem.Poisson(space, dirichlet=dirichlet)

    t0 = time.perf_counter()
    system = jax.jit(lambda p: p.system(a=a, f=f)).lower(problem).compile()
    compile_assemble = time.perf_counter() - t0
    t0 = time.perf_counter()
    A, b = jax.block_until_ready(system(problem))
    assemble_s = time.perf_counter() - t0

    rtol = args.rtol or (1e-10 if x64_enabled() else 1e-5)
    if args.solver == "direct":
        method = linalg.Direct()
    elif args.solver == "cg":
        method = linalg.CG(rtol=rtol, max_steps=100_000, preconditioner=linalg.Jacobi())
    elif args.solver == "gmg":
        try:
            gmg = linalg.GMG(fem.grid_shape(space))
        except ValueError as exc:
            raise ValueError(f"--solver gmg with --n {n}: {exc}") from None
        method = linalg.CG(rtol=rtol, max_steps=10_000, preconditioner=gmg)
    else:
        t0 = time.perf_counter()
        method = linalg.CG(rtol=rtol, max_steps=10_000, preconditioner=linalg.AMG.build(A))
        amg_setup_s = time.perf_counter() - t0
    solve = linalg.solve_with_stats
    t0 = time.perf_counter()
    compiled = jax.jit(lambda A, b: solve(A, b, method)).lower(A, b).compile()
    compile_solve = time.perf_counter() - t0
    t0 = time.perf_counter()
    u, stats = jax.block_until_ready(compiled(A, b))
    solve_s = time.perf_counter() - t0
    residual = float(jnp.linalg.norm(b - A @ u) / jnp.linalg.norm(b))

    out = {
        "mesh": args.mesh,
        "dim": d,
        "order": args.order,
        "nodes": mesh.num_nodes,
        "cells": mesh.num_cells,
        "ndofs": space.num_dofs,
        "nnz": space.pattern.nnz,
        "h": mesh.h,
        "coef": args.coef,
        "solver": args.solver,
        "dtype": str(u.dtype),
        "compile_s": compile_assemble + compile_solve,
        "assemble_s": assemble_s,
        "solve_s": solve_s,
        "iterations": int(stats["num_steps"]),
        "converged": bool(stats["converged"]),
        "residual": residual,
    }
    if args.solver == "amg":
        out["amg_setup_s"] = amg_setup_s
    if known:
        out["l2_error"] = float(fem.l2_error(space, u, exact))
        out["h1_error"] = float(fem.h1_error(space, u, exact_grad))
    if args.save:
        fem.save_solution(
            args.save,
            space,
            np.asarray(u),
            cell_data={"a": np.broadcast_to(np.asarray(a, dtype=float), (mesh.num_cells,))},
        )
        out["saved"] = args.save
    if args.plot:
        if d != 2:
            raise ValueError("--plot needs a 2D mesh.")
        from ..plotting import poisson_summary_figure

        info = (
            f"-div(a grad u) = f on {args.mesh}, P{args.order}, {space.num_dofs} DOFs, "
            f"solver {args.solver}, residual {residual:.1e}"
        )
        if known:
            info += f", L2 error {out['l2_error']:.2e}"
        fig = poisson_summary_figure(
            space,
            u,
            exact=exact if known else None,
            coefficient=np.asarray(a) if coef == "checker" else None,
            info=info,
        )
        fig.savefig(args.plot, dpi=110)
        out["plot"] = args.plot
    if args.json:
        emit_json(out)
    else:
        for key, val in out.items():
            print(f"{key:>12}: {val:.4g}" if isinstance(val, float) else f"{key:>12}: {val}")
    return 0
