"""Affine maps: ``linear`` (y = x W^T + b) and ``bilinear`` (y_k = x1^T A_k x2 + b_k)."""

from __future__ import annotations

from ...ops import linear as _linear
from ...tensor import Tensor


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias`` over the last dim of ``input`` (any leading dims)."""
    if input.shape[-1:] != weight.shape[-1:]:
        rows = 1 if input.dim() < 2 else input.numel() // max(input.shape[-1], 1)
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({rows}x{input.shape[-1] if input.dim() else 1} "
            f"and {weight.shape[-1]}x{weight.shape[0]})")
    return _linear.linear(input, weight, bias)


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``y[..., k] = sum_ij input1[..., i] * weight[k, i, j] * input2[..., j] + bias[k]``:
    one matmul against the weight laid out as (in1, out * in2), then a product-sum over in2."""
    out_f, in1, in2 = weight.shape
    if input1.shape[-1] != in1 or input2.shape[-1] != in2:
        raise RuntimeError(
            f"bilinear(): input sizes {list(input1.shape)} and {list(input2.shape)} do not match the "
            f"weight {list(weight.shape)} (expected last dims {in1} and {in2})")
    lead = input1.shape[:-1]
    x1 = input1.reshape(-1, in1)
    x2 = input2.reshape(-1, in2)
    t = _linear.linear(x1, weight.permute(1, 0, 2).reshape(in1, out_f * in2).t(), None).reshape(-1, out_f, in2)
    out = (t * x2.unsqueeze(1)).sum(dim=-1)
    if bias is not None:
        out = out + bias
    return out.reshape(lead + (out_f,))
