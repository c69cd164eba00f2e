"""dtypes: a table of element types with their traits, and PyTorch's type promotion.

Each ``dtype`` carries its traits (``is_floating_point``, ``is_complex``, ``is_signed``,
``itemsize``, the NumPy dtype of its CPU storage, and the names torch prints for it).
``promote_types(a, b)`` is torch's promotion table (``torch.promote_types``), built once
from torch's rule: bool < integers < floating point; two integers give the smallest
integer type holding both ranges (``uint8`` with ``int8`` is ``int16``); a float with an
integer is that float.

``result_type`` follows ``torch.result_type``: operands fall in three tiers — tensors
with dimensions, 0-d tensors, Python numbers — and a lower tier only changes the result
when its *category* (bool < integer < floating) is higher. So ``float32_tensor * 2.5``
stays float32, ``int_tensor * 2.5`` is float32 (the default float dtype), and
``float32_tensor + float64_tensor`` is float64.

The storage plan for float16, bfloat16 and complex is in docs/dtypes.md.
"""

from __future__ import annotations

import builtins
import itertools

import numpy as np

BOOL, INT, FLOAT = 0, 1, 2


class dtype:
    """A tensor element type, printed as ``autodiff.float32``."""

    __slots__ = ("name", "np", "itemsize", "is_floating_point", "is_complex", "is_signed", "category",
                 "scalar_name", "_tensor_type")

    def __init__(self, name: str, np_dtype, category: int, scalar_name: str) -> None:
        self.name = name
        self.np = np.dtype(np_dtype)
        self.itemsize = self.np.itemsize
        self.category = category
        self.is_floating_point = category == FLOAT
        self.is_complex = False
        self.is_signed = category == FLOAT or self.np.kind == "i"
        self.scalar_name = scalar_name  # torch's name in messages: "Float", "Long"
        self._tensor_type = f"{scalar_name}Tensor"

    def __repr__(self) -> str:
        return f"autodiff.{self.name}"

    def __reduce__(self):
        return self.name


float32 = dtype("float32", np.float32, FLOAT, "Float")
float64 = dtype("float64", np.float64, FLOAT, "Double")
int64 = dtype("int64", np.int64, INT, "Long")
int32 = dtype("int32", np.int32, INT, "Int")
int16 = dtype("int16", np.int16, INT, "Short")
int8 = dtype("int8", np.int8, INT, "Char")
uint8 = dtype("uint8", np.uint8, INT, "Byte")
bool = dtype("bool", np.bool_, BOOL, "Bool")  # noqa: A001 - torch's name
float = float32  # noqa: A001 - torch aliases
double = float64
long = int64
int = int32  # noqa: A001
short = int16

ALL = (bool, uint8, int8, int16, int32, int64, float32, float64)
_BY_NP = {d.np: d for d in ALL}


def _promote_rule(a: dtype, b: dtype) -> dtype:
    """torch's promotion of two dtypes, from which the table is built."""
    if a.category != b.category:
        return a if a.category > b.category else b
    if a.is_signed == b.is_signed:
        return a if a.itemsize >= b.itemsize else b
    signed, unsigned = (a, b) if a.is_signed else (b, a)
    if signed.itemsize > unsigned.itemsize:
        return signed
    return next(d for d in (int16, int32, int64) if d.itemsize > unsigned.itemsize)


_PROMOTE = {(a, b): _promote_rule(a, b) for a, b in itertools.product(ALL, ALL)}

_default_float = float32


def promote_types(a: dtype, b: dtype) -> dtype:
    """The smallest dtype both ``a`` and ``b`` convert to (``torch.promote_types``)."""
    return _PROMOTE[as_dtype(a), as_dtype(b)]


def is_differentiable(d: dtype) -> builtins.bool:
    """Whether tensors of ``d`` can require gradients (floating point; complex later)."""
    return d.category == FLOAT


# the NumPy dtypes of differentiable tensors, for the dispatch's per-call test
DIFFERENTIABLE_NP = frozenset(d.np for d in ALL if is_differentiable(d))


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
            "The only supported types are: float64, float32, int64, int32, int16, int8, uint8, and bool."
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


def scalar_dtype(value) -> dtype:
    """The dtype a Python number takes on its own."""
    if isinstance(value, builtins.bool):
        return bool
    if isinstance(value, builtins.int):
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
        tiers[tier] = d if tiers[tier] is None else _PROMOTE[tiers[tier], d]
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
