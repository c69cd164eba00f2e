"""Memory formats: ``contiguous_format``, ``channels_last`` (4-D tensors stored NHWC while
indexed NCHW) and ``preserve_format``, as ``torch.memory_format``.

A channels-last tensor is an NCHW-shaped NumPy view over an NHWC buffer: every op reads
it through its strides. Kernels that need C-contiguous NCHW operands (convolution,
pooling) make one NCHW copy of such an input; their results, and those of elementwise
ops, are NCHW-contiguous (PyTorch would keep channels-last), which changes no values.
"""

from __future__ import annotations

import numpy as np

from .backends import backend_for, backend_of
from .backends.layout import elementwise_strides
from .backends.meta import MetaArray
from .ops.op import Op
from .tensor import Tensor


class memory_format:
    """A tensor memory layout."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"autodiff.{self.name}"


contiguous_format = memory_format("contiguous_format")
channels_last = memory_format("channels_last")
preserve_format = memory_format("preserve_format")


def is_channels_last(data: np.ndarray) -> bool:
    """Whether a 4-D array's strides are those of an NHWC buffer (size-1 dims ignored, as torch)."""
    if data.ndim != 4:
        return False
    expected = 1
    for d in (1, 3, 2, 0):
        if data.shape[d] != 1 and data.strides[d] != expected * data.itemsize:
            return False
        expected *= data.shape[d]
    return True


def _check(fmt, data: np.ndarray, name: str) -> None:
    if not isinstance(fmt, memory_format):
        raise TypeError(f"{name}(): argument 'memory_format' must be autodiff.memory_format, not "
                        f"{type(fmt).__name__}")
    if fmt is channels_last and data.ndim != 4:
        raise RuntimeError("required rank 4 tensor to use channels_last format")


def empty_in_format(shape: tuple, dtype, fmt, like=None):
    """An uninitialised array of ``shape`` laid out as ``fmt`` (``preserve_format``: as ``like``),
    on ``like``'s backend (the CPU without it)."""
    be = backend_of(like) if like is not None else backend_for("cpu")
    if fmt is preserve_format:
        fmt = channels_last if like is not None and is_channels_last(like) and not like.flags.c_contiguous \
            else contiguous_format
        if fmt is contiguous_format and like is not None:  # the source's dense order, as torch's clone
            return be.empty_strided(tuple(shape), elementwise_strides(tuple(shape), [like]), dtype)
    if fmt is not channels_last:
        return be.empty(tuple(shape), dtype)
    n, c, h, w = shape
    nhwc = be.empty((n, h, w, c), dtype)
    if isinstance(nhwc, MetaArray):
        s = nhwc.strides
        return MetaArray(shape, nhwc.dtype, (s[0], s[3], s[1], s[2]))
    return nhwc.transpose(0, 3, 1, 2)


def _copy_forward(data, fmt):
    out = empty_in_format(data.shape, data.dtype, fmt, data)
    return backend_of(out).elementwise("copy", data.dtype.name, out, data)


_clone = Op("clone", ("self",), _copy_forward, (lambda grad: grad,),
            meta=lambda data, fmt: empty_in_format(data.shape, data.dtype, fmt, data))


def clone(input: Tensor, *, memory_format=preserve_format) -> Tensor:
    """A copy of ``input`` laid out as ``memory_format`` (``preserve_format``: as input)."""
    _check(memory_format, input._data, "clone")
    return _clone(input, fmt=memory_format)


def contiguous(input: Tensor, memory_format=contiguous_format) -> Tensor:
    """``input`` if already laid out as ``memory_format``, else a copy that is."""
    if is_contiguous(input, memory_format):
        return input
    return _clone(input, fmt=memory_format)


def is_contiguous(input: Tensor, memory_format=contiguous_format) -> bool:
    _check(memory_format, input._data, "is_contiguous")
    if memory_format is channels_last:
        return is_channels_last(input._data)
    return input._data.flags.c_contiguous


def like(input: Tensor, result: Tensor, fmt) -> Tensor:
    """``result`` (a new tensor of input's shape) re-laid as ``fmt`` relative to ``input``."""
    if fmt is contiguous_format or (fmt is preserve_format and not (
            is_channels_last(input._data) and not input._data.flags.c_contiguous)):
        return result
    out = empty_in_format(result.shape, result._data.dtype, channels_last, result._data)
    backend_of(out).elementwise("copy", out.dtype.name, out, result._data)
    made = Tensor._make(out)
    return made.requires_grad_() if result.requires_grad else made
