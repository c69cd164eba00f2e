"""The kernel cache and the threading layer can never take the process down.

Each test runs autodiff in child processes (a crash there is a failed assertion, not a
dead test runner): a cache whose files were corrupted between runs must give the same
results, warn naming the cache directory, and be clean again on the run after; two
Python threads training at once under Numba's ``workqueue`` layer must not abort.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]

CACHE_SCRIPT = """
import warnings
warnings.simplefilter("always")
import autodiff as ad
x = ad.tensor([0.5, -1.0, 2.0], requires_grad=True)
y = (x.tanh() * x).sum()
y.backward()
print(repr(y.item()), [repr(v) for v in x.grad.tolist()])
"""


def _run(script: str, env: dict, cwd: Path) -> subprocess.CompletedProcess:
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                         timeout=600, cwd=cwd, check=False)
    assert out.returncode == 0, f"child died with {out.returncode}:\n{out.stderr[-3000:]}"
    return out


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "AUTODIFF_CACHE_DIR")}
    env.update(PYTHONPATH=str(ROOT), **extra)
    return env


def _expected() -> str:
    x = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)
    y = (x.tanh() * x).sum()
    y.backward()
    return f"{y.item()!r} {[repr(v) for v in x.grad.tolist()]}"


def _corrupt(path: Path) -> None:
    """Flip bytes in the middle of the file (machine code in a data file, the pickle in an index)."""
    raw = bytearray(path.read_bytes())
    for i in range(len(raw) // 2, min(len(raw), len(raw) // 2 + 64)):
        raw[i] ^= 0x5A
    path.write_bytes(bytes(raw))


def test_corrupt_cache_files_are_detected_and_recompiled(tmp_path):
    cache = tmp_path / "numba"
    env = _env(NUMBA_CACHE_DIR=str(cache), AUTODIFF_CACHE_DIR=str(tmp_path / "autodiff"))
    expected = _expected()
    first = _run(CACHE_SCRIPT, env, tmp_path)
    assert first.stdout.strip() == expected
    data = sorted(cache.rglob("*.ck.*.nbc"))
    index = sorted(cache.rglob("*.ck.nbi"))
    generated = sorted((tmp_path / "autodiff").rglob("*.py"))
    assert data and index and generated, "the first run writes checksummed cache files"
    for p in data + index[::2]:
        _corrupt(p)
    for p in index[1::2]:
        p.write_bytes(p.read_bytes()[:7])  # truncated
    _corrupt(generated[0])
    second = _run(CACHE_SCRIPT, env, tmp_path)
    assert second.stdout.strip() == expected
    assert "KernelCacheWarning" in second.stderr and str(cache) in second.stderr
    third = _run(CACHE_SCRIPT, env, tmp_path)  # the bad entries were rewritten
    assert third.stdout.strip() == expected
    assert "KernelCacheWarning" not in third.stderr


THREADS_SCRIPT = """
import threading
import numba
import autodiff as ad
from autodiff import nn

errors = []

def train(seed):
    try:
        ad.manual_seed(seed)
        model = nn.Sequential(nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 1))
        opt = ad.optim.SGD(model.parameters(), lr=1e-3)
        x = ad.randn(512, 512)
        for _ in range(6):
            loss = (model(x) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        big = ad.randn(1 << 18)
        for _ in range(20):
            big = (big * 0.5).tanh() + 0.1
            big.sum().item()
    except BaseException as e:
        errors.append(e)

threads = [threading.Thread(target=train, args=(s,)) for s in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
assert not errors, errors
print(numba.threading_layer())
"""


def test_two_training_threads_under_workqueue_do_not_abort(tmp_path):
    env = _env(NUMBA_THREADING_LAYER="workqueue", NUMBA_CACHE_DIR=os.environ.get("NUMBA_CACHE_DIR", ""),
               AUTODIFF_CACHE_DIR=os.environ.get("AUTODIFF_CACHE_DIR", ""))
    env = {k: v for k, v in env.items() if v != ""}
    out = _run(THREADS_SCRIPT, env, tmp_path)
    assert out.stdout.strip() == "workqueue"
