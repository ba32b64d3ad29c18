"""Test configuration: float64 by default (explicitly, here), strict dtype and rank promotion,
four host devices for sharding tests, and a `getkey` fixture."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
# One BLAS thread: XLA's CPU Cholesky/LU go through OpenBLAS, whose threads fight XLA's own
# on a 2-core box (50-400 ms instead of ~1 ms for a 128x128 factorisation).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
# Four host devices for the sharding tests, and LLVM at -O0: the suite's problems are tiny, so
# compilation dominates its time and -O0 halves it (the suite took 40 % less CPU time in all);
# the numerics do not depend on it (XLA:CPU does not enable fast-math either way). A user who
# sets XLA_FLAGS keeps theirs.
TEST_XLA_OPT = "--xla_backend_optimization_level=0"
os.environ.setdefault("XLA_FLAGS", f"--xla_force_host_platform_device_count=4 {TEST_XLA_OPT}")

import jax  # noqa: E402
import pytest  # noqa: E402

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_rank_promotion", "raise")
# Strict dtype promotion (as equinox/diffrax/lineax test): silent float32/float64 or
# int/float mixing raises instead of promoting.
jax.config.update("jax_numpy_dtype_promotion", "strict")


@pytest.fixture(scope="session")
def bench_env():
    """Environment for a benchmark script run as a subprocess: without the suite's XLA_FLAGS and
    x64 (each script pins its own threads and precision), with the suite's unoptimised compiles
    (``$PDEKIT_BENCH_XLA_EXTRA``, read by ``benchmarks/_harness.thread_env``)."""
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "JAX_ENABLE_X64")}
    env["PDEKIT_BENCH_XLA_EXTRA"] = TEST_XLA_OPT
    return env


@pytest.fixture
def getkey():
    """Returns a function producing fresh PRNG keys from a fixed seed."""
    keys = iter(jax.random.split(jax.random.key(0), 1000))
    return lambda: next(keys)


@pytest.fixture
def float32():
    """Run a test with JAX in 32-bit mode, restoring float64 afterwards."""
    jax.config.update("jax_enable_x64", False)
    try:
        yield
    finally:
        jax.config.update("jax_enable_x64", True)
