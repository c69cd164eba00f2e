"""Load and save times of a large state dict: autodiff's readers and writers against torch's
and safetensors', on the same files (warm page cache, median of ``--repeat`` runs).

    python -m benchmarks.serialization_interop --mb 100 --repeat 5

A script, not a pytest benchmark: it measures file I/O paths, which the ratio table of
the op benchmarks does not cover.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import numpy as np
import torch
from safetensors.torch import load_file, save_file

import autodiff as ad


def _median_ms(fn, repeat: int) -> float:
    fn()  # warm-up (imports, page cache)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=100, help="state dict size in MB (float32 tensors of 4 MB)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    n = max(1, args.mb // 4)
    sd = {f"layer{i}.weight": torch.randn(1024, 1024) for i in range(n)}
    ad_sd = {k: ad.from_numpy(v.numpy()) for k, v in sd.items()}
    with tempfile.TemporaryDirectory() as tmp:
        pt, st, own = (os.path.join(tmp, name) for name in ("sd.pt", "sd.safetensors", "sd.ad"))
        torch.save(sd, pt)
        save_file(sd, st)
        ad.save(ad_sd, own)
        check = ad.load(pt)
        assert all(np.array_equal(check[k].numpy(), v.numpy()) for k, v in sd.items())
        rows = [
            ("load .pt", "torch.load(weights_only=True)", lambda: torch.load(pt, weights_only=True),
             "autodiff.load", lambda: ad.load(pt)),
            ("save .pt", "torch.save", lambda: torch.save(sd, pt),
             "autodiff.save(format='torch')", lambda: ad.save(ad_sd, pt, format="torch")),
            ("load .safetensors", "safetensors.torch.load_file", lambda: load_file(st),
             "autodiff.load", lambda: ad.load(st)),
            ("save .safetensors", "safetensors.torch.save_file", lambda: save_file(sd, st),
             "autodiff.save", lambda: ad.save(ad_sd, st)),
            ("autodiff's own format", "autodiff.save", lambda: ad.save(ad_sd, own),
             "autodiff.load", lambda: ad.load(own)),
        ]
        print(f"state dict: {n} float32 tensors of 1024x1024, {n * 4} MB; median of {args.repeat} runs, "
              f"torch threads {torch.get_num_threads()}")
        print(f"{'what':24} {'reference':32} {'ms':>8}   {'autodiff':30} {'ms':>8}  ratio")
        for what, ref_name, ref, ours_name, ours in rows:
            a, b = _median_ms(ref, args.repeat), _median_ms(ours, args.repeat)
            print(f"{what:24} {ref_name:32} {a:8.1f}   {ours_name:30} {b:8.1f}  {b / a:5.2f}")


if __name__ == "__main__":
    main()
