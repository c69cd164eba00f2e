"""The legacy typed constructors (``FloatTensor``, ``LongTensor``, ...) and ``Tensor(*sizes)``.

``autodiff.FloatTensor(2, 3)`` is an uninitialised float32 tensor of that size,
``autodiff.FloatTensor([1, 2])`` copies the data, and ``isinstance(t, autodiff.FloatTensor)``
checks the dtype, as in torch.
"""

from __future__ import annotations

import numbers

import numpy as np

from . import dtypes
from .tensor import Tensor

# legacy type name -> dtype name
_TYPES = {"FloatTensor": "float32", "DoubleTensor": "float64", "LongTensor": "int64",
          "IntTensor": "int32", "ShortTensor": "int16", "CharTensor": "int8", "ByteTensor": "uint8",
          "BoolTensor": "bool"}


def _dtype(type_name: str) -> dtypes.dtype:
    return getattr(dtypes, _TYPES[type_name])


def construct(args: tuple, dtype: dtypes.dtype) -> Tensor:
    """A legacy constructor call: no arguments (empty), sizes (uninitialised) or data (copied)."""
    from .factories import empty, tensor

    if not args:
        return empty(0, dtype=dtype)
    if all(isinstance(a, (numbers.Integral, np.integer)) and not isinstance(a, bool) for a in args):
        return empty(*args, dtype=dtype)
    if len(args) != 1:
        raise TypeError(f"new(): expected sizes (ints) or one sequence of data, got "
                        f"({', '.join(type(a).__name__ for a in args)})")
    return tensor(args[0], dtype=dtype)


class _LegacyType(type):
    """The metaclass of the legacy types: calling one constructs, ``isinstance`` checks the dtype."""

    def __call__(cls, *args):
        return construct(args, _dtype(cls.__name__))

    def __instancecheck__(cls, obj) -> bool:
        return isinstance(obj, Tensor) and obj.dtype.name == _TYPES[cls.__name__]

    def __repr__(cls) -> str:
        return f"<class 'autodiff.{cls.__name__}'>"


def _make(name: str) -> type:
    return _LegacyType(name, (), {"__module__": "autodiff", "__doc__": f"Legacy constructor of "
                                  f"{_TYPES[name]} tensors, as ``torch.{name}``."})


FloatTensor = _make("FloatTensor")
DoubleTensor = _make("DoubleTensor")
LongTensor = _make("LongTensor")
IntTensor = _make("IntTensor")
ShortTensor = _make("ShortTensor")
CharTensor = _make("CharTensor")
ByteTensor = _make("ByteTensor")
BoolTensor = _make("BoolTensor")


def dtype_of_type(value) -> dtypes.dtype:
    """The dtype named by a dtype, a legacy type, or a name like ``'torch.FloatTensor'``."""
    if isinstance(value, _LegacyType):
        return _dtype(value.__name__)
    if isinstance(value, str):
        name = value.rpartition(".")[2]
        if name not in _TYPES:
            raise ValueError(f"invalid type: '{value}'")
        return _dtype(name)
    return dtypes.as_dtype(value)
