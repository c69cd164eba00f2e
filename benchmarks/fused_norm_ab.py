"""Time LayerNorm and GELU forward + backward on the GPT step's shapes, in this process.

Run it once per autodiff tree to compare, alternating processes (the script imports
whichever ``autodiff`` is first on ``PYTHONPATH``)::

    PYTHONPATH=/path/to/tree python benchmarks/fused_norm_ab.py

Prints, per workload, the median wall time of 7 x 10 calls after three warm-up calls
(every kernel compiled) and the process CPU time per call of 20 more (on a loaded
machine the CPU time is the figure to compare).
"""

from __future__ import annotations

import statistics
import time

import numpy as np

import autodiff as ad


def main() -> None:
    rs = np.random.RandomState(0)
    x = ad.tensor(rs.randn(16, 64, 128).astype(np.float32), requires_grad=True)
    g = ad.tensor(rs.randn(16, 64, 128).astype(np.float32))
    h = ad.tensor(rs.randn(16, 64, 512).astype(np.float32), requires_grad=True)
    g2 = ad.tensor(rs.randn(16, 64, 512).astype(np.float32))
    ln = ad.nn.LayerNorm(128)

    def layer_norm():
        x.grad = None
        ln(x).backward(g)

    def gelu():
        h.grad = None
        ad.nn.functional.gelu(h).backward(g2)

    for name, step in (("layernorm 16x64x128 fwd+bwd", layer_norm), ("gelu 16x64x512 fwd+bwd", gelu)):
        for _ in range(3):
            step()
        times = []
        for _ in range(7):
            t = time.perf_counter()
            for _ in range(10):
                step()
            times.append((time.perf_counter() - t) / 10)
        cpu = time.process_time()
        for _ in range(20):
            step()
        print(f"{name}: median {statistics.median(times) * 1e3:.3f} ms, "
              f"cpu/call {(time.process_time() - cpu) / 20 * 1e3:.3f} ms")


if __name__ == "__main__":
    main()
