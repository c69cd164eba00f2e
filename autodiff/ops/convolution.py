"""2-D convolution as three ops, the three linear maps of ``y = conv(x, w)``:

* ``convolution(input, weight, bias)``: the forward (bias added in the same kernel);
* ``conv2d_input(grad_output, weight)``: ``J_x^T grad_output``, a transposed convolution;
* ``conv2d_weight(input, grad_output)``: ``J_w^T grad_output``.

Each is linear in each operand, and the adjoint of each is one of the others, so the
backward rules below close over the three ops and any order of gradients works:
``<conv2d_input(g, w), v> = <g, conv(v, w)>`` and ``<conv2d_weight(x, g), u> = <g, conv(x, u)>``.
Names follow ``torch.nn.grad.conv2d_input``/``conv2d_weight``. 1-D convolution is the
2-D one with a height of 1 (see ``autodiff.nn.functional.conv1d``).
"""

from __future__ import annotations

import numpy as np

from .. import backends
from ..backends import backend_of, contiguous
from ..backends.meta import MetaArray

from .checks import check_window_params
from .op import Op


def channels_last(a) -> bool:
    """A 4-D array laid out NHWC (and not also NCHW-contiguous), as ``memory_format=channels_last`` makes."""
    if a.ndim != 4 or a.flags.c_contiguous:
        return False
    n, c, h, w = a.shape
    expected = (h * w * c, 1, w * c, c)
    return all(size == 1 or st == e * a.itemsize for size, st, e in zip(a.shape, a.strides, expected))


def nhwc(a):
    """The (N, H, W, C) C-contiguous array behind a 4-D NCHW-shaped ``a``: a view when ``a``
    is channels_last, else one copy."""
    t = a.transpose(0, 2, 3, 1)
    return t if t.flags.c_contiguous else backends.copy(t)


def out_size(size: int, k: int, stride: int, pad: int, dil: int) -> int:
    """Output length of a convolution or pooling window sweep (floor mode)."""
    return (size + 2 * pad - dil * (k - 1) - 1) // stride + 1


def _geometry(x_shape, w_shape, stride, padding, dilation):
    KH, KW = w_shape[2:]
    OH = out_size(x_shape[2], KH, stride[0], padding[0], dilation[0])
    OW = out_size(x_shape[3], KW, stride[1], padding[1], dilation[1])
    return (KH, KW, stride[0], stride[1], padding[0], padding[1], dilation[0], dilation[1]), OH, OW


def _check(input: np.ndarray, weight: np.ndarray, groups: int, padding, dilation) -> None:
    if input.ndim != 4:
        raise RuntimeError(f"Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of "
                           f"size: {list(input.shape)}")
    if input.dtype != weight.dtype:
        raise RuntimeError(f"Input type ({input.dtype}) and weight type ({weight.dtype}) should be the same")
    C, O = input.shape[1], weight.shape[0]
    if C != weight.shape[1] * groups:
        raise RuntimeError(
            f"Given groups={groups}, weight of size {list(weight.shape)}, expected input"
            f"{list(input.shape)} to have {weight.shape[1] * groups} channels, but got {C} channels instead")
    if O % groups:
        raise RuntimeError("out_channels must be divisible by groups")
    for size, k, p, d in zip(input.shape[2:], weight.shape[2:], padding, dilation):
        if size + 2 * p < d * (k - 1) + 1:
            raise RuntimeError(
                f"Calculated padded input size per channel: ({input.shape[2] + 2 * padding[0]} x "
                f"{input.shape[3] + 2 * padding[1]}). Kernel size: ({weight.shape[2]} x {weight.shape[3]}). "
                "Kernel size can't be greater than actual input size")


def _check_conv(input, weight, bias, stride, padding, dilation, groups) -> None:
    check_window_params("conv2d", stride=stride, padding=padding, dilation=dilation, groups=groups)
    if weight.ndim != 4:
        raise RuntimeError(f"conv2d: expected a 4-D weight (out_channels, in_channels / groups, kH, kW), "
                           f"got shape {list(weight.shape)}")
    _check(input, weight, groups, padding, dilation)
    if bias is not None and bias.dtype != input.dtype:
        raise RuntimeError(f"Input type ({input.dtype}) and bias type ({bias.dtype}) should be the same")
    if bias is not None and bias.shape != (weight.shape[0],):
        raise RuntimeError(f"Given weight of size {list(weight.shape)}, expected bias to be 1-dimensional "
                           f"with {weight.shape[0]} elements, but got bias of size {list(bias.shape)} instead")


def _conv_meta(input, weight, bias, stride, padding, dilation, groups) -> MetaArray:
    _check_conv(input, weight, bias, stride, padding, dilation, groups)
    _, OH, OW = _geometry(input.shape, weight.shape, stride, padding, dilation)
    # contiguous even for channels_last operands: torch's meta convolution reports that too
    return MetaArray((input.shape[0], weight.shape[0], OH, OW), input.dtype)


def _conv_forward(input, weight, bias, stride, padding, dilation, groups):
    be = backend_of(input)
    _check_conv(input, weight, bias, stride, padding, dilation, groups)
    if input.dtype.kind != "f":  # the kernels are BLAS (float) only: exact in float64 below 2**53
        f64 = [None if a is None else be.copy(a, np.float64) for a in (input, weight, bias)]
        return be.copy(_conv_forward(*f64, stride, padding, dilation, groups), input.dtype)
    geo, OH, OW = _geometry(input.shape, weight.shape, stride, padding, dilation)
    N, O = input.shape[0], weight.shape[0]
    has_bias = bias is not None
    b = contiguous(bias) if has_bias else be.zeros(O, input.dtype)
    if channels_last(input):  # im2col reads the NHWC input in place, GEMMs write NHWC
        y = be.empty((N, OH, OW, O), input.dtype)
        be.conv.conv2d_forward_nhwc(nhwc(input), nhwc(weight).reshape(O, -1), b, has_bias,
                                    y.reshape(N, OH * OW, O), *geo, groups, OH, OW, empty=be.empty)
        return y.transpose(0, 3, 1, 2)
    if channels_last(weight):
        # torch's memory format: the kernel's GEMMs write each sample's (O, OH*OW) block
        # straight into an NHWC buffer (a column-major view, which BLAS takes as it is)
        y4 = be.empty((N, OH, OW, O), input.dtype).transpose(0, 3, 1, 2)
    else:
        y4 = be.empty((N, O, OH, OW), input.dtype)
    w2 = contiguous(weight).reshape(O, -1)
    be.conv.conv2d_forward(contiguous(input), w2, b, has_bias, y4.reshape(N, O, OH * OW), *geo, groups, OH, OW,
                           empty=be.empty)
    return y4


def _conv_input_forward(grad_output, weight, input_size, stride, padding, dilation, groups):
    be = backend_of(grad_output)
    geo, OH, OW = _geometry(input_size, weight.shape, stride, padding, dilation)
    N, O = grad_output.shape[:2]
    if channels_last(grad_output) or channels_last(weight):  # the input's format, as torch keeps it
        N, C, H, W = input_size
        gx = be.empty((N, H, W, C), grad_output.dtype)
        be.conv.conv2d_input_nhwc(nhwc(grad_output).reshape(N, OH * OW, O), nhwc(weight).reshape(O, -1), gx,
                                  *geo, groups, OH, OW, empty=be.empty)
        return gx.transpose(0, 3, 1, 2)
    gx = be.empty(input_size, grad_output.dtype)
    be.conv.conv2d_input(contiguous(grad_output).reshape(N, O, OH * OW), contiguous(weight).reshape(O, -1), gx,
                         *geo, groups, OH, OW, empty=be.empty)
    return gx


def _conv_weight_forward(input, grad_output, weight_size, stride, padding, dilation, groups):
    be = backend_of(input)
    geo, OH, OW = _geometry(input.shape, weight_size, stride, padding, dilation)
    N, O = grad_output.shape[:2]
    gw = be.empty((O, int(np.prod(weight_size[1:]))), input.dtype)
    if channels_last(input):  # gw in (O, KH, KW, Cg) order: a channels_last weight gradient
        be.conv.conv2d_weight(nhwc(input), nhwc(grad_output).reshape(N, OH * OW, O), gw, *geo, groups,
                              OH, OW, nhwc=True, empty=be.empty)
        Cg, KH, KW = weight_size[1:]
        return gw.reshape(O, KH, KW, Cg).transpose(0, 3, 1, 2)
    be.conv.conv2d_weight(contiguous(input), contiguous(grad_output).reshape(N, O, OH * OW), gw, *geo, groups, OH, OW,
                          empty=be.empty)
    return gw.reshape(weight_size)


convolution = Op("convolution", ("input", "weight", "bias"), _conv_forward, (
    lambda grad, weight, input_shape, stride, padding, dilation, groups: conv2d_input(
        grad, weight, input_size=input_shape, stride=stride, padding=padding, dilation=dilation,
        groups=groups),
    lambda grad, input, weight_shape, stride, padding, dilation, groups: conv2d_weight(
        input, grad, weight_size=weight_shape, stride=stride, padding=padding, dilation=dilation,
        groups=groups),
    lambda grad: grad.sum(dim=(0, 2, 3)),
), meta=_conv_meta)

conv2d_input = Op("conv2d_input", ("grad_output", "weight"), _conv_input_forward, (
    lambda grad, weight, stride, padding, dilation, groups: convolution(
        grad, weight, None, stride=stride, padding=padding, dilation=dilation, groups=groups),
    lambda grad, grad_output, weight_shape, stride, padding, dilation, groups: conv2d_weight(
        grad, grad_output, weight_size=weight_shape, stride=stride, padding=padding, dilation=dilation,
        groups=groups),
), meta=lambda grad_output, weight, input_size, **geometry: MetaArray(input_size, grad_output.dtype))

conv2d_weight = Op("conv2d_weight", ("input", "grad_output"), _conv_weight_forward, (
    lambda grad, grad_output, input_shape, stride, padding, dilation, groups: conv2d_input(
        grad_output, grad, input_size=input_shape, stride=stride, padding=padding, dilation=dilation,
        groups=groups),
    lambda grad, input, stride, padding, dilation, groups: convolution(
        input, grad, None, stride=stride, padding=padding, dilation=dilation, groups=groups),
), meta=lambda input, grad_output, weight_size, **geometry: MetaArray(weight_size, input.dtype))



def _conv_transpose_meta(input, weight, bias, output_size, **geometry) -> MetaArray:
    for name, other in (("weight", weight), ("bias", bias)):
        if other is not None and other.dtype != input.dtype:
            raise RuntimeError(f"Input type ({input.dtype}) and {name} type ({other.dtype}) should be the same")
    if bias is not None and bias.shape != (output_size[1],):
        raise RuntimeError(f"Given transposed=1, weight of size {list(weight.shape)}, expected bias to be "
                           f"1-dimensional with {output_size[1]} elements, but got bias of size "
                           f"{list(bias.shape)} instead")
    return MetaArray(output_size, input.dtype)


def _conv_transpose_forward(input, weight, bias, output_size, stride, padding, dilation, groups):
    _conv_transpose_meta(input, weight, bias, output_size)
    out = _conv_input_forward(input, weight, output_size, stride, padding, dilation, groups)
    if bias is not None:
        backend_of(out).elementwise("add", out.dtype, out, out, bias.reshape(1, -1, 1, 1))
    return out


# the transposed convolution with its bias: conv2d_input's map plus a bias, in one node named
# as torch's (where one convolution op serves both directions)
conv_transpose = Op("conv_transpose", ("input", "weight", "bias"), _conv_transpose_forward, (
    conv2d_input.vjps[0],
    lambda grad, input, weight_shape, stride, padding, dilation, groups: conv2d_weight(
        grad, input, weight_size=weight_shape, stride=stride, padding=padding, dilation=dilation, groups=groups),
    lambda grad: grad.sum(dim=(0, 2, 3)),
), node_name="ConvolutionBackward0", meta=_conv_transpose_meta)
