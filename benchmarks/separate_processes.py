"""Time autodiff, torch and JAX each in its own process, and print the ratios.

In one process libraries disturb each other: their thread pools compete for the cores,
and settings one makes (a thread count, an OpenMP wait policy) can change the other.
So this runs every library in a fresh interpreter of its own, alternating processes
autodiff, torch, jax, autodiff, ... for ``--rounds`` rounds, and reports for each
library the median over its processes of the median step time inside each process::

    python -m benchmarks.separate_processes                   # every workload
    python -m benchmarks.separate_processes gpt mlp --rounds 3
    python -m benchmarks.separate_processes --same-process    # all libraries in one process
    python -m benchmarks.separate_processes --update-readme   # rewrite benchmarks/README.md's table

JAX is timed where it is installed (``jit`` of ``value_and_grad`` of the same step, with
the same optimizer). Each process is limited to ``--threads`` cores (CPU affinity, which
JAX's thread pool respects too) and autodiff and torch are told the same thread count.
The ``coexist`` workload times torch's small-matmul loop alone, after ``import autodiff``
and after autodiff ran a threaded kernel before torch was imported: importing autodiff
must not slow other libraries.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks import workloads

LIBS = ("autodiff", "torch", "jax")
COEXIST = ("torch alone", "torch after import autodiff", "torch after autodiff ran")
README = Path(__file__).with_name("README.md")
START, END = "<!-- separate:start -->", "<!-- separate:end -->"
SKIPPED: dict[str, str] = {}  # row label -> why it is not measured


def _lib(name: str, threads: int):
    """Import ``name`` limited to ``threads`` threads; the module (None for jax)."""
    if threads < (os.cpu_count() or 1) and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[:threads]))
    if name == "jax":
        import jax

        jax.config.update("jax_platforms", "cpu")
        return None
    if name == "autodiff":
        import autodiff as lib
    else:
        import torch as lib

    lib.set_num_threads(threads)
    return lib


def median_ms(fn: Callable[[], object], rounds: int = 7, round_s: float = 0.2,
              warm_calls: int = 10, warm_s: float = 0.5) -> float:
    """Median over ``rounds`` of the mean time of one call (ms), after warming up.

    The warm-up runs at least ``warm_calls`` calls and ``warm_s`` seconds: a training
    step's first calls compile, fill caches and, in the GPT step, pass through a phase of
    subnormal gradients that makes the GEMMs of every library several times slower for
    about eight steps; a median that reaches into that phase measures it, not the library."""
    start = time.perf_counter()
    calls = 0
    while calls < warm_calls or time.perf_counter() - start < warm_s:
        fn()
        calls += 1
    start = time.perf_counter()
    fn()
    calls = max(1, int(round_s / max(time.perf_counter() - start, 1e-7)))
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        times.append((time.perf_counter() - start) / calls)
    return statistics.median(times) * 1e3


def _torch_small_loop(torch) -> Callable[[], object]:
    a, b = torch.randn(64, 64), torch.randn(64, 64)
    return lambda: (a @ b).relu().sum()


def run_coexist(variant: str, threads: int) -> dict[str, float]:
    """torch's 64x64 matmul + relu + sum loop: alone, after ``import autodiff``, or after
    autodiff ran a threaded kernel (which starts Numba's OpenMP pool before torch loads)."""
    if variant != COEXIST[0]:
        ad = _lib("autodiff", threads)
    if variant == COEXIST[2]:
        x = ad.randn(1 << 20, requires_grad=True)
        (x * 2).tanh().sum().backward()
    torch = _lib("torch", threads)
    return {"torch 64x64 matmul+relu+sum": median_ms(_torch_small_loop(torch))}


def run_lib(lib: str, names: list[str], threads: int) -> dict[str, float]:
    """``{row label: median ms}`` of every workload in ``names`` for ``lib``, in this process."""
    if lib in COEXIST:
        return run_coexist(lib, threads)
    T = _lib(lib, threads)
    out = {}
    for name in names:
        for label, step in workloads.steps(name, lib, T).items():
            out[label] = median_ms(step)
    return out


def _child(lib: str, names: list[str], threads: int, env: dict[str, str]) -> dict[str, float]:
    cmd = [sys.executable, "-m", "benchmarks.separate_processes", "--threads", str(threads),
           "--child", lib, *names]
    done = subprocess.run(cmd, check=False, capture_output=True, text=True, env={**os.environ, **env})
    if done.returncode:
        raise SystemExit(f"{lib} child failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(names: list[str], libs: list[str], rounds: int, threads: int, same_process: bool,
            coexist: bool, env: dict[str, str]) -> dict[str, dict[str, list[float]]]:
    """``{row label: {lib: [ms of round 1, round 2, ...]}}`` over ``rounds`` alternating processes."""
    runs: dict[str, dict[str, list[float]]] = {}
    jobs = [(lib, names) for lib in libs] + ([(v, []) for v in COEXIST] if coexist else [])
    for _ in range(rounds):
        for lib, these in jobs:
            got = run_lib(lib, these, threads) if same_process else _child(lib, these, threads, env)
            for label, ms in got.items():
                runs.setdefault(label, {}).setdefault(lib, []).append(ms)
    return runs


def _ms(v: float | None) -> str:
    return "-" if v is None else (f"{v:.3g} ms" if v >= 0.1 else f"{v * 1e3:.3g} us")


def _ratio(a: float | None, b: float | None) -> str:
    return "-" if a is None or b is None else f"{a / b:.2f}"


def _round_ratios(ad: list[float] | None, peer: list[float] | None) -> str:
    """The median of the per-round ratios and, over several rounds, their range. A round's
    two processes ran one after the other, so the machine's drift (this VM moves by 10-20%
    within minutes) cancels in its ratio more than in a ratio of medians."""
    if not ad or not peer:
        return "-"
    ratios = sorted(a / b for a, b in zip(ad, peer))
    mid = f"{statistics.median(ratios):.2f}"
    return mid if len(ratios) == 1 else f"{mid} ({ratios[0]:.2f}-{ratios[-1]:.2f})"


def _median(v: list[float] | None) -> float | None:
    return statistics.median(v) if v else None


def table(results: dict[str, dict[str, list[float]]], libs: list[str]) -> str:
    """Markdown: median times per library and autodiff's ratio to each peer (< 1: autodiff
    faster), the median of the rounds' ratios with their range."""
    peers = [lib for lib in libs if lib != "autodiff"]
    head = ["workload", *libs, *(f"ad/{p}" for p in peers)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] if libs else []
    for label, t in results.items():
        if set(t) <= set(COEXIST):
            continue
        ad = t.get("autodiff")
        lines.append("| " + " | ".join([label, *(_ms(_median(t.get(lib))) for lib in libs),
                                        *(_round_ratios(ad, t.get(p)) for p in peers)]) + " |")
    for label, reason in SKIPPED.items() if libs else ():
        lines.append("| " + " | ".join([label, *("skipped" for _ in libs), *("-" for _ in peers)])
                     + f" |\n\n{label}: skipped, {reason}.")
    for label, t in results.items():
        if set(t) <= set(COEXIST):
            t = {lib: _median(v) for lib, v in t.items()}
            alone = t.get(COEXIST[0])
            lines.append(f"\n{label} in torch: {_ms(alone)} alone; {_ms(t.get(COEXIST[1]))} after "
                         f"`import autodiff` (ratio {_ratio(t.get(COEXIST[1]), alone)}); "
                         f"{_ms(t.get(COEXIST[2]))} after autodiff ran a threaded kernel before torch "
                         f"was imported (ratio {_ratio(t.get(COEXIST[2]), alone)}).")
    return "\n".join(lines)


def update_readme(text: str, readme: Path = README) -> None:
    body = readme.read_text()
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.DOTALL)
    if not pattern.search(body):
        raise SystemExit(f"{readme} has no {START} ... {END} section to replace")
    readme.write_text(pattern.sub(lambda _: f"{START}\n{text}\n{END}", body))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    names = (*workloads.WORKLOADS, "coexist")
    parser.add_argument("workloads", nargs="*", default=list(names), help="any of: " + ", ".join(names))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5, help="processes per library")
    parser.add_argument("--libs", nargs="+", default=None, help="default: autodiff torch jax (where installed)")
    parser.add_argument("--same-process", action="store_true", help="run every library in this process")
    parser.add_argument("--env", action="append", default=[], metavar="VAR=VALUE",
                        help="set in every child process alike (e.g. OMP_WAIT_POLICY=PASSIVE)")
    parser.add_argument("--update-readme", action="store_true", help="rewrite benchmarks/README.md's table")
    parser.add_argument("--child", metavar="LIB", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run_lib(args.child, args.workloads, args.threads)))
        return
    unknown = set(args.workloads) - set(names)
    if unknown:
        parser.error(f"unknown workloads {sorted(unknown)}; choose from {', '.join(names)}")
    libs = args.libs or [lib for lib in LIBS if importlib.util.find_spec(lib)]
    env = dict(item.split("=", 1) for item in args.env)
    if args.same_process and env:
        parser.error("--env applies to child processes; set the variables before starting --same-process")
    steps = [name for name in args.workloads if name != "coexist"]
    results = measure(steps, libs if steps else [], args.rounds, args.threads, args.same_process,
                      coexist="coexist" in args.workloads, env=env)
    how = "all in one process" if args.same_process else "each library in its own process"
    text = (f"{how}, {args.threads} threads each, medians over {args.rounds} alternating rounds; "
            "ratios: the median of the rounds' ratios (their range) "
            f"(`python -m benchmarks.separate_processes {' '.join(argv or sys.argv[1:])}`)\n\n"
            + table(results, libs))
    print(text)
    if args.update_readme:
        update_readme(text)


if __name__ == "__main__":
    main()
