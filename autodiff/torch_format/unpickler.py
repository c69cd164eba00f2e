"""A restricted unpickler for ``data.pkl`` in a torch.save archive: it can rebuild only data.

What it accepts is what ``torch.load(weights_only=True)`` accepts for plain tensors:
pickle's own types (None, bools, ints, floats, strings, tuples, lists, dicts), ``OrderedDict``,
``set``, ``complex``, ``bytes`` (via ``_codecs.encode``) and ``bytearray``, torch dtypes,
``torch.Size``, ``torch.device``, storages (persistent ids) and the tensor and parameter
rebuild functions of ``torch._utils``. Every other global is refused, so nothing in a file
can name code to run: ``find_class`` is the only way a pickle reaches a callable, and it
never imports anything. Errors are ``pickle.UnpicklingError`` naming what was refused.

The result still holds placeholders (``Record`` objects) for tensors, storages, dtypes and
devices; ``archive`` turns them into autodiff objects once storages are read. Placeholders
refuse pickle's BUILD (attribute setting), so a file cannot reach into their fields.
"""

from __future__ import annotations

import pickle
from collections import OrderedDict
from typing import Any

from . import names

UnpicklingError = pickle.UnpicklingError


class Record:
    """A placeholder made while unpickling; pickle's BUILD on it is refused."""

    __slots__ = ()

    def __setstate__(self, state: Any) -> None:
        raise UnpicklingError(f"the pickle sets the state of a {self.kind}, which weights-only "
                              "loading does not allow")

    @property
    def kind(self) -> str:
        return type(self).__name__


class StorageType(Record):
    """A storage class named by a GLOBAL: ``torch.FloatStorage`` or the untyped one."""

    __slots__ = ("dtype",)

    def __init__(self, dtype: str | None) -> None:
        self.dtype = dtype  # a torch dtype name; None for UntypedStorage (bytes)


class Storage(Record):
    """One ``data/<key>`` record of the archive, as a persistent id describes it."""

    __slots__ = ("key", "dtype", "location", "nbytes")

    def __init__(self, key: str, dtype: str | None, location: str, nbytes: int) -> None:
        self.key, self.dtype, self.location, self.nbytes = key, dtype, location, nbytes


class TensorRecord(Record):
    """A tensor to rebuild: a strided view of a storage (sizes and offset in elements)."""

    __slots__ = ("storage", "offset", "size", "stride", "requires_grad", "dtype", "parameter")

    def __init__(self, storage: Storage, offset: int, size: tuple, stride: tuple, requires_grad: bool,
                 dtype: str) -> None:
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride
        self.requires_grad, self.dtype, self.parameter = requires_grad, dtype, False


class DType(Record):
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


class Device(Record):
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


class PickledOrderedDict(OrderedDict):
    """``collections.OrderedDict`` while unpickling: BUILD may set only ``_metadata`` (what a
    module's ``state_dict()`` carries)."""

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, dict) or set(state) - {"_metadata"}:
            keys = sorted(map(str, state)) if isinstance(state, dict) else type(state).__name__
            raise UnpicklingError(f"the pickle sets attributes {keys} of an OrderedDict; weights-only "
                                  "loading allows only _metadata")
        self.__dict__["_state"] = state


def _check(ok: bool, what: str) -> None:
    if not ok:
        raise UnpicklingError(what)


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _int_tuple(x: Any, what: str) -> tuple:
    _check(isinstance(x, tuple) and all(_is_int(n) and n >= 0 for n in x),
           f"tensor {what} must be a tuple of non-negative ints, got {x!r:.80}")
    return x


def _no_hooks(hooks: Any) -> None:
    _check(isinstance(hooks, dict) and not hooks,
           "the pickle gives a tensor backward hooks, which weights-only loading does not rebuild")


def _tensor(storage: Any, offset: Any, size: Any, stride: Any, requires_grad: Any, hooks: Any,
            dtype: str, metadata: Any) -> TensorRecord:
    _check(isinstance(storage, Storage), f"a tensor's storage must be a persistent storage id, got "
                                         f"{type(storage).__name__}")
    _check(_is_int(offset) and offset >= 0, f"tensor storage offset must be a non-negative int, got {offset!r:.80}")
    size, stride = _int_tuple(size, "size"), _int_tuple(stride, "stride")
    _check(len(size) == len(stride), f"tensor size {size} and stride {stride} differ in length")
    _check(isinstance(requires_grad, bool), "tensor requires_grad must be a bool")
    _no_hooks(hooks)
    _check(metadata is None or (isinstance(metadata, dict) and not metadata),
           "the pickle gives a tensor metadata (torch-internal flags) that autodiff does not rebuild")
    return TensorRecord(storage, offset, size, stride, requires_grad, dtype)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks, metadata=None):
    _check(isinstance(storage, Storage) and storage.dtype is not None,
           f"_rebuild_tensor_v2 needs a typed persistent storage id, got {type(storage).__name__}")
    return _tensor(storage, storage_offset, size, stride, requires_grad, backward_hooks, storage.dtype, metadata)


def _rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, backward_hooks, dtype,
                       metadata=None):
    _check(isinstance(dtype, DType), "_rebuild_tensor_v3 needs a torch dtype")
    _check(not isinstance(storage, Storage) or storage.dtype is None, "_rebuild_tensor_v3 needs an untyped storage")
    return _tensor(storage, storage_offset, size, stride, requires_grad, backward_hooks, dtype.name, metadata)


def _rebuild_parameter(data, requires_grad, backward_hooks):
    _check(isinstance(data, TensorRecord), "a Parameter's data must be a tensor")
    _check(isinstance(requires_grad, bool), "Parameter requires_grad must be a bool")
    _no_hooks(backward_hooks)
    data.parameter, data.requires_grad = True, requires_grad
    return data


def _rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    _check(not state, "the pickle gives a Parameter Python attributes, which autodiff does not rebuild")
    return _rebuild_parameter(data, requires_grad, backward_hooks)


def _size(sizes=()):
    return _int_tuple(tuple(sizes) if isinstance(sizes, (list, tuple)) else sizes, "size")


def _device(kind, index=None):
    _check(isinstance(kind, str) and (index is None or _is_int(index)), "torch.device needs a string")
    return Device(kind if index is None else f"{kind}:{index}")


def _encode(text, encoding="latin1"):
    _check(isinstance(text, str) and encoding in ("latin1", "latin-1"), "_codecs.encode is allowed only to "
                                                                        "rebuild bytes from a latin1 string")
    return text.encode("latin1")


def _bytearray(data=b""):
    _check(isinstance(data, bytes), "bytearray is allowed only over bytes")
    return bytearray(data)


def _complex(real=0.0, imag=0.0):
    _check(all(isinstance(x, (int, float)) for x in (real, imag)), "complex needs two numbers")
    return complex(real, imag)


def _allowed() -> dict[tuple[str, str], Any]:
    table: dict[tuple[str, str], Any] = {
        ("collections", "OrderedDict"): PickledOrderedDict,
        ("builtins", "set"): set,
        ("builtins", "frozenset"): frozenset,
        ("builtins", "bytearray"): _bytearray,
        ("builtins", "complex"): _complex,
        ("_codecs", "encode"): _encode,
        ("torch", "Size"): _size,
        ("torch", "device"): _device,
        ("torch.storage", "UntypedStorage"): StorageType(None),
    }
    for f in (_rebuild_tensor_v2, _rebuild_tensor_v3, _rebuild_parameter, _rebuild_parameter_with_state):
        table["torch._utils", f.__name__] = f
    for storage, dtype in names.STORAGES.items():
        table["torch", storage] = StorageType(dtype)
    for dtype in names.DTYPES:
        table["torch", dtype] = DType(dtype)
    return table


_ALLOWED = _allowed()
_OLD_MODULES = {"__builtin__": "builtins"}  # protocol-2 pickles name Python 2's module


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickles ``data.pkl``; ``find_class`` looks names up in a fixed table, never imports."""

    def __init__(self, file: Any) -> None:
        super().__init__(file, encoding="utf-8")
        self.storages: dict[str, Storage] = {}

    def find_class(self, module: str, name: str) -> Any:
        module = _OLD_MODULES.get(module, module)
        found = _ALLOWED.get((module, name))
        if found is None:
            raise UnpicklingError(
                f"Unsupported global: GLOBAL {module}.{name} was not an allowed global: autodiff.load "
                "rebuilds only tensors, storages and plain containers (as torch.load(weights_only=True)) "
                "and never runs code from a file")
        return found

    def persistent_load(self, pid: Any) -> Storage:
        _check(isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage",
               f"unsupported persistent id {pid!r:.80}")
        _, kind, key, location, numel = pid
        _check(isinstance(kind, StorageType), f"persistent id names storage type {kind!r:.80}")
        _check(isinstance(key, str) and isinstance(location, str) and _is_int(numel) and numel >= 0,
               f"malformed storage id {pid!r:.80}")
        itemsize = names.itemsize(kind.dtype)
        storage = self.storages.get(key)
        if storage is None:
            storage = self.storages[key] = Storage(key, kind.dtype, location, numel * itemsize)
        _check((storage.dtype, storage.nbytes) == (kind.dtype, numel * itemsize),
               f"storage {key!r} is described twice with different types or sizes")
        return storage
