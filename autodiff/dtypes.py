"""dtypes and PyTorch's type-promotion rules.

A ``dtype`` wraps a NumPy dtype. Promotion follows ``torch.result_type``: operands
fall in three tiers — tensors with dimensions, 0-d tensors, Python numbers — and a
lower tier only changes the result when its *category* (bool < integer < floating)
is higher. So ``float32_tensor * 2.5`` stays float32, ``int_tensor * 2.5`` is float32
(the default float dtype), and ``float32_tensor + float64_tensor`` is float64.
"""

from __future__ import annotations

import builtins

import numpy as np


class dtype:
    """A tensor element type, printed as ``autodiff.float32``."""

    __slots__ = ("name", "np", "itemsize", "is_floating_point", "is_signed", "category", "_tensor_type")

    def __init__(self, name: str, np_dtype, category: int, tensor_type: str):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.itemsize = self.np.itemsize
        self.is_floating_point = category == FLOAT
        self.is_signed = category != BOOL
        self.category = category
        self._tensor_type = tensor_type

    def __repr__(self) -> str:
        return f"autodiff.{self.name}"

    def __reduce__(self):
        return self.name


BOOL, INT, FLOAT = 0, 1, 2

float32 = dtype("float32", np.float32, FLOAT, "FloatTensor")
float64 = dtype("float64", np.float64, FLOAT, "DoubleTensor")
int64 = dtype("int64", np.int64, INT, "LongTensor")
bool = dtype("bool", np.bool_, BOOL, "BoolTensor")  # noqa: A001 - torch's name
float = float32  # noqa: A001 - torch aliases
double = float64
long = int64

_BY_NP = {d.np: d for d in (float32, float64, int64, bool)}
_WIDTH = {bool: 0, int64: 1, float32: 2, float64: 3}

_default_float = float32


def get_default_dtype() -> dtype:
    return _default_float


def set_default_dtype(d: dtype) -> None:
    global _default_float
    if d not in (float32, float64):
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _default_float = d


def from_numpy_dtype(np_dtype) -> dtype:
    """The autodiff dtype for a NumPy dtype; TypeError for dtypes autodiff does not hold."""
    d = _BY_NP.get(np_dtype)
    if d is None:
        d = _BY_NP.get(np.dtype(np_dtype))
    if d is None:
        raise TypeError(
            f"can't convert np.ndarray of type numpy.{np.dtype(np_dtype).name}. "
            "The only supported types are: float64, float32, int64, and bool."
        )
    return d


def as_dtype(d) -> dtype:
    """Accept an autodiff dtype, a NumPy dtype/type, or a Python type (``float``, ``int``, ``bool``)."""
    if isinstance(d, dtype):
        return d
    if d is builtins.float:
        return _default_float
    if d is builtins.int:
        return int64
    if d is builtins.bool:
        return bool
    return from_numpy_dtype(d)


def promote(a: dtype, b: dtype) -> dtype:
    """The wider of two dtypes (bool < int64 < float32 < float64)."""
    return a if _WIDTH[a] >= _WIDTH[b] else b


def scalar_dtype(value) -> dtype:
    """The dtype a Python number takes on its own."""
    if isinstance(value, builtins.bool):
        return bool
    if isinstance(value, int):
        return int64
    return _default_float


def result_type(operands) -> dtype:
    """torch.result_type over tensors and Python scalars (see module docstring)."""
    tiers = [None, None, None]  # dimensioned tensors, 0-d tensors, scalars
    for o in operands:
        if o is None:
            continue
        d = getattr(o, "dtype", None)
        if isinstance(d, np.dtype):  # raw arrays take part as tensors do
            d = from_numpy_dtype(d)
        if isinstance(d, dtype):
            tier = 0 if o.ndim else 1
        else:
            d, tier = scalar_dtype(o), 2
        tiers[tier] = d if tiers[tier] is None else promote(tiers[tier], d)
    result = None
    for tier, d in enumerate(tiers):
        if d is None:
            continue
        if result is None:
            result = d
        elif d.category > result.category:
            result = d if tier < 2 else _default_for_category(d)
    return result


def _default_for_category(d: dtype) -> dtype:
    return _default_float if d.category == FLOAT else d


def can_cast(src: dtype, dst: dtype) -> builtins.bool:
    """Whether an in-place op may write a ``src`` result into a ``dst`` tensor (torch.can_cast)."""
    return src.category <= dst.category
