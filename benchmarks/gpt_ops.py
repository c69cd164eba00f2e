"""Time single ops on the small GPT step's shapes in autodiff or torch, one library per process.

    python -m benchmarks.gpt_ops autodiff
    python -m benchmarks.gpt_ops torch

Each row: the best of 7 rounds of 300 calls (after 30 warm-up calls), 2 threads. The
shapes are the GPT step's (batch 16, 64 tokens, d=128, 4 heads): the linear layers with
their bias, attention's softmax over rows of 64, the cross-entropy over 256 classes, the
position embedding added over the batch, and the heads moved back before the output
projection. Run the two libraries alternately a few times: the VM drifts by 10-20%.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np


def _best_us(step: Callable[[], object], calls: int = 300) -> float:
    for _ in range(30):
        step()
    best = float("inf")
    for _ in range(7):
        t = time.perf_counter()
        for _ in range(calls):
            step()
        best = min(best, (time.perf_counter() - t) / calls)
    return best * 1e6


def rows(T) -> dict[str, Callable[[], object]]:
    """{label: one call} for the library module ``T``."""
    F = T.nn.functional
    rng = np.random.default_rng(0)

    def t(*shape):
        return T.tensor(rng.standard_normal(shape).astype(np.float32))

    x128, x512 = t(16, 64, 128), t(16, 64, 512)
    ops = {}
    for k, n in ((128, 384), (128, 512), (512, 128)):
        x, w, b = (x128 if k == 128 else x512), t(n, k), t(n)
        ops[f"linear {k}->{n} with bias"] = lambda x=x, w=w, b=b: F.linear(x, w, b)
    att, logits = t(16, 4, 64, 64), t(1024, 256)
    target = T.from_numpy(rng.integers(0, 256, 1024))
    ops["softmax over rows of 64"] = lambda: att.softmax(dim=-1)
    ops["cross_entropy 1024x256"] = lambda: F.cross_entropy(logits, target)
    pos = t(64, 128)
    ops["(16,64,128) + (64,128)"] = lambda: x128 + pos
    y = t(16, 4, 64, 32)
    ops["y.transpose(1, 2).reshape(16, 64, 128)"] = lambda: y.transpose(1, 2).reshape(16, 64, 128)
    return ops


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lib", choices=("autodiff", "torch"))
    lib = parser.parse_args().lib
    if lib == "torch":
        import torch as T
    else:
        import autodiff as T
    T.set_num_threads(2)  # (autodiff clamps it to Numba's pool)
    for label, step in rows(T).items():
        print(f"{lib:9s} {label:40s} {_best_us(step):8.1f} us")


if __name__ == "__main__":
    main()
