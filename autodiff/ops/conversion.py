"""Copies and dtype conversions, run by the copy kernel."""

from __future__ import annotations

import numpy as np

from kernels.cpu import elementwise as ew

from .. import dtypes
from .op import Op


def _to_forward(data: np.ndarray, dtype: dtypes.dtype) -> np.ndarray:
    if dtype is dtypes.bool and data.dtype.kind != "b":
        out = np.empty(data.shape, np.bool_)
        return ew.run("ne", data.dtype.name, out, data, data.dtype.type(0))
    return ew.copy(data, dtype.np)


# The engine casts each gradient to its operand's dtype, so both rules pass ``grad`` on.
clone = Op("clone", ("self",), lambda data: ew.copy(data), (lambda grad: grad,))
_to = Op("to_copy", ("self",), _to_forward, (lambda grad: grad,), node_name="ToCopyBackward0")


def to(input, dtype, copy: bool = False):
    """``input`` as ``dtype``; the same tensor if it already is one (unless ``copy``).
    ``Tensor.to`` (``tensor_to`` below) parses devices and the other forms, then calls this."""
    dtype = dtypes.as_dtype(dtype)
    if dtype is input.dtype and not copy:
        return input
    return _to(input, dtype=dtype)


def contiguous(input):
    return input if input._data.flags.c_contiguous else clone(input)


def tensor_to(input, *args, **kwargs):
    """``Tensor.to``: ``to(dtype)``, ``to(device, dtype=None)``, ``to(other)``, with torch's
    ``non_blocking``/``copy``/``memory_format`` keywords. The same tensor comes back when
    nothing changes and ``copy`` is False; a device other than the cpu is a RuntimeError."""
    from ..device import parse_to

    if len(args) == 1 and not kwargs and isinstance(args[0], (dtypes.dtype, np.dtype)):
        return to(input, args[0])  # the common internal call, kept cheap
    _, dtype, _, copy, memory_format = parse_to(args, kwargs)
    out = to(input, input.dtype if dtype is None else dtype, copy)
    if memory_format is not None:
        out = out.contiguous(memory_format=memory_format)
    return out


def tensor_type(input, dtype=None, non_blocking: bool = False, **kwargs):
    """``Tensor.type``: the legacy type name (``'autodiff.FloatTensor'``) without arguments,
    else this tensor converted to ``dtype`` (a dtype, a legacy type or its name)."""
    from ..legacy import dtype_of_type

    if dtype is None:
        return f"autodiff.{input.dtype._tensor_type}"
    return to(input, dtype_of_type(dtype))
