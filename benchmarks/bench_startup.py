"""Start-up, each in a fresh Python process: what a user waits for before
the first result, where compile latency (not steady-state speed) dominates.

* ``import``: ``import autodiff`` vs ``import torch``;
* ``first MLP step``: import, build a 784-128-10 MLP with Adam, and run one training
  step (forward, cross-entropy, backward, update) — with the kernel cache warm (the
  normal case) and empty (the first run after installing: every kernel compiles).
  torch has no kernel cache, so its two rows differ only by noise; they are there for
  the ratio.

The timed value is the whole process, as a user sees it. Each process also reports its
own split (import, first step, median steady-state step), shown as the row's note, so the
compile time (first step minus steady step) is reported apart from the steady state.
Subprocesses get the suite's thread count through the usual environment variables.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from benchmarks.common import mode, pick

ROOT = Path(__file__).resolve().parent.parent

IMPORT = """
import json, time
t0 = time.perf_counter()
import {lib}
print(json.dumps({{"import_s": time.perf_counter() - t0}}))
"""

FIRST_STEP = """
import json, statistics, time
t0 = time.perf_counter()
import {lib} as T
t1 = time.perf_counter()
import numpy as np
nn = T.nn
model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
opt = T.optim.Adam(model.parameters(), lr=1e-3)
rng = np.random.default_rng(0)
x = T.from_numpy(rng.standard_normal((64, 784), dtype=np.float32))
y = T.from_numpy(rng.integers(0, 10, 64))

def step():
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return float(loss.item())

loss = step()
t2 = time.perf_counter()
steady = []
for _ in range(5):
    t = time.perf_counter(); step(); steady.append(time.perf_counter() - t)
assert loss == loss and loss > 0, loss
print(json.dumps({{"import_s": t1 - t0, "first_step_s": t2 - t1, "steady_step_s": statistics.median(steady)}}))
"""


def _fresh_process(code: str, threads: int, cache_dir: str | None = None) -> dict:
    """Run ``code`` in a new interpreter (repo root importable); its printed JSON split."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    for var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"], env["AUTODIFF_CACHE_DIR"] = cache_dir, os.path.join(cache_dir, "autodiff")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def _note(split: dict) -> str:
    first, steady = split["first_step_s"], split["steady_step_s"]
    return (f"in-process: import {split['import_s']:.2f} s, first step {first:.2f} s, "
            f"steady step {steady * 1e3:.1f} ms, so compile/load ≈ {first - steady:.2f} s")


def _threads(request) -> int:
    return request.config._autodiff_bench["threads"]


@pytest.fixture(params=["autodiff", "torch"])
def lib(request):
    """The library to start; torch's start-up is only timed (nothing of ours to smoke-test)."""
    if request.param == "torch":
        request.getfixturevalue("torch")  # skips when torch is not installed
        if mode(request.config) == "smoke":
            pytest.skip("torch start-up is timed only: run with --benchmark-enable")
    return request.param


def test_startup_import(benchmark, request, lib):
    benchmark.group = "start-up: import"
    threads = _threads(request)
    split = benchmark.pedantic(_fresh_process, args=(IMPORT.format(lib=lib), threads),
                               rounds=pick(request, full=5, quick=2, smoke=1), warmup_rounds=1)
    assert split["import_s"] > 0


def test_startup_first_step_warm_cache(benchmark, request, lib):
    benchmark.group = "start-up: first MLP step, warm kernel cache"
    code, threads = FIRST_STEP.format(lib=lib), _threads(request)
    split = benchmark.pedantic(_fresh_process, args=(code, threads),
                               rounds=pick(request, full=3, quick=1, smoke=1), warmup_rounds=1)
    benchmark.extra_info["note"] = _note(split)


def test_startup_first_step_empty_cache(benchmark, request, lib):
    if mode(request.config) == "smoke":
        pytest.skip("compiling every kernel from an empty cache takes ~20 s: run with --benchmark-enable")
    benchmark.group = "start-up: first MLP step, empty kernel cache"
    code, threads = FIRST_STEP.format(lib=lib), _threads(request)

    def cold() -> dict:
        with tempfile.TemporaryDirectory() as cache:
            return _fresh_process(code, threads, cache)

    benchmark.extra_info["note"] = _note(benchmark.pedantic(cold, rounds=1))
