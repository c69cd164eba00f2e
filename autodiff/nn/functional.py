"""``autodiff.nn.functional``: activation functions (layers and losses join later)."""

from __future__ import annotations

import math

from ..ops import elementwise as ew
from ..ops.indexing import one_hot  # noqa: F401
from ..ops.joining import pad  # noqa: F401
from ..tensor import Tensor


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    return ew.relu.apply_(input) if inplace else ew.relu(input)


def sigmoid(input: Tensor) -> Tensor:
    return ew.sigmoid(input)


def tanh(input: Tensor) -> Tensor:
    return ew.tanh(input)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x) (exact, one fused kernel), or the tanh approximation when asked."""
    if approximate == "none":
        return ew.gelu(input)
    if approximate == "tanh":
        inner = (input + input * input * input * 0.044715) * math.sqrt(2 / math.pi)
        return input * 0.5 * (ew.tanh(inner) + 1)
    raise RuntimeError(f"approximate argument must be either none or tanh, got {approximate!r}")


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    return ew.silu.apply_(input) if inplace else ew.silu(input)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta * x)) / beta, linear where beta * x > threshold (for stability)."""
    return ew.softplus(input, beta, threshold)
