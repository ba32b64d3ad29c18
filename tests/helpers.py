"""Helpers shared by tests."""

from __future__ import annotations

import jax
import numpy as np
import scipy.stats


def convergence_rate(hs, errors) -> float:
    """Least-squares slope of log(error) against log(h)."""
    return float(scipy.stats.linregress(np.log(np.asarray(hs)), np.log(np.asarray(errors))).slope)


def tree_allclose(a, b, *, rtol=1e-12, atol=1e-12) -> bool:
    """Whether two pytrees have the same structure and allclose leaves."""
    la, ta = jax.tree_util.tree_flatten(a)
    lb, tb = jax.tree_util.tree_flatten(b)
    if ta != tb:
        return False
    return all(np.allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=atol)
               for x, y in zip(la, lb))


EXAMPLES = __import__("pathlib").Path(__file__).resolve().parents[1] / "examples"


def example_main(name: str):
    """The `main(argv)` of `examples/<name>.py`, loaded without running the script."""
    import runpy

    return runpy.run_path(str(EXAMPLES / f"{name}.py"), run_name="example")["main"]
