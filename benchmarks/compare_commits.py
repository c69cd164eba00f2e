"""Time the same workloads on two commits of autodiff, side by side in one run.

Each commit is exported (``git archive``) to a temporary directory and every measurement
runs in a fresh interpreter importing that tree only; the commits alternate, and the best
of ``--repeats`` processes is kept, so machine noise hits both alike:

    python -m benchmarks.compare_commits 64ced07 HEAD [--repeats 5] [--threads 2]

(a directory, such as ``.`` for the working tree, may stand for a commit).

``--instructions`` counts instead of timing: each process runs under valgrind's callgrind
with instrumentation switched on only around ``INSTRUCTION_CALLS`` warm calls of the
chain, and the machine instructions per chain are reported. The count does not depend on
the machine's load, so it shows per-op overhead changes of 1% that timing on a shared
machine cannot (about 20 s a process; needs ``valgrind``). It does depend on the string
hash seed (dict and set layouts: ±1%), so each tree runs under ``HASH_SEEDS`` fixed seeds and
the mean is reported.

Workloads: the README chain ``((x*w + x).tanh()*2 - w).sum()`` forward and backward on 16
elements (per-op overhead), and an MLP (784-512-256-10, batch 256) and a small CNN (two
conv + pool blocks, batch 64) training step with Adam. They are defined here, on the public
API only, so both trees run the same workload code (a tree's own ``benchmarks`` may differ).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORKLOADS = ("chain16", "mlp", "cnn")


def _best_ms(step, calls: int, rounds: int) -> float:
    for _ in range(3):
        step()
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            step()
        best = min(best, (time.perf_counter() - start) / calls)
    return best * 1e3


def _chain16_step():
    import numpy as np

    import autodiff as ad

    rng = np.random.default_rng(0)
    x = ad.from_numpy(rng.standard_normal(16, dtype=np.float32)).requires_grad_()
    w = ad.from_numpy(rng.standard_normal(16, dtype=np.float32)).requires_grad_()

    def step():
        x.grad = w.grad = None
        ((x * w + x).tanh() * 2 - w).sum().backward()

    return step


def _chain16_ms() -> float:
    return _best_ms(_chain16_step(), calls=200, rounds=20)


INSTRUCTION_CALLS = 200


def _chain16_counted() -> None:
    """Run the chain ``INSTRUCTION_CALLS`` times with callgrind's instrumentation on."""
    step = _chain16_step()
    for _ in range(50):
        step()
    subprocess.run(["callgrind_control", "-i", "on", str(os.getpid())], check=True, capture_output=True)
    for _ in range(INSTRUCTION_CALLS):
        step()
    subprocess.run(["callgrind_control", "-i", "off", str(os.getpid())], check=True, capture_output=True)


HASH_SEEDS = (0, 1, 2, 3)


def _instructions_per_chain(tree: Path, seed: int) -> int:
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONHASHSEED": str(seed)}
    out = subprocess.run(["valgrind", "--tool=callgrind", "--instr-atstart=no", "--callgrind-out-file=/dev/null",
                          sys.executable, __file__, "old", "new", "--threads", "1", "--child", "chain16-counted"],
                         cwd=tree, env=env, capture_output=True, text=True, check=True)
    collected = [line for line in out.stderr.splitlines() if "Collected" in line]
    return int(collected[-1].split()[-1]) // INSTRUCTION_CALLS


def _training_ms(kind: str) -> float:
    import numpy as np

    import autodiff as ad

    nn = ad.nn
    ad.manual_seed(0)
    if kind == "mlp":
        model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10))
        shape = (256, 784)
    else:
        model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Flatten(), nn.Linear(32 * 7 * 7, 10))
        shape = (64, 1, 28, 28)
    rng = np.random.default_rng(0)
    x = ad.from_numpy(rng.standard_normal(shape, dtype=np.float32))
    y = ad.from_numpy(rng.integers(0, 10, shape[0]))
    opt = ad.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    return _best_ms(step, calls=10, rounds=5)


def _child(workload: str, threads: int) -> None:
    import numba

    numba.set_num_threads(threads)
    if workload == "chain16-counted":
        _chain16_counted()
        return
    print(_chain16_ms() if workload == "chain16" else _training_ms(workload))


def _export(commit: str, into: Path) -> Path:
    """The tree of ``commit``; a directory (``.``, the working tree) is used as it is."""
    if Path(commit).is_dir():
        return Path(commit).resolve()
    into.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--workloads", nargs="*", default=list(WORKLOADS))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--instructions", action="store_true",
                        help="count the chain's machine instructions under callgrind instead of timing")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child, args.threads)
        return
    with tempfile.TemporaryDirectory() as tmp:
        trees = {c: _export(c, Path(tmp) / f"tree{i}") for i, c in enumerate((args.old, args.new))}
        if args.instructions:
            counts = {c: [_instructions_per_chain(tree, seed) for seed in HASH_SEEDS] for c, tree in trees.items()}
            for c, n in counts.items():
                print(f"{c}: {', '.join(map(str, n))} (hash seeds {', '.join(map(str, HASH_SEEDS))})")
            old, new = (sum(n) / len(n) for n in counts.values())
            print(f"machine instructions per chain16 forward+backward, mean: {args.old} {old:.0f}, "
                  f"{args.new} {new:.0f}, new/old {new / old:.3f}")
            return
        best = {(w, c): float("inf") for w in args.workloads for c in trees}
        print(f"best of {args.repeats} processes each, {args.threads} threads")
        print(f"{'workload':10s} {args.old:>12s} {args.new:>12s} {'new/old':>8s}", flush=True)
        for workload in args.workloads:
            for _ in range(args.repeats):
                for commit, tree in trees.items():
                    env = {**os.environ, "PYTHONPATH": str(tree)}
                    # this file runs the child, importing autodiff and benchmarks from the tree
                    out = subprocess.run([sys.executable, __file__, "old", "new",
                                          "--threads", str(args.threads), "--child", workload],
                                         cwd=tree, env=env, capture_output=True, text=True, check=True)
                    best[workload, commit] = min(best[workload, commit], float(out.stdout.split()[-1]))
            old, new = best[workload, args.old], best[workload, args.new]
            print(f"{workload:10s} {old:10.4f}ms {new:10.4f}ms {new / old:8.3f}", flush=True)


if __name__ == "__main__":
    main()
