"""Dropout: zero elements with probability p and scale the rest by 1 / (1 - p).
The mask comes from the global generator (``autodiff.manual_seed`` repeats it)."""

from __future__ import annotations

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
        keep = factories.rand(input.shape, dtype=input.dtype) >= p
        scale = keep.to(input.dtype).mul_(1.0 / (1.0 - p))
    return input.mul_(scale) if inplace else input * scale
