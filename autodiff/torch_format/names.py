"""The torch type names a checkpoint refers to, and the NumPy dtypes they stand for.

A tensor's storage is named by a legacy storage class (``torch.FloatStorage``) or, for
dtypes without one, by ``torch.storage.UntypedStorage`` (bytes) plus a dtype global
(``torch.uint16``) passed to ``_rebuild_tensor_v3``. Names whose dtype NumPy lacks
(bfloat16, the float8s) map to ``None``: such tensors cannot be loaded.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes

# torch dtype name -> (NumPy dtype name or None where NumPy has no such type, itemsize)
DTYPES: dict[str, tuple[str | None, int]] = {
    "float32": ("float32", 4), "float64": ("float64", 8), "float16": ("float16", 2),
    "bfloat16": (None, 2), "int64": ("int64", 8), "int32": ("int32", 4), "int16": ("int16", 2),
    "int8": ("int8", 1), "uint8": ("uint8", 1), "uint16": ("uint16", 2), "uint32": ("uint32", 4),
    "uint64": ("uint64", 8), "bool": ("bool", 1), "complex64": ("complex64", 8),
    "complex128": ("complex128", 16), "float8_e4m3fn": (None, 1), "float8_e5m2": (None, 1),
    "float8_e4m3fnuz": (None, 1), "float8_e5m2fnuz": (None, 1),
}

# legacy storage class name -> torch dtype name
STORAGES: dict[str, str] = {
    "FloatStorage": "float32", "DoubleStorage": "float64", "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16", "LongStorage": "int64", "IntStorage": "int32",
    "ShortStorage": "int16", "CharStorage": "int8", "ByteStorage": "uint8", "BoolStorage": "bool",
    "ComplexFloatStorage": "complex64", "ComplexDoubleStorage": "complex128",
}


_STORAGE_OF = {dtype: name for name, dtype in STORAGES.items()}


def autodiff_dtype(torch_name: str) -> dtypes.dtype:
    """The autodiff dtype for a torch dtype name; TypeError naming both when autodiff lacks it."""
    np_name = DTYPES[torch_name][0]
    if np_name is not None:
        try:
            return dtypes.from_numpy_dtype(np.dtype(np_name))
        except TypeError:
            pass
    raise TypeError(f"a torch.{torch_name} tensor cannot be loaded: autodiff has no {torch_name} dtype")


def storage_class(d: dtypes.dtype) -> str:
    """The legacy storage class torch names for tensors of autodiff dtype ``d``."""
    return _STORAGE_OF[d.name]


def itemsize(torch_name: str | None) -> int:
    """Bytes per element of a storage of that dtype (an untyped storage, None, counts bytes)."""
    return 1 if torch_name is None else DTYPES[torch_name][1]
