"""conv2d forward + backward on a channels_last (16, 32, 32, 32) input against the NCHW input
and against torch. One layout and library per process (``--lib ad|torch --layout nchw|nhwc``),
so that neither warms the other's caches; prints the median and the minimum
milliseconds per step (the minimum is the steadier one on a shared machine).

    PYTHONPATH=$PWD python benchmarks/conv_channels_last.py --lib ad --layout nhwc
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lib", choices=("ad", "torch"), default="ad")
    parser.add_argument("--layout", choices=("nchw", "nhwc"), default="nhwc")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if args.lib == "ad":
        import autodiff as m
    else:
        import torch as m
    m.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    x = m.tensor(rng.standard_normal((16, 32, 32, 32)).astype(np.float32))
    w = m.tensor(rng.standard_normal((32, 32, 3, 3)).astype(np.float32) * 0.05)
    if args.layout == "nhwc":
        x, w = x.to(memory_format=m.channels_last), w.to(memory_format=m.channels_last)
    x.requires_grad_()
    w.requires_grad_()
    times = []
    for _ in range(args.repeat + 3):
        t0 = time.perf_counter()
        y = m.nn.functional.conv2d(x, w, padding=1)
        m.autograd.grad(y, (x, w), m.ones_like(y))
        times.append(time.perf_counter() - t0)
    print(f"{args.lib} {args.layout} ({args.threads} threads): median {np.median(times[3:]) * 1e3:.2f} ms, "
          f"min {min(times[3:]) * 1e3:.2f} ms per forward+backward")


if __name__ == "__main__":
    main()
