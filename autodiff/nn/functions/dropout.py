"""Dropout: zero elements with probability p and scale the rest by 1 / (1 - p).
The mask comes from the global generator (``autodiff.manual_seed`` repeats it)."""

from __future__ import annotations

import warnings

from ... import factories
from ...tensor import Tensor


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Identity unless ``training``; else ``input * mask / (1 - p)`` with a Bernoulli(1 - p) mask."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        scale = factories.zeros_like(input)
    else:
        keep = factories.rand(input.shape, dtype=input.dtype, device=input.device) >= p
        scale = keep.to(input.dtype).mul_(1.0 / (1.0 - p))
    return input.mul_(scale) if inplace else input * scale


def _channel_dropout(input: Tensor, p: float, training: bool, inplace: bool, spatial: int) -> Tensor:
    """Zero whole channels: one Bernoulli(1 - p) draw per (sample, channel), scaled by 1 / (1 - p).
    ``spatial`` is the number of trailing dims a channel spans; the batch dim is optional."""
    name = f"dropout{spatial}d"
    lo, hi = spatial + 1, spatial + 2
    if spatial == 1 and input.dim() not in (lo, hi):
        raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {input.dim()}D input. Note that "
                           "dropout1d exists to provide channel-wise dropout on inputs with 1 spatial dimension, "
                           "a channel dimension, and an optional batch dimension (i.e. 2D or 3D inputs).")
    if spatial > 1 and input.dim() not in (lo, hi):
        warnings.warn(f"{name}: Received a {input.dim()}-D input to {name}, which is deprecated and will result "
                      f"in an error in a future release. To retain the behavior and silence this warning, please "
                      f"use dropout instead. Note that {name} exists to provide channel-wise dropout on inputs "
                      f"with {spatial} spatial dimensions, a channel dimension, and an optional batch dimension "
                      f"(i.e. {lo}D or {hi}D inputs).", stacklevel=3)
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    keep_dims = max(input.dim() - spatial, 1)
    mask_shape = input.shape[:keep_dims] + (1,) * (input.dim() - keep_dims)
    if p == 1.0:
        scale = factories.zeros(mask_shape, dtype=input.dtype)
    else:
        scale = (factories.rand(mask_shape, dtype=input.dtype) >= p).to(input.dtype).mul_(1.0 / (1.0 - p))
    return input.mul_(scale) if inplace else input * scale


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Channel-wise dropout of ``(N, C, L)`` or ``(C, L)`` input."""
    return _channel_dropout(input, p, training, inplace, 1)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Channel-wise dropout of ``(N, C, H, W)`` or ``(C, H, W)`` input."""
    return _channel_dropout(input, p, training, inplace, 2)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Channel-wise dropout of ``(N, C, D, H, W)`` or ``(C, D, H, W)`` input."""
    return _channel_dropout(input, p, training, inplace, 3)
