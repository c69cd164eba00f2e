"""Elementwise chains, forward + backward, on float32.

* ``arith``: ``(x*w + x)*0.5 - w`` — only cheap arithmetic, so at 4M elements it
  measures memory bandwidth and at 16 elements the per-op overhead (Python, dispatch,
  graph building);
* ``transcendental``: ``sigmoid(x)*tanh(w) + sin(x*w)*exp(x)`` — the vectorised
  transcendental kernels (kernels/cpu/vmath.py) and their derivatives.

Each chain is one :class:`~benchmarks.common.Workload`: the autodiff/torch code and a
NumPy forward with a hand-written backward. ``bench_cuda.py`` reuses ``CHAINS``.
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.common import LIBS, Workload, fwd_bwd, pick, random_inputs


def _arith_numpy(x, w):
    return (x * w + x) * 0.5 - w, lambda g: (g * 0.5 * (w + 1), g * 0.5 * x - g)


def _transcendental_numpy(x, w):
    s, t, p, e = 1 / (1 + np.exp(-x)), np.tanh(w), x * w, np.exp(x)
    sin_p, cos_p = np.sin(p), np.cos(p)
    out = s * t + sin_p * e

    def backward(g):
        return (g * (s * (1 - s) * t + cos_p * w * e + sin_p * e),
                g * (s * (1 - t * t) + cos_p * x * e))
    return out, backward


CHAINS = {
    "arith": Workload(lambda T, x, w: (x * w + x) * 0.5 - w, _arith_numpy),
    "transcendental": Workload(lambda T, x, w: x.sigmoid() * w.tanh() + (x * w).sin() * x.exp(),
                               _transcendental_numpy),
}


@pytest.mark.parametrize("chain", list(CHAINS))
@pytest.mark.parametrize("size", ["small", "large"])
@pytest.mark.parametrize("lib", LIBS)
def test_elementwise_chain(benchmark, request, lib, size, chain):
    n = 16 if size == "small" else pick(request, full=4 << 20, quick=1 << 20, smoke=4096)
    fwd_bwd(benchmark, request, lib, f"elementwise {chain} fwd+bwd {n}", CHAINS[chain], random_inputs(n, n))
