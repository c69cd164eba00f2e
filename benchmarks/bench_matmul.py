"""Matrix products, forward + backward, on float32, in GFLOP/s.

Square n x n @ n x n for n = 256, 1024, 2048; batched 64 x (128 x 128 @ 128 x 128);
and the transposed layouts ``a.T @ b`` and ``a @ b.T`` (n = 1024), which a BLAS-backed
kernel should take without copying. One forward + backward is three products of the same
size, so the declared work is 3 x 2·m·n·k flops per matrix. The NumPy baseline is
``@`` (the same BLAS family) with the two backward products written by hand.
"""

from __future__ import annotations

import math

import pytest

import autodiff as ad
from benchmarks.common import LIBS, Workload, fwd_bwd, pick, random_inputs

pytestmark = pytest.mark.skipif(not hasattr(ad, "matmul"), reason="autodiff.matmul does not exist yet")


def _swap(x):
    """Transpose the last two axes (works for NumPy arrays and for 2-D or batched tensors)."""
    return x.swapaxes(-1, -2)


MATMULS = {
    "a@b": Workload(lambda T, a, b: a @ b,
                    lambda a, b: (a @ b, lambda g: (g @ _swap(b), _swap(a) @ g))),
    "a.T@b": Workload(lambda T, a, b: a.T @ b,
                      lambda a, b: (a.T @ b, lambda g: (b @ g.T, a @ g))),
    "a@b.T": Workload(lambda T, a, b: a @ b.T,
                      lambda a, b: (a @ b.T, lambda g: (g @ b, g.T @ a))),
}


def _matmul(benchmark, request, lib, layout: str, batch: tuple, n: int) -> None:
    shape = (*batch, n, n)
    label = f"{'x'.join(map(str, batch))} x " if batch else ""
    fwd_bwd(benchmark, request, lib, f"matmul {layout} fwd+bwd {label}{n}x{n}", MATMULS[layout],
            random_inputs(shape, shape), flops=3 * 2 * math.prod(batch) * n ** 3)


@pytest.mark.parametrize("size", ["256", "1024", "2048"])
@pytest.mark.parametrize("lib", LIBS)
def test_matmul_square(benchmark, request, lib, size):
    n = pick(request, full=int(size), quick=max(int(size) // 2, 256), smoke=int(size) // 64)
    _matmul(benchmark, request, lib, "a@b", (), n)


@pytest.mark.parametrize("lib", LIBS)
def test_matmul_batched(benchmark, request, lib):
    n = pick(request, full=128, quick=128, smoke=8)
    _matmul(benchmark, request, lib, "a@b", (pick(request, full=64, quick=32, smoke=3),), n)


@pytest.mark.parametrize("layout", ["a.T@b", "a@b.T"])
@pytest.mark.parametrize("lib", LIBS)
def test_matmul_transposed(benchmark, request, lib, layout):
    _matmul(benchmark, request, lib, layout, (), pick(request, full=1024, quick=512, smoke=12))
