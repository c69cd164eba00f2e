"""Times the CUDA kernels on a real GPU (run by benchmarks/gpu_check.sh; needs a GPU).

* The README's elementwise chain ``(x*w + x).tanh()*2 - w`` on 64M float32, one kernel
  per op as the backend will launch them: bytes moved / time as a fraction of the card's
  HBM peak (from its memory clock and bus width) and of a measured device-to-device copy.
* A 4096^2 float32 GEMM with each tile shape in ``TILE_CHOICES``: GFLOP/s, and the
  fraction of torch's cuBLAS with TF32 off, when torch with CUDA is installed.

Not a pytest file (it needs a GPU and prints a report): ``python benchmarks/gpu_kernels.py``.
"""

from __future__ import annotations

import numpy as np
from numba import cuda

from kernels.cuda import elementwise as ew
from kernels.cuda import matmul as mm

TILE_CHOICES = [mm.Tiles(16, 16, 4, 4, 16), mm.Tiles(16, 16, 8, 8, 8), mm.Tiles(8, 32, 8, 4, 16)]


def _time_ms(fn, reps: int = 10) -> float:
    """Best of ``reps`` runs of ``fn`` (after one warm-up), in ms, by CUDA events."""
    fn()
    cuda.synchronize()
    best = float("inf")
    for _ in range(reps):
        start, stop = cuda.event(), cuda.event()
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        best = min(best, start.elapsed_time(stop))
    return best


def _peak_bandwidth() -> float:
    """The card's HBM peak in bytes/s: double data rate x memory clock x bus width."""
    dev = cuda.get_current_device()
    return 2 * dev.MEMORY_CLOCK_RATE * 1e3 * dev.GLOBAL_MEMORY_BUS_WIDTH / 8


def elementwise_chain(n: int = 64 << 20) -> None:
    rng = np.random.default_rng(0)
    x = cuda.to_device(rng.standard_normal(n, dtype=np.float32))
    w = cuda.to_device(rng.standard_normal(n, dtype=np.float32))
    t1, t2 = cuda.device_array(n, np.float32), cuda.device_array(n, np.float32)
    X, W, T1, T2 = (ew.contiguous(a, (n,)) for a in (x, w, t1, t2))

    def chain():
        ew.run("mul", "float32", T1, X, W)
        ew.run("add", "float32", T1, T1, X)
        ew.run("tanh", "float32", T2, T1)
        ew.run("mul", "float32", T2, T2, np.float32(2))
        ew.run("sub", "float32", T1, T2, W)

    ms = _time_ms(chain)
    moved = (3 + 3 + 2 + 2 + 3) * 4 * n  # reads + writes of the five kernels
    copy_ms = _time_ms(lambda: t2.copy_to_device(x))
    copy_bw = 2 * 4 * n / (copy_ms * 1e-3)
    bw = moved / (ms * 1e-3)
    print(f"elementwise chain, 5 kernels, {n} float32: {ms:.3f} ms, {bw / 1e9:.0f} GB/s = "
          f"{bw / _peak_bandwidth():.0%} of HBM peak ({_peak_bandwidth() / 1e9:.0f} GB/s), "
          f"{bw / copy_bw:.0%} of a device copy ({copy_bw / 1e9:.0f} GB/s)")
    xs, ws = x.copy_to_host()[:1000], w.copy_to_host()[:1000]
    want = np.tanh(xs * ws + xs) * 2 - ws
    print("  max abs error vs NumPy on the first 1000:", float(np.abs(t1.copy_to_host()[:1000] - want).max()))


def gemm(n: int = 4096) -> None:
    rng = np.random.default_rng(1)
    a_h = rng.standard_normal((1, n, n), dtype=np.float32)
    b_h = rng.standard_normal((1, n, n), dtype=np.float32)
    a, b = cuda.to_device(a_h), cuda.to_device(b_h)
    out = cuda.device_array((1, n, n), np.float32)
    flops = 2 * n ** 3
    torch_ms = _torch_gemm_ms(a_h, b_h)
    for tiles in TILE_CHOICES:
        ms = _time_ms(lambda t=tiles: mm.gemm(a, b, out, tiles=t), reps=5)
        rel = f", {torch_ms / ms:.0%} of torch cuBLAS (TF32 off)" if torch_ms else ""
        print(f"gemm {n}^2 float32 tiles {tuple(tiles)}: {ms:.2f} ms, {flops / ms / 1e9:.0f} TFLOP/s"
              f"{rel}")
    got = out.copy_to_host()[0, :64, :64]
    want = a_h[0, :64].astype(np.float64) @ b_h[0, :, :64].astype(np.float64)
    print("  max rel error vs float64 on a 64x64 corner:", float(np.abs(got - want).max() / np.abs(want).max()))
    if torch_ms:
        print(f"torch cuBLAS {n}^2 float32, TF32 off: {torch_ms:.2f} ms, {flops / torch_ms / 1e9:.0f} TFLOP/s")


def _torch_gemm_ms(a_h: np.ndarray, b_h: np.ndarray) -> float | None:
    try:
        import torch
    except ImportError:
        print("torch is not installed: no cuBLAS comparison")
        return None
    if not torch.cuda.is_available():
        print("torch has no CUDA here: no cuBLAS comparison")
        return None
    torch.backends.cuda.matmul.allow_tf32 = False
    a, b = torch.from_numpy(a_h[0]).cuda(), torch.from_numpy(b_h[0]).cuda()
    torch.matmul(a, b)
    torch.cuda.synchronize()
    best = float("inf")
    for _ in range(5):
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        torch.matmul(a, b)
        stop.record()
        stop.synchronize()
        best = min(best, start.elapsed_time(stop))
    return best


if __name__ == "__main__":
    print(cuda.get_current_device().name.decode() if isinstance(cuda.get_current_device().name, bytes)
          else cuda.get_current_device().name)
    elementwise_chain()
    gemm()
