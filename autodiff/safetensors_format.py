"""``.safetensors`` files through the ``safetensors`` package's NumPy API (an optional dependency).

A safetensors file holds a flat ``{name: tensor}`` dict and an optional ``{str: str}``
metadata dict; it has no views, so tensors that share memory are written as separate
copies. The package parses and validates the file; autodiff only converts arrays.
"""

from __future__ import annotations

from typing import Any, BinaryIO

import numpy as np

from . import dtypes
from .tensor import Tensor

MISSING = ("reading or writing .safetensors files needs the safetensors package: "
           "pip install safetensors  (or pip install 'autodiff[safetensors]')")


def _numpy_api():
    """The package's NumPy API, imported on first use (it is an optional dependency)."""
    try:
        import safetensors
        import safetensors.numpy as api
    except ImportError:
        raise ImportError(MISSING) from None
    return api, safetensors.SafetensorError


def is_safetensors(head: bytes) -> bool:
    """A safetensors file starts with its header's length (u64 LE) and then the JSON header."""
    return len(head) >= 9 and head[8:9] == b"{" and int.from_bytes(head[:8], "little") > 1


def load(src: BinaryIO, name: str, path: str | None = None) -> dict[str, Tensor]:
    """The tensors of a safetensors file: from ``path`` when there is one (the package maps the
    file, saving a copy of it), else from the bytes of ``src``."""
    api, error = _numpy_api()
    try:
        arrays = api.load_file(path) if path is not None else api.load(src.read())
    except error as ex:
        raise RuntimeError(f"autodiff.load: {name}: not a readable safetensors file ({ex})") from None
    out = {}
    for key, array in arrays.items():
        try:
            dtypes.from_numpy_dtype(array.dtype)
        except TypeError:
            raise TypeError(f"autodiff.load: {name}: tensor {key!r} is {array.dtype}, a dtype autodiff "
                            "does not have") from None
        out[key] = Tensor._make(array)
    return out


def save(obj: Any, out: BinaryIO, metadata: dict[str, str] | None) -> None:
    api, _ = _numpy_api()
    if not isinstance(obj, dict) or not all(isinstance(k, str) and isinstance(v, Tensor) for k, v in obj.items()):
        raise TypeError("autodiff.save to safetensors stores a dict of str names to tensors (a state dict); "
                        f"got {_describe(obj)}")
    if metadata is not None and not (isinstance(metadata, dict) and
                                     all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())):
        raise TypeError(f"safetensors metadata must be a dict of str to str, got {metadata!r:.80}")
    arrays = {k: np.asarray(v.detach()._data, order="C") for k, v in obj.items()}
    out.write(api.save(arrays, metadata=metadata))


def _describe(obj: Any) -> str:
    if isinstance(obj, dict):
        bad = next((k, v) for k, v in obj.items() if not (isinstance(k, str) and isinstance(v, Tensor)))
        return f"a dict holding {type(bad[0]).__name__} key {bad[0]!r:.40} -> {type(bad[1]).__name__}"
    return f"an object of type {type(obj).__name__}"
