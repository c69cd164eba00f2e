"""The MLP training step on a real GPU: autodiff's CUDA backend vs torch on the same card.

Prints, for the training workloads' MLP (``workloads.classifier``, 256 x 784 batch, Adam):
the warm step time of autodiff on ``cuda`` and of torch on ``cuda`` (when torch has
CUDA), their ratio, the host<->device copies per step (expected: one, ``loss.item()``),
and, each in a fresh process, the first step's time with an empty kernel cache (cold
compile) and with the cache that run left (warm start). The CNN has no CUDA
convolution kernels yet and is not timed. Run by ``benchmarks/gpu_check.sh``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

import numpy as np

_FIRST_STEP = """
import time
t0 = time.perf_counter()
import autodiff as ad
from benchmarks.gpu_training import mlp_step
step = mlp_step(ad, "cuda")
step().item()
print(time.perf_counter() - t0)
"""


def mlp_step(T, dev: str):
    """One MLP training step of library ``T`` on device ``dev``; returns the step function."""
    from benchmarks.workloads import classifier

    T.manual_seed(0)
    model = classifier(T, "mlp").to(dev)
    rng = np.random.default_rng(0)
    x = T.tensor(rng.standard_normal((256, 784), dtype=np.float32), device=dev)
    y = T.tensor(rng.integers(0, 10, 256), device=dev)
    opt = T.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad()
        loss = T.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step


def _warm_ms(step, sync, reps: int = 20) -> float:
    step().item()
    sync()
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        step().item()  # what a training loop reads each step
        sync()
        best = min(best, time.perf_counter() - t0)
    return best * 1e3


def _first_step_s(cache: str) -> float:
    env = dict(os.environ, NUMBA_CACHE_DIR=f"{cache}/numba", AUTODIFF_CACHE_DIR=f"{cache}/autodiff")
    out = subprocess.run([sys.executable, "-c", _FIRST_STEP], env=env, capture_output=True, text=True,
                         check=True, cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    import autodiff as ad
    from autodiff.backends import backend_for

    be = backend_for("cuda")
    step = mlp_step(ad, "cuda")
    ours = _warm_ms(step, ad.cuda.synchronize)
    before = dict(be.transfers)
    step().item()
    copies = sum(be.transfers[k] - before[k] for k in ("host_to_device", "device_to_host"))
    print(f"MLP step, autodiff cuda: {ours:.2f} ms, {copies} host<->device copies per step")
    try:
        import torch
        if torch.cuda.is_available():
            theirs = _warm_ms(mlp_step(torch, "cuda"), torch.cuda.synchronize)
            print(f"MLP step, torch cuda: {theirs:.2f} ms; autodiff / torch = {ours / theirs:.2f}x (target <= 1.5x)")
        else:
            print("torch has no CUDA here: no torch row")
    except ImportError:
        print("torch is not installed: no torch row")
    with tempfile.TemporaryDirectory() as cache:
        cold = _first_step_s(cache)
        warm = _first_step_s(cache)
    print(f"first MLP step in a fresh process: cold kernel cache {cold:.1f} s, warm cache {warm:.1f} s")


if __name__ == "__main__":
    main()
