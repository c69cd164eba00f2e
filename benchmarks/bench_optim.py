"""Optimizer step benchmarks: one fused kernel per parameter vs torch (whose CPU default
is the single-tensor implementation, ``foreach=False``).

Two workloads on float32: ``many-small`` (50 parameters of 1,000 elements: per-parameter
overhead) and ``one-large`` (one parameter of 4M elements: memory bandwidth and the
parallel kernel).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import autodiff as ad

WORKLOADS = {"many-small": (50, 1000), "one-large": (1, 4 * 1024 * 1024)}
OPTIMIZERS = {"SGD-momentum": ("SGD", dict(lr=0.01, momentum=0.9)),
              "Adam": ("Adam", dict(lr=1e-3)),
              "RMSprop": ("RMSprop", dict(lr=1e-3))}


def _params(lib, count, size):
    rs = np.random.RandomState(0)
    arrays = [rs.randn(size).astype(np.float32) for _ in range(count)]
    if lib == "autodiff":
        ps = [ad.nn.Parameter(ad.tensor(a)) for a in arrays]
        for p, a in zip(ps, arrays):
            p.grad = ad.tensor(a * 0.1)
    else:
        ps = [torch.nn.Parameter(torch.tensor(a)) for a in arrays]
        for p, a in zip(ps, arrays):
            p.grad = torch.tensor(a * 0.1)
    return ps


@pytest.mark.parametrize("workload", list(WORKLOADS))
@pytest.mark.parametrize("opt", list(OPTIMIZERS))
@pytest.mark.parametrize("lib", ["autodiff", "torch"])
def test_optimizer_step(benchmark, lib, opt, workload):
    name, kwargs = OPTIMIZERS[opt]
    params = _params(lib, *WORKLOADS[workload])
    if lib == "autodiff":
        optimizer = getattr(ad.optim, name)(params, **kwargs)
    else:
        optimizer = getattr(torch.optim, name)(params, **kwargs)
    benchmark.group = f"{opt} step float32 {workload}"
    optimizer.step()  # compile / allocate state outside the timing
    benchmark(optimizer.step)
