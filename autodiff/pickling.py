"""Whole-object saving with pickle, and the allowlist ``load(weights_only=True)`` enforces.

``autodiff.save`` writes its data-only format whenever it can (tensors, numbers, strings
and containers: state dicts). For anything else — a whole model, a custom object — it
does what ``torch.save`` does and pickles, behind its own magic bytes. Unpickling can run
arbitrary code, so, as in torch >= 2.6, ``load`` only unpickles when the caller opts out
with ``weights_only=False``; under the default ``weights_only=True`` a restricted
unpickler resolves only the globals in ``_DEFAULT_SAFE`` plus those the caller allowlists
with ``add_safe_globals`` or the ``safe_globals`` context manager, and anything else is
torch's ``UnpicklingError`` naming the global.

Tensors pickle as (class, dtype name, shape, raw little-endian bytes, requires_grad) and
rebuild through ``_rebuild_tensor``, so a pickle holds no NumPy globals; gradients and the
graph are not pickled (as in torch, a non-leaf comes back a leaf that requires grad).
"""

from __future__ import annotations

import _compat_pickle
import builtins
import codecs
import collections
import contextlib
import io
import pickle
from typing import Any, BinaryIO, Iterable, Iterator

import numpy as np

from . import dtypes
from .tensor import Tensor

MAGIC = b"ADPICKLE"


def _rebuild_tensor(cls: type, dtype_name: str, shape: tuple, raw: bytes, requires_grad: bool) -> Tensor:
    from .nn.parameter import Parameter

    d = dtypes.as_dtype(np.dtype(dtype_name))
    count = int(np.prod(shape, dtype=np.int64))
    if len(raw) != count * d.itemsize:
        raise pickle.UnpicklingError(f"tensor of shape {list(shape)} and dtype {dtype_name} needs "
                                     f"{count * d.itemsize} bytes, the pickle holds {len(raw)}")
    array = np.frombuffer(raw, d.np.newbyteorder("<"), count).astype(d.np).reshape(shape)
    t = Tensor._make(array)
    if isinstance(cls, type) and issubclass(cls, Parameter):
        return cls(t, requires_grad)
    if requires_grad:
        t.requires_grad_(True)
    return t


def reduce_tensor(t: Tensor) -> tuple:
    """The ``__reduce_ex__`` of Tensor and Parameter."""
    data = np.ascontiguousarray(t._data)
    data = data.astype(data.dtype.newbyteorder("<"), copy=False)
    return _rebuild_tensor, (type(t), t.dtype.name, tuple(data.shape), data.tobytes(), t.requires_grad)


def deepcopy_tensor(t: Tensor, memo: dict) -> Tensor:
    """``copy.deepcopy`` of a leaf tensor: new storage, same requires_grad, the gradient copied."""
    import copy

    if id(t) in memo:
        return memo[id(t)]
    if not t.is_leaf:
        raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) support the "
                           "deepcopy protocol at the moment.")
    out = Tensor._make(np.array(t._data, copy=True))
    if t._requires_grad:
        out.requires_grad_(True)
    memo[id(t)] = out
    if t._grad is not None:
        out._grad = copy.deepcopy(t._grad, memo)
    return out


# ---- the weights_only allowlist --------------------------------------------------------------

def _key(obj: Any) -> str:
    return f"{obj.__module__}.{obj.__qualname__}"


def _defaults() -> dict[str, Any]:
    from .autograd.graph import HookDict
    from .nn.parameter import Parameter

    safe = [_rebuild_tensor, Tensor, Parameter, HookDict, codecs.encode,  # protocol 2 stores bytes by it
            collections.OrderedDict, collections.defaultdict,
            builtins.set, builtins.frozenset, builtins.slice, builtins.complex, builtins.bytearray]
    return {_key(obj): obj for obj in safe}


_user_safe: dict[str, Any] = {}


def add_safe_globals(safe_globals: Iterable[Any]) -> None:
    """Allow these classes/functions in ``load(weights_only=True)`` from now on."""
    for obj in safe_globals:
        _user_safe[_key(obj)] = obj


def get_safe_globals() -> list:
    return list(_user_safe.values())


def clear_safe_globals() -> None:
    _user_safe.clear()


@contextlib.contextmanager
def safe_globals(safe_globals: Iterable[Any]) -> Iterator[None]:
    """Allow these globals in ``load(weights_only=True)`` inside the ``with`` block only."""
    saved = dict(_user_safe)
    add_safe_globals(safe_globals)
    try:
        yield
    finally:
        _user_safe.clear()
        _user_safe.update(saved)


_REFUSED = (
    "Weights only load failed. This file can still be loaded, to do so you have two options, do those "
    "steps only if you trust the source of the checkpoint. \n\t(1) Re-running `autodiff.load` with "
    "`weights_only` set to `False` will likely succeed, but it can result in arbitrary code execution. "
    "Do it only if you got the file from a trusted source.\n\t(2) Alternatively, to load with "
    "`weights_only=True` please check the recommended steps in the following error message.\n\t"
    "WeightsUnpickler error: {}")


class _WeightsUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        # protocol 2 spells Python 3's modules the Python 2 way (__builtin__.set)
        module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        key = f"{module}.{name}"
        obj = _user_safe.get(key) or _defaults().get(key)
        if obj is None:
            raise pickle.UnpicklingError(_REFUSED.format(
                f"Unsupported global: GLOBAL {key} was not an allowed global by default. Please use "
                f"`autodiff.serialization.add_safe_globals([{key}])` or the "
                f"`autodiff.serialization.safe_globals([{key}])` context manager to allowlist this "
                "global if you trust this class/function."))
        return obj


def save_pickled(obj: Any, out: BinaryIO, protocol: int) -> None:
    out.write(MAGIC)
    pickle.dump(obj, out, protocol=protocol)


def load_pickled(src: BinaryIO, weights_only: bool) -> Any:
    """Unpickle what follows the magic bytes; restricted to the allowlist if ``weights_only``."""
    data = io.BytesIO(src.read())
    if weights_only:
        return _WeightsUnpickler(data).load()
    return pickle.Unpickler(data).load()
