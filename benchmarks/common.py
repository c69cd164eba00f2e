"""What every benchmark shares: the run mode, the library dispatch and the correctness check.

A workload is written once for autodiff and torch (their APIs are the same, so the code
takes the library module ``T``) and once in NumPy with a hand-written backward.
:func:`fwd_bwd` runs one forward + backward in the library under test, checks the output
and the input gradients against the NumPy version computed in float64, and then times it
with pytest-benchmark (the check is also the warm-up: every kernel is compiled before
timing starts). Under ``--benchmark-disable`` only the check runs, so every benchmark
file doubles as a fast smoke test of the normal test suite.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np
import pytest

import autodiff as ad

LIBS = ("autodiff", "torch", "numpy")


def mode(config) -> str:
    """``"smoke"`` (benchmarks disabled: check only), ``"quick"`` (``--quick``) or ``"full"``."""
    if config.getoption("benchmark_disable") and not config.getoption("benchmark_enable"):
        return "smoke"
    return "quick" if config.getoption("quick") else "full"


def pick(request, *, full, quick, smoke):
    """The size (or any value) to use in the current run mode."""
    return {"full": full, "quick": quick, "smoke": smoke}[mode(request.config)]


def library(request, lib: str, device: str = "cpu"):
    """The module that runs ``lib`` (autodiff or torch); skips when torch cannot run it."""
    if lib == "autodiff":
        return ad
    torch = request.getfixturevalue("torch")
    if device == "cuda" and not torch.cuda.is_available():
        pytest.skip("this torch build sees no CUDA GPU")
    return torch


class Workload(NamedTuple):
    """One differentiable computation, in both forms.

    ``forward(T, *tensors)`` is the autodiff/torch code (``T`` is the library module);
    ``numpy(*arrays)`` returns ``(output, backward)`` where ``backward(grad_output)``
    returns the gradient of every differentiable input, written by hand.
    """

    forward: Callable
    numpy: Callable


def assert_close(actual, expected, rtol: float, what: str) -> None:
    """``actual`` matches ``expected`` to ``rtol`` of ``expected``'s largest magnitude.

    Scaled by the largest entry rather than entry by entry: float32 results that cancel
    to near zero are still right when their absolute error is at float32's level.
    """
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    scale = max(float(np.abs(expected).max(initial=0.0)), 1e-30)
    err = float(np.abs(actual - expected).max(initial=0.0))
    assert err <= rtol * scale, f"{what}: max error {err:.3g} > {rtol:g} x {scale:.3g}"


def _on(T, array: np.ndarray, device: str):
    """``array`` as a ``T`` tensor on ``device`` (CPU tensors share its memory)."""
    t = T.from_numpy(array)
    return t if device == "cpu" else t.to(device)


def _to_numpy(t) -> np.ndarray:
    t = t.detach()
    return (t.cpu() if t.device.type != "cpu" else t).numpy()


def fwd_bwd(benchmark, request, lib: str, group: str, workload: Workload, inputs, consts=(),
            *, device: str = "cpu", flops: float | None = None, rtol: float = 1e-4):
    """Check, then benchmark, ``workload``'s forward + backward on ``inputs`` in ``lib``.

    ``inputs`` are float32 arrays that get gradients; ``consts`` (e.g. class targets) do
    not. The upstream gradient is a fixed random array. The benchmark declares its work
    in ``extra_info``: ``flops`` when given (matmul), else ``bytes`` = every input, the
    output, the upstream gradient and every input gradient, each read or written once
    (the least memory traffic a fused forward + backward needs).
    """
    benchmark.group = group
    ref_out, ref_backward = workload.numpy(*(a.astype(np.float64) for a in inputs), *consts)  # the oracle
    grad_out = np.random.default_rng(1).standard_normal(np.shape(ref_out)).astype(np.float32)
    ref_grads = ref_backward(grad_out.astype(np.float64))
    if flops is not None:
        benchmark.extra_info["flops"] = flops
    else:
        benchmark.extra_info["bytes"] = 2 * sum(a.nbytes for a in inputs) + 2 * grad_out.nbytes

    if lib == "numpy":
        def step():
            out, backward = workload.numpy(*inputs, *consts)
            return out, backward(grad_out)
        to_numpy = np.asarray
    else:
        T = library(request, lib, device)
        xs = [_on(T, a.copy(), device).requires_grad_() for a in inputs]
        cs = [_on(T, c, device) for c in consts]
        g = _on(T, grad_out, device)
        sync = T.cuda.synchronize if device == "cuda" else (lambda: None)

        def step():
            for x in xs:
                x.grad = None
            out = workload.forward(T, *xs, *cs)
            out.backward(g)
            sync()
            return out, [x.grad for x in xs]
        to_numpy = _to_numpy

    out, grads = step()  # compiles every kernel before timing
    assert_close(to_numpy(out), ref_out, rtol, f"{group} [{lib}] output")
    for i, (got, want) in enumerate(zip(grads, ref_grads, strict=True)):
        assert_close(to_numpy(got), want, rtol, f"{group} [{lib}] grad of input {i}")
    benchmark(step)


def random_inputs(*shapes, seed: int = 0) -> list[np.ndarray]:
    """Float32 standard-normal arrays of ``shapes`` (the same for every library)."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s, dtype=np.float32) for s in shapes]
