"""Tensor factories: ``tensor``, ``from_numpy``, ``zeros``, ``ones``, ``full``, ``arange``, random ones."""

from __future__ import annotations

import math
import numbers
from typing import Any, Sequence

import numpy as np

from . import dlpack, dtypes
from .backends import backend_for
from .device import as_device
from .random import Generator, rng
from .tensor import Tensor


def _new(data: np.ndarray, requires_grad: bool, device=None) -> Tensor:
    """A tensor of the CPU array ``data``, moved to ``device`` (the default device if None)."""
    be = backend_for(as_device(device).type)
    t = Tensor._make(be.from_numpy(data))
    if requires_grad:
        t.requires_grad_(True)
    return t


def _ragged_error(data, dim: int = 0) -> None:
    """Raise torch's error for the first ragged or non-numeric element of nested ``data``."""
    if isinstance(data, (list, tuple)):
        lengths = {len(x) if isinstance(x, (list, tuple)) else None for x in data}
        if len(lengths) > 1:
            sizes = [len(x) if isinstance(x, (list, tuple)) else None for x in data]
            first = sizes[0]
            bad = next(s for s in sizes if s != first)
            if first is None or bad is None:
                raise ValueError(f"expected a sequence or a number consistently at dim {dim + 1}")
            raise ValueError(f"expected sequence of length {first} at dim {dim + 1} (got {bad})")
        for x in data:
            _ragged_error(x, dim + 1)
    elif not isinstance(data, (numbers.Number, np.generic, np.ndarray, Tensor)):
        raise TypeError(f"new(): invalid data type '{type(data).__name__}'")


def _to_array(data: Any, dtype: dtypes.dtype | None) -> np.ndarray:
    if isinstance(data, Tensor):
        data = data._data
    if isinstance(data, (list, tuple)):
        data = [x._data if isinstance(x, Tensor) else x for x in data]
        _ragged_error(data)
    shared = _shared_array(data)
    arr = shared if shared is not None else np.asarray(data)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"new(): invalid data type '{arr.dtype}': expected numbers or booleans")
    if dtype is None:
        if arr.dtype.kind in "iu":  # arrays keep an integer type autodiff has; Python ints are int64
            known = shared is not None and arr.dtype in (np.int8, np.int16, np.int32, np.int64, np.uint8)
            dtype = dtypes.from_numpy_dtype(arr.dtype) if known else dtypes.int64
        elif arr.dtype.kind == "b":
            dtype = dtypes.bool
        elif shared is not None and arr.dtype in (np.float32, np.float64):  # arrays keep their float type
            dtype = dtypes.from_numpy_dtype(arr.dtype)
        else:
            dtype = dtypes.get_default_dtype()
    if dtype.np.kind in "iu" and arr.dtype.kind == "f" and arr.size:
        info = np.iinfo(dtype.np)
        if not (np.isfinite(arr).all() and info.min <= arr.min() and arr.max() <= info.max):
            raise RuntimeError(f"value cannot be converted to type {dtype.np.name} without overflow "
                               f"(the data holds NaN, inf or values outside [{info.min}, {info.max}])")
    return np.array(arr, dtype=dtype.np, copy=True, order="C")


def tensor(data: Any, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A new tensor copying ``data`` (a number, nested sequence, NumPy array or tensor)."""
    return _new(_to_array(data, dtypes.as_dtype(dtype) if dtype is not None else None), requires_grad, device)


def as_tensor(data: Any, dtype=None, device=None) -> Tensor:
    """``data`` as a tensor, sharing its memory where the dtype allows: a tensor, a NumPy array,
    or an object speaking DLPack (``__dlpack__``), ``__array_interface__`` or ``__array__``."""
    if isinstance(data, Tensor) and (dtype is None or dtypes.as_dtype(dtype) is data.dtype):
        return data
    if hasattr(data, "__cuda_array_interface__") and not isinstance(data, Tensor):  # GPU memory, shared
        t = Tensor._make(backend_for("cuda").from_cuda_array(data))
        return t if dtype is None else t.to(dtypes.as_dtype(dtype))
    if not isinstance(data, Tensor) and dlpack.on_cuda(data):  # GPU memory through DLPack only
        t = dlpack.from_dlpack(data)
        return t if dtype is None else t.to(dtypes.as_dtype(dtype))
    shared = _shared_array(data)
    if shared is not None and as_device(device).type == "cpu" and _has_dtype(shared.dtype) and (
            dtype is None or dtypes.as_dtype(dtype).np == shared.dtype):
        return Tensor._make(shared) if shared is data else dlpack.wrap(shared)
    return tensor(data, dtype=dtype, device=device)


def _has_dtype(np_dtype: np.dtype) -> bool:
    try:
        dtypes.from_numpy_dtype(np_dtype)
    except TypeError:
        return False
    return True


def _shared_array(data: Any) -> np.ndarray | None:
    """A NumPy array over ``data``'s own memory, or None for data that has none (numbers, lists)."""
    if isinstance(data, np.ndarray):
        return data
    if hasattr(data, "__dlpack__"):
        return dlpack.to_numpy(data)
    if hasattr(data, "__array_interface__") or hasattr(data, "__array__"):
        return np.asarray(data)
    return None


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing ``array``'s memory (no copy)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    dtypes.from_numpy_dtype(array.dtype)
    if type(array) is not np.ndarray:  # np.memmap and other subclasses: a plain view, same memory
        array = array.view(np.ndarray)
    return Tensor._make(array)


def _size(size: tuple) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, (int, np.integer)) or isinstance(s, bool):
            raise TypeError(f"size must be a sequence of ints, got {type(s).__name__}")
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(size)}")
    return tuple(int(s) for s in size)


def _dtype_or_default(dtype) -> dtypes.dtype:
    return dtypes.as_dtype(dtype) if dtype is not None else dtypes.get_default_dtype()


def empty(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    be = backend_for(as_device(device).type)
    t = Tensor._make(be.empty(_size(size), _dtype_or_default(dtype).np))
    return t.requires_grad_(True) if requires_grad else t


def full(size: Sequence[int], fill_value, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    d = dtypes.as_dtype(dtype) if dtype is not None else dtypes.scalar_dtype(fill_value)
    be = backend_for(as_device(device).type)
    out = be.empty(_size((size,)), d.np)
    be.elementwise("copy", d.name, out, d.np.type(fill_value))
    t = Tensor._make(out)
    return t.requires_grad_(True) if requires_grad else t


def zeros(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return full(_size(size), 0, dtype=_dtype_or_default(dtype), device=device, requires_grad=requires_grad)


def ones(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return full(_size(size), 1, dtype=_dtype_or_default(dtype), device=device, requires_grad=requires_grad)


def _layout(input: Tensor, result: Tensor, memory_format) -> Tensor:
    """``result`` laid out as ``memory_format`` (default: preserve input's channels-last layout)."""
    from .memory_format import like, preserve_format

    return like(input, result, preserve_format if memory_format is None else memory_format)


def _on(input: Tensor, device):
    """The device of a ``*_like`` or ``new_*`` result: the input's unless given."""
    return input.device if device is None else device


def _like(input: Tensor, dtype) -> dtypes.dtype:
    return dtypes.as_dtype(dtype) if dtype is not None else input.dtype


def empty_like(input: Tensor, *, dtype=None, device=None, requires_grad: bool = False,
               memory_format=None) -> Tensor:
    out = empty(input.shape, dtype=_like(input, dtype), device=_on(input, device), requires_grad=requires_grad)
    return _layout(input, out, memory_format)


def zeros_like(input: Tensor, *, dtype=None, device=None, requires_grad: bool = False,
               memory_format=None) -> Tensor:
    out = full(input.shape, 0, dtype=_like(input, dtype), device=_on(input, device), requires_grad=requires_grad)
    return _layout(input, out, memory_format)


def ones_like(input: Tensor, *, dtype=None, device=None, requires_grad: bool = False,
              memory_format=None) -> Tensor:
    out = full(input.shape, 1, dtype=_like(input, dtype), device=_on(input, device), requires_grad=requires_grad)
    return _layout(input, out, memory_format)


def full_like(input: Tensor, fill_value, *, dtype=None, device=None, requires_grad: bool = False,
              memory_format=None) -> Tensor:
    out = full(input.shape, fill_value, dtype=_like(input, dtype), device=_on(input, device), requires_grad=requires_grad)
    return _layout(input, out, memory_format)


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive) by ``step``; int64 when all are integers."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    if dtype is None:
        ints = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = dtypes.int64 if ints else dtypes.get_default_dtype()
    d = dtypes.as_dtype(dtype)
    ints = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
    if ints:  # ceil((end - start) / step) in integers
        n, first, delta = -((start - end) // step), np.int64(start), np.int64(step)
    else:  # NumPy's: the count by the step, the values by the first two elements' difference
        n = math.ceil((end - start) / step)
        first = np.float64(start)
        delta = (first + np.float64(step)) - first
    be = backend_for(as_device(device).type)
    out = be.empty((max(0, n),), d.np)
    if n > 0 and be.computes:
        be.ranges.iota(out, first, delta)
    t = Tensor._make(out)
    return t.requires_grad_(True) if requires_grad else t


def linspace(start, end, steps: int, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    return _new(np.linspace(start, end, steps).astype(_dtype_or_default(dtype).np), requires_grad, device)


def eye(n: int, m: int | None = None, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Ones on the main diagonal of an n x m matrix: zeros, then one write through the diagonal."""
    m = n if m is None else m
    t = zeros(n, m, dtype=dtype, device=device)
    be = backend_for(as_device(device).type)
    if n and m and be.computes:
        diagonal = be.strided(t._data, (min(n, m),), (m + 1,))
        be.elementwise("copy", diagonal.dtype, diagonal, diagonal.dtype.type(1))
    return t.requires_grad_(True) if requires_grad else t


def rand(*size, generator: Generator | None = None, dtype=None, device=None,
         requires_grad: bool = False) -> Tensor:
    """Uniform samples from [0, 1)."""
    d = _dtype_or_default(dtype)
    if generator is None and _on_cuda(device):
        return _device_random("uniform", _size(size), d, device, requires_grad)
    return _new(rng(generator).random(_size(size), dtype=d.np), requires_grad, device)


def randn(*size, generator: Generator | None = None, dtype=None, device=None,
          requires_grad: bool = False) -> Tensor:
    """Standard normal samples."""
    d = _dtype_or_default(dtype)
    if generator is None and _on_cuda(device):
        return _device_random("normal", _size(size), d, device, requires_grad)
    return _new(rng(generator).standard_normal(_size(size), dtype=d.np), requires_grad, device)


def _on_cuda(device) -> bool:
    return as_device(device).type == "cuda"


def _device_random(kind: str, size: tuple, d: dtypes.dtype, device, requires_grad: bool) -> Tensor:
    """Samples drawn on the device by the CUDA backend's generator (``autodiff.cuda.manual_seed``)."""
    if not d.is_floating_point:
        raise RuntimeError(f'"{kind}_kernel_cuda" not implemented for \'{d.scalar_name}\'')
    t = Tensor._make(backend_for(as_device(device).type).random.fill(kind, size, d.np))
    return t.requires_grad_(True) if requires_grad else t


def randint(low, high=None, size=None, *, generator: Generator | None = None, dtype=None,
            device=None, requires_grad: bool = False) -> Tensor:
    """Integers uniform in [low, high)."""
    if size is None:
        low, high, size = 0, low, high
    elif high is None:  # randint(high, size=...)
        low, high = 0, low
    if high <= low:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    d = dtypes.as_dtype(dtype) if dtype is not None else dtypes.int64
    return _new(rng(generator).integers(low, high, _size((size,))).astype(d.np), requires_grad, device)


def rand_like(input: Tensor, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return rand(input.shape, dtype=_like(input, dtype), device=_on(input, device), requires_grad=requires_grad)


def randn_like(input: Tensor, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return randn(input.shape, dtype=_like(input, dtype), device=_on(input, device), requires_grad=requires_grad)


def randint_like(input: Tensor, low, high=None, *, dtype=None, device=None) -> Tensor:
    return randint(low, high, input.shape, dtype=_like(input, dtype), device=_on(input, device))


# ---- Tensor.new_*: factories taking dtype (and device) from an existing tensor ---------------

def new_tensor(self: Tensor, data: Any, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return tensor(data, dtype=_like(self, dtype), device=_on(self, device), requires_grad=requires_grad)


def new_empty(self: Tensor, *size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return empty(*size, dtype=_like(self, dtype), device=_on(self, device), requires_grad=requires_grad)


def new_zeros(self: Tensor, *size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return zeros(*size, dtype=_like(self, dtype), device=_on(self, device), requires_grad=requires_grad)


def new_ones(self: Tensor, *size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return ones(*size, dtype=_like(self, dtype), device=_on(self, device), requires_grad=requires_grad)


def new_full(self: Tensor, size: Sequence[int], fill_value, *, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:
    return full(size, fill_value, dtype=_like(self, dtype), device=_on(self, device), requires_grad=requires_grad)
