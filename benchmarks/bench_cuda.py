"""The same workloads on ``device="cuda"``, when there is a GPU to run them.

A 4M-element transcendental chain, softmax over rows of an n x n matrix and a square
matmul, forward + backward, reusing the CPU workloads' definitions; the NumPy baseline
runs on the CPU. The whole file is skipped, with the reason, when autodiff has no CUDA
backend or no GPU is visible; torch rows are skipped when the installed torch build
has no CUDA.
"""

from __future__ import annotations

import pytest

import autodiff as ad
from benchmarks.bench_elementwise import CHAINS
from benchmarks.bench_matmul import MATMULS
from benchmarks.bench_reductions import REDUCTIONS
from benchmarks.common import LIBS, fwd_bwd, pick, random_inputs


def _why_no_cuda() -> str | None:
    if not hasattr(ad, "cuda"):
        return "autodiff has no CUDA backend yet (autodiff.cuda does not exist)"
    if not ad.cuda.is_available():
        return "no CUDA GPU visible (autodiff.cuda.is_available() is False)"
    return None


pytestmark = pytest.mark.skipif(_why_no_cuda() is not None, reason=str(_why_no_cuda()))


@pytest.mark.parametrize("lib", LIBS)
def test_cuda_transcendental_chain(benchmark, request, lib):
    n = pick(request, full=4 << 20, quick=4 << 20, smoke=4096)
    fwd_bwd(benchmark, request, lib, f"cuda elementwise transcendental fwd+bwd {n}", CHAINS["transcendental"],
            random_inputs(n, n), device="cuda")


@pytest.mark.parametrize("lib", LIBS)
def test_cuda_softmax(benchmark, request, lib):
    n = pick(request, full=4096, quick=2048, smoke=64)
    fwd_bwd(benchmark, request, lib, f"cuda reduce softmax dim=1 fwd+bwd {n}x{n}", REDUCTIONS["softmax dim=1"],
            random_inputs((n, n)), device="cuda")


@pytest.mark.parametrize("lib", LIBS)
def test_cuda_matmul(benchmark, request, lib):
    n = pick(request, full=2048, quick=1024, smoke=32)
    fwd_bwd(benchmark, request, lib, f"cuda matmul a@b fwd+bwd {n}x{n}", MATMULS["a@b"],
            random_inputs((n, n), (n, n)), device="cuda", flops=3 * 2 * n ** 3)
