"""Training-step benchmarks: one forward + backward + Adam step per call.

* ``mlp``: 784-512-256-10 ReLU MLP, cross-entropy, batch 256 (target: within 1.3x of torch);
* ``cnn``: Conv2d(1, 16, 3) - ReLU - MaxPool2d(2) - Conv2d(16, 32, 3) - ReLU - MaxPool2d(2) -
  Linear(32*7*7, 10) on 1x28x28, batch 64 (target: within 1.5x of torch).

Both libraries run the same architecture from the same initial weights on the same batch.
"""

from __future__ import annotations

import numpy as np
import pytest

import autodiff as ad
from benchmarks.workloads import classifier as build

WORKLOADS = {"mlp": (256, (784,)), "cnn": (64, (1, 28, 28))}


def copy_weights(src, dst, torch) -> None:
    """Copy autodiff model ``src``'s parameters into torch model ``dst``."""
    with torch.no_grad():
        for p, q in zip(src.parameters(), dst.parameters()):
            q.copy_(torch.from_numpy(p.detach().numpy().copy()))


def batch(kind: str):
    n, shape = WORKLOADS[kind]
    rng = np.random.default_rng(0)
    return rng.standard_normal((n,) + shape, dtype=np.float32), rng.integers(0, 10, n)


@pytest.mark.parametrize("kind", list(WORKLOADS))
@pytest.mark.parametrize("lib", ["autodiff", "torch"])
def test_training_step(benchmark, lib, kind, request):
    benchmark.group = f"training step {kind} batch {WORKLOADS[kind][0]}"
    xv, yv = batch(kind)
    ad.manual_seed(0)
    model = build(ad, kind)
    if lib == "autodiff":
        opt = ad.optim.Adam(model.parameters(), lr=1e-3)
        x, y = ad.from_numpy(xv), ad.from_numpy(yv)
        F = ad.nn.functional
    else:
        torch = request.getfixturevalue("torch")
        ref = build(torch, kind)
        copy_weights(model, ref, torch)
        model = ref
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        x, y = torch.from_numpy(xv), torch.from_numpy(yv)
        F = torch.nn.functional

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    for _ in range(2):  # compile and warm up
        step()
    benchmark(step)
