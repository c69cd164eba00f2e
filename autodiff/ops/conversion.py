"""Copies, dtype conversions and moves between devices, run by the copy kernel."""

from __future__ import annotations

import numpy as np

from .. import backends, dtypes
from ..backends import backend_for, backend_of
from ..backends.layout import preserved_strides
from ..backends.meta import MetaArray
from ..device import device as _device
from .op import Op


def _to_forward(data: np.ndarray, dtype: dtypes.dtype) -> np.ndarray:
    """The cast copy, laid out as its source when that is dense (torch's preserve_format)."""
    be = backend_of(data)
    out = be.empty_strided(data.shape, preserved_strides(data), dtype.np)
    if dtype is dtypes.bool and data.dtype.kind != "b":
        return be.elementwise("ne", data.dtype, out, data, data.dtype.type(0))
    return be.elementwise("copy", out.dtype, out, data)


def _same_layout(data) -> MetaArray:
    return MetaArray(data.shape, data.dtype)


def _to_device_forward(data, device: _device, source: _device):
    return backend_for(device.type).from_numpy(backend_of(data).to_numpy(data))


def _to_device_meta(data, device: _device, source: _device):
    if device.type != "meta":
        raise NotImplementedError("Cannot copy out of meta tensor; no data!")
    return MetaArray(data.shape, data.dtype)


# The engine casts each gradient to its operand's dtype, so both rules pass ``grad`` on.
clone = Op("clone", ("self",), lambda data: backends.copy(data), (lambda grad: grad,), meta=_same_layout)
_to = Op("to_copy", ("self",), _to_forward, (lambda grad: grad,), node_name="ToCopyBackward0",
         meta=lambda data, dtype: MetaArray(data.shape, dtype.np))
_to_device = Op("to_device", ("self",), _to_device_forward,
                (lambda grad, source: _to_device(grad, device=source, source=grad.device),),
                node_name="ToCopyBackward0", meta=_to_device_meta)

_DEVICE_TYPES = ("cpu", "cuda", "meta")


def _is_device(arg) -> bool:
    return isinstance(arg, _device) or (isinstance(arg, str) and arg.partition(":")[0] in _DEVICE_TYPES)


def to(input, *args, copy: bool = False, dtype=None, device=None, non_blocking: bool = False):
    """``to(dtype)``, ``to(device)``, ``to(device, dtype)`` or ``to(tensor)``: the same tensor
    if nothing changes (unless ``copy``)."""
    for arg in args:
        if _is_device(arg):
            device = arg
        elif hasattr(arg, "_data"):  # to(other): other's dtype and device
            dtype, device = arg.dtype, arg.device
        elif isinstance(arg, bool):
            copy = arg
        else:
            dtype = arg
    out = input
    if device is not None:
        target = backend_for(_device(device).type).device
        if target != input.device:
            out = _to_device(out, device=target, source=input.device)
            copy = False
    if dtype is not None:
        dtype = dtypes.as_dtype(dtype)
        if dtype is not out.dtype or copy:
            out = _to(out, dtype=dtype)
            copy = False
    return clone(out) if copy else out


def contiguous(input):
    return input if input._data.flags.c_contiguous else clone(input)


def tensor_to(input, *args, **kwargs):
    """``Tensor.to``: ``to(dtype)``, ``to(device, dtype=None)``, ``to(other)``, with torch's
    ``non_blocking``/``copy``/``memory_format`` keywords. The same tensor comes back when
    nothing changes and ``copy`` is False; a device with no backend is a RuntimeError."""
    from ..device import parse_to

    if len(args) == 1 and not kwargs and isinstance(args[0], (dtypes.dtype, np.dtype)):
        return to(input, args[0])  # the common internal call, kept cheap
    device, dtype, non_blocking, copy, memory_format = parse_to(args, kwargs)
    out = to(input, copy=copy, dtype=dtype, device=device, non_blocking=non_blocking)
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
