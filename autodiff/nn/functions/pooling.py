"""2-D pooling: argument handling (PyTorch's rules and errors) around the pooling ops."""

from __future__ import annotations

import numpy as np

from ...ops import pooling as pl
from ...ops.checks import check_window_params
from ...tensor import Tensor
from ._args import ntuple


def _batched(input: Tensor, name: str):
    if input.dim() not in (3, 4):
        raise RuntimeError(f"{name}: Expected 3D or 4D (batch mode) tensor for input, but got: "
                           f"{list(input.shape)}")
    return input.unsqueeze(0) if input.dim() == 3 else input


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """Window maxima; ``return_indices=True`` also returns each maximum's flat index in its plane."""
    x = _batched(input, "max_pool2d")
    k = ntuple(kernel_size, 2, "kernel_size")
    s = ntuple(stride if stride not in (None, ()) else kernel_size, 2, "stride")
    p, d = ntuple(padding, 2, "padding"), ntuple(dilation, 2, "dilation")
    check_window_params("max_pool2d", kernel_size=k, stride=s, padding=p, dilation=d)
    for pi, ki, di in zip(p, k, d):
        if pi > (di * (ki - 1) + 1) // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got pad={pi}, "
                               f"kernel_size={ki} and dilation={di}")
    out_hw = tuple(pl.pool_out_size(n, ki, si, pi, di, ceil_mode)
                   for n, ki, si, pi, di in zip(x.shape[2:], k, s, p, d))
    if min(out_hw) <= 0:
        raise RuntimeError(f"max_pool2d: Given input size: ({'x'.join(map(str, x.shape[1:]))}). Calculated "
                           f"output size: ({x.shape[1]}x{out_hw[0]}x{out_hw[1]}). Output size is too small")
    out, indices = pl.max_pool2d(x, kernel_size=k, stride=s, padding=p, dilation=d, out_hw=out_hw)
    if input.dim() == 3:
        out, indices = out.squeeze(0), indices.squeeze(0)
    return (out, indices) if return_indices else out


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """Window means, with PyTorch's padding, ceil_mode, count_include_pad and divisor_override."""
    x = _batched(input, "avg_pool2d")
    k = ntuple(kernel_size, 2, "kernel_size")
    s = ntuple(stride if stride not in (None, ()) else kernel_size, 2, "stride")
    p = ntuple(padding, 2, "padding")
    check_window_params("avg_pool2d", kernel_size=k, stride=s, padding=p)
    for pi, ki in zip(p, k):
        if pi > ki // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got pad={pi}, "
                               f"kernel_size={ki} and dilation=1")
    (h0, h1, hp), (w0, w1, wp) = (pl.avg_windows(n, ki, si, pi, ceil_mode)
                                  for n, ki, si, pi in zip(x.shape[2:], k, s, p))
    if min(len(h0), len(w0)) <= 0:
        raise RuntimeError(f"avg_pool2d: Given input size: ({'x'.join(map(str, x.shape[1:]))}). Calculated "
                           f"output size: ({x.shape[1]}x{len(h0)}x{len(w0)}). Output size is too small")
    div = pl.avg_pool_divisors(hp, wp, h1 - h0, w1 - w0, count_include_pad, divisor_override)
    out = pl.avg_pool2d(x, h0=h0, h1=h1, w0=w0, w1=w1, div=div)
    return out.squeeze(0) if input.dim() == 3 else out


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Means over PyTorch's adaptive bins, giving exactly ``output_size`` (None keeps that dim)."""
    x = _batched(input, "adaptive_avg_pool2d")
    size = output_size if isinstance(output_size, (tuple, list)) else (output_size, output_size)
    size = tuple(n if o is None else int(o) for o, n in zip(size, x.shape[2:]))
    (h0, h1), (w0, w1) = (pl.adaptive_windows(n, o) for n, o in zip(x.shape[2:], size))
    div = np.outer(h1 - h0, w1 - w0).astype(np.float64)
    out = pl.adaptive_avg_pool2d(x, h0=h0, h1=h1, w0=w0, w1=w1, div=div)
    return out.squeeze(0) if input.dim() == 3 else out
