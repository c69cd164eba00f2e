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


def _transposed_out(size: int, k: int, stride: int, pad: int, out_pad: int, dil: int) -> int:
    return (size - 1) * stride - 2 * pad + dil * (k - 1) + out_pad + 1


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
                     output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """2-D transposed convolution (the adjoint of conv2d with ``weight``), as
    torch.nn.functional.conv_transpose2d. ``weight``: ``(C_in, C_out // groups, KH, KW)``.

    Computed by the convolution's input-gradient op, so its gradients are a convolution
    (input) and the convolution's weight gradient (weight)."""
    if input.dim() == 3:
        return conv_transpose2d(input.unsqueeze(0), weight, bias, stride, padding, output_padding, groups,
                                dilation).squeeze(0)
    if input.dim() != 4:
        raise RuntimeError(f"Expected 3D (unbatched) or 4D (batched) input to conv_transpose2d, but got input "
                           f"of size: {list(input.shape)}")
    stride, padding = ntuple(stride, 2, "stride"), ntuple(padding, 2, "padding")
    output_padding, dilation = ntuple(output_padding, 2, "output_padding"), ntuple(dilation, 2, "dilation")
    if weight.dim() != 4:
        raise RuntimeError(f"weight should have at least three dimensions, got {weight.dim()}")
    if groups <= 0 or weight.shape[0] % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, "
                           f"but got weight of size [{list(weight.shape)}] instead")
    if input.shape[1] != weight.shape[0]:
        raise RuntimeError(f"Given transposed=1, weight of size {list(weight.shape)}, expected input"
                           f"{list(input.shape)} to have {weight.shape[0]} channels, but got {input.shape[1]} "
                           "channels instead")
    if any(op >= s and op >= d for op, s, d in zip(output_padding, stride, dilation)):
        raise RuntimeError(
            "output padding must be smaller than either stride or dilation, but got output_padding_height: "
            f"{output_padding[0]} output_padding_width: {output_padding[1]} stride_height: {stride[0]} "
            f"stride_width: {stride[1]} dilation_height: {dilation[0]} dilation_width: {dilation[1]}")
    n, _, h, w = input.shape
    out_hw = tuple(_transposed_out(size, k, s, p, op, d) for size, k, s, p, op, d in
                   zip((h, w), weight.shape[2:], stride, padding, output_padding, dilation))
    if min(out_hw) <= 0:
        raise RuntimeError(f"Given input size per channel: ({h} x {w}). Calculated output size per channel: "
                           f"({out_hw[0]} x {out_hw[1]}). Output size is too small")
    # the convolution of an out_hw image may cover one more row/column than the input has
    # (output_padding >= stride, allowed when below dilation): that extra line is zero
    conv_hw = [cv.out_size(o, k, s, p, d) for o, k, s, p, d in zip(out_hw, weight.shape[2:], stride, padding,
                                                                    dilation)]
    if conv_hw != [h, w]:
        input = _pad(input, (0, conv_hw[1] - w, 0, conv_hw[0] - h))
    return cv.conv_transpose(input, weight, bias, output_size=(n, weight.shape[1] * groups) + out_hw,
                             stride=stride, padding=padding, dilation=dilation, groups=groups)


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
                     output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """1-D transposed convolution over ``(N, C, L)`` (or ``(C, L)``) input, as 2-D with a height of 1."""
    if input.dim() == 2:
        return conv_transpose1d(input.unsqueeze(0), weight, bias, stride, padding, output_padding, groups,
                                dilation).squeeze(0)
    if input.dim() != 3:
        raise RuntimeError(f"Expected 2D (unbatched) or 3D (batched) input to conv_transpose1d, but got input "
                           f"of size: {list(input.shape)}")
    one = [(1, ntuple(v, 1, name)[0]) for v, name in ((stride, "stride"), (dilation, "dilation"))]
    pads = [(0, ntuple(v, 1, name)[0]) for v, name in ((padding, "padding"), (output_padding, "output_padding"))]
    out = conv_transpose2d(input.unsqueeze(2), weight.unsqueeze(2), bias, one[0], pads[0], pads[1], groups,
                           one[1])
    return out.squeeze(2)
