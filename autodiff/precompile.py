"""Compile the common kernels into the on-disk cache ahead of time.

Every kernel compiles on its first use and is cached on disk (see docs/kernels.md), so
the first training step after installing autodiff, in a fresh virtual environment or on
a fresh CI machine waits for the compiler (seconds to tens of seconds). Run this once
after installing, with the same cache directory your programs will use::

    python -m autodiff.precompile            # every warm-up, in parallel processes
    python -m autodiff.precompile mlp gpt -j 2

Each warm-up runs a small float32 training step through the layers it names (forward,
backward, optimizer step), on sizes that reach both the serial and the threaded kernel
variants. Warm-ups run in separate processes at once (``-j``, default: one per core),
each writing what it compiled to the shared cache.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable


def _step(loss, opt) -> None:
    opt.zero_grad()
    loss().backward()
    opt.step()


def _mlp() -> None:
    import autodiff as ad
    nn, F = ad.nn, ad.nn.functional
    for batch in (8, 512):
        model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 10))  # 401K weights: threaded update
        x, y = ad.randn(batch, 784), ad.randint(0, 10, (batch,))
        for opt in (ad.optim.Adam(model.parameters()), ad.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)):
            _step(lambda: F.cross_entropy(model(x), y), opt)  # noqa: B023 (called at once)


def _cnn() -> None:
    import autodiff as ad
    nn, F = ad.nn, ad.nn.functional
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(8 * 14 * 14, 10))
    for batch in (2, 64):
        x, y = ad.randn(batch, 1, 28, 28), ad.randint(0, 10, (batch,))
        _step(lambda: F.cross_entropy(model(x), y), ad.optim.Adam(model.parameters()))  # noqa: B023


def _gpt() -> None:
    """One pre-LayerNorm transformer block with tied embeddings, as small GPTs are written."""
    import autodiff as ad
    nn, F = ad.nn, ad.nn.functional
    vocab, d, heads = 64, 32, 2
    tok, pos = nn.Embedding(vocab, d), nn.Embedding(64, d)
    ln1, ln2, ln = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)
    qkv, proj, fc, out = nn.Linear(d, 3 * d), nn.Linear(d, d), nn.Linear(d, 4 * d), nn.Linear(4 * d, d)
    model = nn.ModuleList([tok, pos, ln1, ln2, ln, qkv, proj, fc, out])

    def loss_of(B: int, L: int) -> Callable:
        idx, tgt = ad.randint(0, vocab, (B, L)), ad.randint(0, vocab, (B, L))
        mask = ad.ones(L, L, dtype=ad.bool).triu(1)

        def loss():
            x = tok(idx) + pos(ad.arange(L))
            q, k, v = (t.view(B, L, heads, d // heads).transpose(1, 2) for t in qkv(ln1(x)).split(d, dim=2))
            att = ((q @ k.transpose(-2, -1)) * (1 / math.sqrt(d // heads))).masked_fill(mask, float("-inf"))
            x = x + proj((att.softmax(dim=-1) @ v).transpose(1, 2).reshape(B, L, d))
            x = x + out(F.gelu(fc(ln2(x))))
            return F.cross_entropy(F.linear(ln(x), tok.weight).reshape(-1, vocab), tgt.reshape(-1))
        return loss

    for B, L in ((2, 8), (64, 64)):
        _step(loss_of(B, L), ad.optim.AdamW(model.parameters()))


WARMUPS: dict[str, Callable[[], None]] = {"mlp": _mlp, "cnn": _cnn, "gpt": _gpt}


def _run_one(name: str) -> None:
    from kernels import compile_watch

    start = time.perf_counter()
    WARMUPS[name]()
    done = compile_watch.compiled()
    print(f"{name}: {len(done)} kernel specialisations compiled in {time.perf_counter() - start:.1f} s")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m autodiff.precompile", description=__doc__.splitlines()[0])
    parser.add_argument("warmups", nargs="*", default=list(WARMUPS), help="any of: " + ", ".join(WARMUPS))
    parser.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1, help="processes at once")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        _run_one(args.one)
        return
    unknown = set(args.warmups) - set(WARMUPS)
    if unknown:
        parser.error(f"unknown warm-ups {sorted(unknown)}; choose from {', '.join(WARMUPS)}")
    from kernels.cache_dir import cache_root

    print(f"compiling autodiff's common kernels into {cache_root()} ({args.jobs} processes)", flush=True)
    env = {**os.environ, "AUTODIFF_COMPILE_NOTICE": "0"}
    start, pending, running, failed = time.perf_counter(), list(args.warmups), [], []
    while pending or running:
        while pending and len(running) < max(1, args.jobs):
            name = pending.pop(0)
            running.append((name, subprocess.Popen([sys.executable, "-m", "autodiff.precompile", "--one", name],
                                                   env=env)))
        name, proc = running.pop(0)
        if proc.wait():
            failed.append(name)
    print(f"done in {time.perf_counter() - start:.1f} s")
    if failed:
        raise SystemExit(f"warm-ups failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
