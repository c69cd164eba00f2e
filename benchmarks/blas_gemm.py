"""GFLOP/s of ``kernels.cpu.blas.gemm`` on one core, for the BLAS library in use.

Times an ``@njit`` loop of accumulating calls (no Python per call) on the shapes the
layers and attention hand to BLAS; run it once per library, each in its own process::

    taskset -c 0 python -m benchmarks.blas_gemm
    AUTODIFF_BLAS=mkl taskset -c 0 python -m benchmarks.blas_gemm
"""

from __future__ import annotations

import time

import numba
import numpy as np
from numba import njit

from kernels.cpu import blas

SHAPES = (  # (M, K, N, b transposed): 1024^3, attention's QK^T and PV tiles, the MLP's first layer
    (1024, 1024, 1024, False), (128, 64, 256, True), (128, 256, 64, False), (256, 784, 512, True))


@njit
def _loop(a, b, out, n):
    for _ in range(n):
        blas.gemm(a, b, out, 1.0)


def main() -> None:
    numba.set_num_threads(1)
    name = blas.ready_blas()
    rng = np.random.default_rng(0)
    rows = []
    for m, k, n, b_t in SHAPES:
        a = rng.standard_normal((m, k)).astype(np.float32)
        b = rng.standard_normal((n, k)).astype(np.float32).T if b_t else rng.standard_normal((k, n)).astype(np.float32)
        out = np.zeros((m, n), np.float32)
        calls = max(3, (1 << 29) // (m * n * k))
        _loop(a, b, out, 1)
        times = []
        for _ in range(3):
            t = time.perf_counter()
            _loop(a, b, out, calls)
            times.append(time.perf_counter() - t)
        rows.append(f"{m}x{k} @ {k}x{n}: {2 * m * n * k * calls / sorted(times)[1] / 1e9:.0f}")
    print(f"{name}, GFLOP/s on one core: " + "; ".join(rows))


if __name__ == "__main__":
    main()
