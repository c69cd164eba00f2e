"""Input validation shared by the op definitions, with PyTorch's exception types and wording.

Numba kernels do no bounds checks and trust every length they are given, so each op
validates its operands and parameters before a kernel runs. The checks live here, as
small functions of shapes, dtypes and values, so that an op's forward (and later its
metadata rule) calls one line per property rather than re-spelling the message.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..backends import is_storage


def check_window_params(op: str, *, stride: Sequence[int], padding: Sequence[int] = (),
                        dilation: Sequence[int] = (), kernel_size: Sequence[int] = (),
                        groups: int = 1) -> None:
    """Convolution and pooling parameters in range (torch's RuntimeErrors): positive stride,
    dilation, kernel size and groups; non-negative padding."""
    if any(k <= 0 for k in kernel_size):
        raise RuntimeError(f"{op}: kernel size should be greater than zero, but got kernel_size="
                           f"{list(kernel_size)}")
    if any(s == 0 for s in stride) and kernel_size:
        raise RuntimeError(f"{op}: stride should not be zero (got stride={list(stride)})")
    if any(s <= 0 for s in stride):
        raise RuntimeError(f"{op}: non-positive stride is not supported (got stride={list(stride)})")
    if any(p < 0 for p in padding):
        raise RuntimeError(f"{op}: negative padding is not supported (got padding={list(padding)})")
    if any(d <= 0 for d in dilation):
        raise RuntimeError(f"{op}: dilation should be greater than zero, but got {list(dilation)}")
    if groups <= 0:
        raise RuntimeError(f"{op}: non-positive groups is not supported (got groups={groups})")


def check_floating(op: str, dtype: np.dtype, what: str = "input") -> None:
    """NotImplementedError (torch's) for an op with float kernels only, given an integer or bool tensor."""
    if np.dtype(dtype).kind != "f":
        raise NotImplementedError(f'"{op}" not implemented for \'{_torch_name(dtype)}\' ({what} has '
                                  f"dtype {np.dtype(dtype).name}; convert it with .float())")


_INVERT_HINT = "If you are trying to invert a mask, use the `~` or `logical_not()` operator instead."
# torch's own wording for ops whose bool operands it rejects with a hint:
# (message when every operand is bool, message otherwise)
_BOOL_MESSAGES = {
    "sub": ("Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or "
            "`logical_xor()` operator instead.",
            f"Subtraction, the `-` operator, with a bool tensor is not supported. {_INVERT_HINT}"),
    "neg": (f"Negation, the `-` operator, on a bool tensor is not supported. {_INVERT_HINT}",) * 2,
}


def _is_bool(v) -> bool:
    return v.dtype == np.bool_ if isinstance(v, np.ndarray) else isinstance(v, (bool, np.bool_))


def check_not_bool(op: str, operands, error: type) -> None:
    """``error`` (torch's type for this op) if any operand is a bool array (or, for ops with
    torch's own message, a Python bool, which torch wraps as a bool tensor)."""
    messages = _BOOL_MESSAGES.get(op)
    flags = [_is_bool(v) if messages else isinstance(v, np.ndarray) and v.dtype == np.bool_
             for v in operands]
    if not any(flags):
        return
    if messages:
        raise error(messages[0] if all(flags) else messages[1])
    raise error(f"Boolean inputs not supported for {op}" if error is RuntimeError else
                f'"{op}" not implemented for \'Bool\'')


def check_tensors(op: str, names, operands) -> None:
    """TypeError (torch's) for an operand that is a number where the op takes tensors only."""
    for i, (name, v) in enumerate(zip(names, operands)):
        if not is_storage(v):
            raise TypeError(f"{op}(): argument '{name}' (position {i + 1}) must be Tensor, not "
                            f"{type(v).__name__}")


def check_representable(value, dtype) -> None:
    """RuntimeError (torch's) for a Python number an integer tensor cannot hold (NaN, inf, too big)."""
    dtype = np.dtype(dtype)
    if dtype.kind in "iu" and isinstance(value, (int, float)) and not isinstance(value, bool):
        info = np.iinfo(dtype)
        if not (math.isfinite(value) and info.min <= value <= info.max):
            raise RuntimeError(f"value cannot be converted to type {dtype.name} without overflow "
                               f"(got {value})")


def check_same_dtype(op: str, a: np.dtype, b: np.dtype) -> None:
    """RuntimeError unless two operands of a matrix product have one dtype (no promotion, as torch)."""
    if a != b:
        raise RuntimeError(f"{op}: expected m1 and m2 to have the same dtype, but got: "
                           f"{_c_name(a)} != {_c_name(b)}")


def check_index_range(op: str, index: np.ndarray, size: int, dim: int) -> None:
    """RuntimeError (torch's) if any index is outside ``[-size, size)`` of dimension ``dim``."""
    if index.size == 0:
        return
    lo, hi = int(index.min()), int(index.max())
    bad = hi if hi >= size else lo if lo < -size else None
    if bad is not None:
        raise RuntimeError(f"{op}(): index {bad} is out of bounds for dimension {dim} with size {size}")


def kernel_failure(op: str, operands, params: dict, error: Exception) -> RuntimeError:
    """The RuntimeError for an input no check caught and no kernel accepts (a Numba typing
    error or a kernel's exception): it names the op, the operands and the parameters."""
    described = ", ".join(f"{np.dtype(v.dtype).name}{list(v.shape)}" if isinstance(v, np.ndarray)
                          else type(v).__name__ for v in operands)
    first = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
    return RuntimeError(f"{op}(): not supported for operands ({described}) with parameters {params} "
                        f"({type(error).__name__}: {first})")


_TORCH_NAMES = {"float32": "Float", "float64": "Double", "int64": "Long", "int32": "Int",
                "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool", "float16": "Half"}
_C_NAMES = {"float32": "float", "float64": "double", "int64": "long int", "int32": "int",
            "int16": "short int", "int8": "signed char", "uint8": "unsigned char", "bool": "bool"}


def _torch_name(dtype) -> str:
    name = np.dtype(dtype).name
    return _TORCH_NAMES.get(name, name)


def _c_name(dtype) -> str:
    name = np.dtype(dtype).name
    return _C_NAMES.get(name, name)
