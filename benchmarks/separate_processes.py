"""Time autodiff and torch each in its own process, and print the ratio.

In one process the two libraries' thread pools disturb each other (torch's OpenMP threads
spin-wait after each op and take cores from autodiff's kernels), which distorts the
training-step ratios of the pytest-benchmark suite. This runs the same workloads with one
library per interpreter:

    python -m benchmarks.separate_processes mlp cnn reductions [--threads 2] [--repeats 3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import numpy as np


WORKLOADS = ("mlp", "cnn", "reductions", "lstm_lm", "sdpa", "sdpa_causal")


def _lib(name: str, threads: int):
    if name == "autodiff":
        import numba

        import autodiff as lib

        numba.set_num_threads(threads)
    else:
        import torch as lib

        lib.set_num_threads(threads)
    return lib


def _best_ms(fn, calls: int = 5, rounds: int = 7) -> float:
    for _ in range(3):  # compile and warm up
        fn()
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - start) / calls)
    return best * 1e3


def _training(lib, kind: str) -> dict:
    nn = lib.nn
    lib.manual_seed(0)
    if kind == "mlp":
        model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(),
                              nn.Linear(256, 10))
        shape = (256, 784)
    else:
        model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Flatten(), nn.Linear(32 * 7 * 7, 10))
        shape = (64, 1, 28, 28)
    rng = np.random.default_rng(0)
    x = lib.from_numpy(rng.standard_normal(shape, dtype=np.float32))
    y = lib.from_numpy(rng.integers(0, 10, shape[0]))
    opt = lib.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    return {f"{kind} training step": _best_ms(step, calls=10, rounds=5)}


def _reductions(lib) -> dict:
    rng = np.random.default_rng(0)
    x = lib.from_numpy(rng.standard_normal((2048, 2048), dtype=np.float32)).requires_grad_()
    g = rng.standard_normal((2048, 2048), dtype=np.float32)
    times = {}
    for name in ("sum", "amax", "softmax"):
        for dim in (0, 1):
            seed = lib.from_numpy(g if name == "softmax" else g.sum(axis=dim))

            def run(name=name, dim=dim, seed=seed):
                x.grad = None
                getattr(x, name)(dim=dim).backward(seed)

            times[f"{name} dim={dim} fwd+bwd 2048x2048"] = _best_ms(run)
    return times


def _sequence(lib, workload: str) -> dict:
    """The workloads of bench_sequence.py; for attention also the MB it saves for backward
    and the process's peak resident set (rows starting with "MB", not times)."""
    from benchmarks import bench_sequence as bs

    if workload == "lstm_lm":
        return {"lstm LM step 2x256 seq35 b20": _best_ms(bs.lstm_lm_step(lib), calls=3, rounds=5)}
    causal = workload == "sdpa_causal"
    name = f"sdpa{' causal' if causal else ''} fwd+bwd 4x8x1024x64"
    times = {name: _best_ms(bs.sdpa_step(lib, causal), calls=1, rounds=5)}
    times[f"  MB saved for bwd{' causal' if causal else ''}"] = bs.saved_for_backward_mb(lib, causal)
    times[f"  MB peak RSS{' causal' if causal else ''}"] = bs.peak_rss_mb()
    return times


def _child(lib_name: str, workload: str, threads: int) -> None:
    lib = _lib(lib_name, threads)
    if workload in ("lstm_lm", "sdpa", "sdpa_causal"):
        times = _sequence(lib, workload)
    else:
        times = _reductions(lib) if workload == "reductions" else _training(lib, workload)
    for key, ms in times.items():
        print(f"{key}\t{ms}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workloads", nargs="*", default=list(WORKLOADS),
                        help="any of: " + ", ".join(WORKLOADS))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3, help="process pairs per workload")
    parser.add_argument("--child", nargs=2, metavar=("LIB", "WORKLOAD"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child[0], args.child[1], args.threads)
        return
    unknown = set(args.workloads) - set(WORKLOADS)
    if unknown:
        parser.error(f"unknown workloads {sorted(unknown)}; choose from {', '.join(WORKLOADS)}")
    print(f"each library in its own process, {args.threads} threads, best of {args.repeats} pairs")
    print(f"{'workload':36s} {'autodiff':>10s} {'torch':>10s} {'ad/torch':>9s}")
    for workload in args.workloads:
        best: dict[str, dict[str, float]] = {}
        for _ in range(args.repeats):
            for lib_name in ("autodiff", "torch"):
                out = subprocess.run([sys.executable, "-m", "benchmarks.separate_processes",
                                      "--threads", str(args.threads), "--child", lib_name, workload],
                                     capture_output=True, text=True, check=True).stdout
                for line in out.strip().splitlines():
                    key, ms = line.split("\t")
                    slot = best.setdefault(key, {})
                    slot[lib_name] = min(float(ms), slot.get(lib_name, float("inf")))
        for key, t in best.items():
            unit = "MB" if "MB" in key else "ms"
            ratio = t["autodiff"] / t["torch"] if t["torch"] else float("nan")
            print(f"{key:36s} {t['autodiff']:8.2f}{unit} {t['torch']:8.2f}{unit} {ratio:9.2f}")


if __name__ == "__main__":
    main()
