"""Core benchmarks (issue: per-op overhead, bandwidth, start-up).

The workload is ``((x*w + x).tanh()*2 - w).sum()``, forward and backward, on float32:
16 elements measures per-op overhead, 4M elements measures memory bandwidth and the
vectorised tanh. NumPy runs the same forward with a hand-written backward.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest

import autodiff as ad

SIZES = {"overhead-16": 16, "bandwidth-4M": 4 * 1024 * 1024}


def _chain_autodiff(x, w):
    x.grad = w.grad = None
    ((x * w + x).tanh() * 2 - w).sum().backward()
    return x.grad


def _chain_numpy(x, w):
    t = np.tanh(x * w + x)
    loss = (t * 2 - w).sum()
    g_pre = 2 * (1 - t * t)
    return loss, g_pre * (w + 1), g_pre * x - 1


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("lib", ["autodiff", "torch", "numpy"])
def test_chain_forward_backward(benchmark, lib, size, request):
    n = SIZES[size]
    benchmark.group = f"chain fwd+bwd float32 {size}"
    rng = np.random.default_rng(0)
    xv, wv = rng.standard_normal(n, dtype=np.float32), rng.standard_normal(n, dtype=np.float32)
    if lib == "autodiff":
        x, w = ad.from_numpy(xv).requires_grad_(), ad.from_numpy(wv).requires_grad_()
        grad = benchmark(_chain_autodiff, x, w)
        expected = _chain_numpy(xv, wv)[1]
        np.testing.assert_allclose(grad.numpy(), expected, rtol=1e-4, atol=1e-5)
    elif lib == "torch":
        torch = request.getfixturevalue("torch")
        x = torch.from_numpy(xv).requires_grad_()
        w = torch.from_numpy(wv).requires_grad_()

        def run():
            x.grad = w.grad = None
            ((x * w + x).tanh() * 2 - w).sum().backward()

        benchmark(run)
    else:
        benchmark(_chain_numpy, xv, wv)


def _python(code: str, env: dict | None = None) -> float:
    """Seconds for a fresh interpreter to run ``code`` (it prints its own timing)."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, **(env or {})}, check=True)
    return float(out.stdout.strip().splitlines()[-1])


IMPORT = "import time; t=time.perf_counter(); import autodiff; print(time.perf_counter()-t)"
FIRST_STEP = (
    "import time; t=time.perf_counter(); import autodiff as ad\n"
    "x=ad.randn(16, requires_grad=True); w=ad.randn(16, requires_grad=True)\n"
    "((x*w + x).tanh()*2 - w).sum().backward(); print(time.perf_counter()-t)"
)


def test_startup_import(benchmark):
    benchmark.group = "start-up: import autodiff"
    seconds = benchmark.pedantic(_python, args=(IMPORT,), rounds=5, iterations=1)
    assert seconds > 0


def test_startup_first_step_warm_cache(benchmark):
    benchmark.group = "start-up: first fwd+bwd, warm kernel cache"
    _python(FIRST_STEP)  # make sure the cache is warm
    seconds = benchmark.pedantic(_python, args=(FIRST_STEP,), rounds=3, iterations=1)
    assert seconds > 0


def test_startup_first_step_cold_cache(benchmark):
    benchmark.group = "start-up: first fwd+bwd, empty kernel cache"

    def cold():
        with tempfile.TemporaryDirectory() as d:
            return _python(FIRST_STEP, {"NUMBA_CACHE_DIR": d, "AUTODIFF_CACHE_DIR": d + "/ad"})

    seconds = benchmark.pedantic(cold, rounds=1, iterations=1)
    assert seconds > 0
