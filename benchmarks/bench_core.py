"""Core benchmark: the README's chain ``((x*w + x).tanh()*2 - w).sum()``, forward and
backward, on float32. At 16 elements it measures per-op overhead (Python, dispatch,
graph building and the engine's walk); at 4M elements, memory bandwidth and the
vectorised tanh. NumPy runs the same forward with a hand-written backward.

Start-up (import, first step) lives in bench_startup.py; more chains in
bench_elementwise.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.common import LIBS, Workload, fwd_bwd, pick, random_inputs


def _chain_numpy(x, w):
    t = np.tanh(x * w + x)

    def backward(g):
        g_pre = g * 2 * (1 - t * t)
        return g_pre * (w + 1), g_pre * x - g
    return (t * 2 - w).sum(), backward


CHAIN = Workload(lambda T, x, w: ((x * w + x).tanh() * 2 - w).sum(), _chain_numpy)


@pytest.mark.parametrize("size", ["overhead", "bandwidth"])
@pytest.mark.parametrize("lib", LIBS)
def test_chain_forward_backward(benchmark, request, lib, size):
    n = 16 if size == "overhead" else pick(request, full=4 << 20, quick=1 << 20, smoke=4096)
    fwd_bwd(benchmark, request, lib, f"core tanh chain fwd+bwd {n}", CHAIN, random_inputs(n, n))
