"""The first training step of a fresh process: empty kernel cache, warm cache, precompiled.

Each measurement is a new interpreter. ``cold`` points NUMBA_CACHE_DIR and
AUTODIFF_CACHE_DIR at a new empty directory (what a fresh install or CI machine sees);
``warm`` uses the cache as it is (run once first); ``precompiled`` starts from an empty
directory, runs ``python -m autodiff.precompile`` into it, then times the step. Reported:
wall and CPU seconds of the first step (the CPU time is what compiling costs; on a loaded
machine the wall time is larger), the steady step, how many kernel specialisations
compiled and the slowest of them::

    python -m benchmarks.first_step                     # mlp and gpt, cold warm precompiled
    python -m benchmarks.first_step gpt --modes cold --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from benchmarks import workloads

MODES = ("cold", "warm", "precompiled")


def _child(name: str) -> dict:
    t0 = time.perf_counter()
    import autodiff as ad
    from kernels import compile_watch

    t1 = time.perf_counter()
    step = next(iter(workloads.steps(name, "autodiff", ad).values()))
    wall, cpu = time.perf_counter(), time.process_time()
    step()
    first_wall, first_cpu = time.perf_counter() - wall, time.process_time() - cpu
    steady = []
    for _ in range(3):
        t = time.perf_counter()
        step()
        steady.append(time.perf_counter() - t)
    done = compile_watch.compiled()
    slowest = sorted(done, key=lambda c: -c.seconds)[:5]
    return {"import_s": t1 - t0, "first_wall_s": first_wall, "first_cpu_s": first_cpu,
            "steady_s": statistics.median(steady), "compiled": len(done),
            "slowest": [f"{c.name.rsplit('.', 2)[-2]}.{c.name.rsplit('.', 1)[-1]}({c.args[:40]}) {c.seconds:.1f}s"
                        for c in slowest]}


def _run(args: list[str], env: dict) -> str:
    done = subprocess.run([sys.executable, *args], check=False, capture_output=True, text=True, env=env)
    if done.returncode:
        raise SystemExit(done.stderr[-3000:])
    return done.stdout


def measure(name: str, mode: str) -> dict:
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as cache:
        extra = {}
        if mode != "warm":
            env["NUMBA_CACHE_DIR"], env["AUTODIFF_CACHE_DIR"] = cache, os.path.join(cache, "autodiff")
        if mode == "precompiled":
            start = time.perf_counter()
            _run(["-m", "autodiff.precompile"], env)
            extra["precompile_s"] = time.perf_counter() - start
        out = _run(["-m", "benchmarks.first_step", "--child", name], env)
        return {**json.loads(out.strip().splitlines()[-1]), **extra}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workloads", nargs="*", default=["mlp", "gpt"])
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child)))
        return
    for name in args.workloads:
        for mode in args.modes:
            for _ in range(args.rounds):
                r = measure(name, mode)
                pre = f", precompile {r['precompile_s']:.1f} s before" if "precompile_s" in r else ""
                print(f"{name:4s} {mode:11s} first step {r['first_wall_s']:6.2f} s wall, {r['first_cpu_s']:6.2f} s CPU; "
                      f"steady {r['steady_s'] * 1e3:7.1f} ms; import {r['import_s']:.2f} s; "
                      f"{r['compiled']} specialisations compiled{pre}", flush=True)
                if r["slowest"]:
                    print("     slowest: " + "; ".join(r["slowest"]), flush=True)


if __name__ == "__main__":
    main()
