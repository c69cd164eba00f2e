"""The ``meta`` backend: tensors with shape, dtype and strides but no storage.

As ``torch.device("meta")``: an op on meta tensors runs its metadata rule only (output
shapes, dtypes, views), which is how a tracer or a model-shape check runs a program
without computing it. ``MetaArray`` stands where a NumPy array stands on the CPU and
answers the same metadata questions (``shape``, ``dtype``, ``strides``, ``flags``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..device import device
from .base import Backend, register
from .layout import storage_size


def contiguous_strides(shape: tuple, itemsize: int) -> tuple:
    """C-order strides in bytes, as NumPy gives them."""
    strides, step = [], itemsize
    for n in reversed(shape):
        strides.append(step)
        step *= max(n, 1)
    return tuple(reversed(strides))


class _Flags:
    __slots__ = ("c_contiguous", "writeable")

    def __init__(self, c_contiguous: bool, writeable: bool) -> None:
        self.c_contiguous = c_contiguous
        self.writeable = writeable


class MetaArray:
    """Metadata of an array without its elements."""

    __slots__ = ("shape", "dtype", "strides", "offset", "storage_size", "_writeable")

    def __init__(self, shape: tuple, dtype, strides: tuple | None = None, offset: int = 0,
                 writeable: bool = True, storage_size: int | None = None) -> None:
        self.shape = tuple(int(n) for n in shape)
        self.dtype = np.dtype(dtype)
        self.strides = contiguous_strides(self.shape, self.dtype.itemsize) if strides is None else tuple(strides)
        self.offset = offset  # bytes from the start of the (absent) storage
        self.storage_size = self.size if storage_size is None else storage_size  # elements
        self._writeable = writeable

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def itemsize(self) -> int:
        return self.dtype.itemsize

    @property
    def flags(self) -> _Flags:
        contiguous = all(s == c for s, c, n in zip(self.strides, contiguous_strides(self.shape, self.itemsize),
                                                   self.shape) if n != 1)
        return _Flags(contiguous, self._writeable)

    def _no_data(self, *args, **kwargs):
        raise NotImplementedError("Cannot copy out of meta tensor; no data!")

    item = tolist = reshape = __array__ = _no_data

    def __repr__(self) -> str:
        return f"MetaArray(shape={self.shape}, dtype={self.dtype})"


class MetaBackend(Backend):
    device = device("meta")
    storage = MetaArray
    computes = False

    @staticmethod
    def empty(shape: tuple, np_dtype) -> MetaArray:
        return MetaArray(shape, np_dtype)

    zeros = empty

    @staticmethod
    def empty_strided(shape: tuple, strides: tuple | None, np_dtype) -> MetaArray:
        if strides is None:
            return MetaArray(shape, np_dtype)
        dt = np.dtype(np_dtype)
        return MetaArray(shape, dt, tuple(s * dt.itemsize for s in strides),
                         storage_size=storage_size(shape, strides))

    @staticmethod
    def copy(src: Any, np_dtype=None) -> MetaArray:
        return MetaArray(src.shape, src.dtype if np_dtype is None else np_dtype)

    @staticmethod
    def from_numpy(array: np.ndarray) -> MetaArray:
        return MetaArray(array.shape, array.dtype)

    @staticmethod
    def to_numpy(data: MetaArray):
        raise NotImplementedError("Cannot copy out of meta tensor; no data!")

    def elementwise(self, name: str, compute: str, out: Any, *operands) -> Any:
        return out

    @staticmethod
    def view(data: MetaArray, shape: tuple) -> MetaArray | None:
        template = layout_template(data)
        v = template.view()
        try:
            v.shape = shape
        except AttributeError:
            return None
        return from_layout(v, template, data)

    @staticmethod
    def strided(data: MetaArray, shape: tuple, strides: tuple, writeable: bool = True) -> MetaArray:
        return MetaArray(shape, data.dtype, tuple(s * data.itemsize for s in strides), data.offset,
                         writeable and data._writeable, data.storage_size)

    @staticmethod
    def as_strided(data: MetaArray, shape: tuple, strides: tuple, storage_offset: int) -> MetaArray:
        it = data.itemsize
        return MetaArray(shape, data.dtype, tuple(s * it for s in strides), storage_offset * it,
                         storage_size=data.storage_size)

    @staticmethod
    def storage_offset(data: MetaArray) -> int:
        return data.offset // data.itemsize

    @staticmethod
    def storage_size(data: MetaArray) -> int:
        return data.storage_size


backend = register(MetaBackend())


def layout_template(data: MetaArray) -> np.ndarray:
    """A read-only NumPy array with ``data``'s shape and strides over one element.

    Only its layout may be used (its elements are not there): a view op's NumPy
    implementation applied to it computes the view's shape and strides, which is how
    views get their metadata rule on ``meta``.
    """
    return np.lib.stride_tricks.as_strided(np.empty(1, data.dtype), data.shape, data.strides,
                                           writeable=False)


def from_layout(view: np.ndarray, template: np.ndarray, data: MetaArray) -> MetaArray:
    """The MetaArray of ``view``, a view of ``data``'s ``template``."""
    shift = view.__array_interface__["data"][0] - template.__array_interface__["data"][0]
    return MetaArray(view.shape, view.dtype, view.strides, data.offset + shift, data._writeable and
                     view.flags.writeable, data.storage_size)
