"""``conv1d`` and ``conv2d``: argument handling around the convolution ops
(``autodiff/ops/convolution.py``). 1-D convolution runs as 2-D with a height of 1."""

from __future__ import annotations

from ...ops import convolution as cv
from ...ops.joining import pad as _pad
from ...tensor import Tensor
from ._args import ntuple


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    """2-D convolution over ``(N, C, H, W)`` (or unbatched ``(C, H, W)``) input, as torch.nn.functional.conv2d."""
    if input.dim() == 3:
        return conv2d(input.unsqueeze(0), weight, bias, stride, padding, dilation, groups).squeeze(0)
    stride, dilation = ntuple(stride, 2, "stride"), ntuple(dilation, 2, "dilation")
    if isinstance(padding, str):
        input, padding = _string_padding(input, padding, weight.shape[2:], stride, dilation)
    return cv.convolution(input, weight, bias, stride=stride, padding=ntuple(padding, 2, "padding"),
                          dilation=dilation, groups=groups)


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    """1-D convolution over ``(N, C, L)`` (or unbatched ``(C, L)``) input, as torch.nn.functional.conv1d."""
    if input.dim() == 2:
        return conv1d(input.unsqueeze(0), weight, bias, stride, padding, dilation, groups).squeeze(0)
    if input.dim() != 3:
        raise RuntimeError(f"Expected 2D (unbatched) or 3D (batched) input to conv1d, but got input of "
                           f"size: {list(input.shape)}")
    pad = padding if isinstance(padding, str) else (0, ntuple(padding, 1, "padding")[0])
    out = conv2d(input.unsqueeze(2), weight.unsqueeze(2), bias, (1, ntuple(stride, 1, "stride")[0]), pad,
                 (1, ntuple(dilation, 1, "dilation")[0]), groups)
    return out.squeeze(2)


def _string_padding(input: Tensor, padding: str, kernel: tuple, stride: tuple, dilation: tuple):
    """'valid' is no padding; 'same' pads d * (k - 1) in total per dim, the odd one at the end."""
    if padding == "valid":
        return input, (0, 0)
    if padding != "same":
        raise RuntimeError(f"Invalid padding string: '{padding}'")
    if any(s != 1 for s in stride):
        raise RuntimeError("padding='same' is not supported for strided convolutions")
    totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
    if all(t % 2 == 0 for t in totals):
        return input, tuple(t // 2 for t in totals)
    extra = (0, totals[1] % 2, 0, totals[0] % 2)
    return _pad(input, extra), tuple(t // 2 for t in totals)
