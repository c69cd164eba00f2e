"""Copies and dtype conversions, run by the copy kernel."""

from __future__ import annotations

import numpy as np

from kernels.cpu import elementwise as ew

from .. import dtypes
from ..device import as_device, device
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
    A device (``"cpu"``, ``"cuda"``, an ``autodiff.device``) is checked and, being the CPU, keeps it."""
    if isinstance(dtype, (str, device)) and not _is_dtype_name(dtype):
        as_device(dtype)  # RuntimeError for a device with no backend
        return clone(input) if copy else input
    dtype = dtypes.as_dtype(dtype)
    if dtype is input.dtype and not copy:
        return input
    return _to(input, dtype=dtype)


def contiguous(input):
    return input if input._data.flags.c_contiguous else clone(input)


def _is_dtype_name(value) -> bool:
    try:
        dtypes.as_dtype(value)
    except (TypeError, ValueError, KeyError):
        return False
    return True
