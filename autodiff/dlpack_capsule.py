"""DLPack capsules made and read by autodiff itself, for memory NumPy cannot describe.

On the CPU, NumPy makes and reads DLPack capsules for autodiff (``dlpack.py``). Device
memory needs both sides done here: ``export`` wraps a memory description (pointer, shape,
strides, dtype, device) in a ``DLManagedTensor`` capsule (or the versioned
``DLManagedTensorVersioned`` of DLPack 1.0, when the consumer asks for it), and ``read``
takes a producer's capsule apart into the same description, taking ownership of it as
the protocol says (the capsule is renamed ``used_dltensor``; the producer's deleter runs
when the last reader of the memory is gone).

The structures follow ``dlpack.h`` (v1.0); only ctypes is used, so no compiled extension.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Any

import numpy as np

from .backends.meta import contiguous_strides

CPU, CUDA, CUDA_MANAGED = 1, 2, 13  # DLDeviceType values
DEVICE_NAMES = {CPU: "CPU", CUDA: "CUDA", 3: "CUDA host", 4: "OpenCL", 7: "Vulkan", 8: "Metal", 9: "VPI",
                10: "ROCm", CUDA_MANAGED: "CUDA managed", 14: "oneAPI"}  # for messages
_READ_ONLY = 1  # DLPACK_FLAG_BITMASK_READ_ONLY
# Capsule names: the capsule keeps a pointer to its name, so these bytes live as long as the module.
_LEGACY, _VERSIONED = b"dltensor", b"dltensor_versioned"
_USED = {_LEGACY: b"used_dltensor", _VERSIONED: b"used_dltensor_versioned"}


class _Device(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class _DataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class _Tensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("device", _Device), ("ndim", ctypes.c_int32), ("dtype", _DataType),
                ("shape", ctypes.POINTER(ctypes.c_int64)), ("strides", ctypes.POINTER(ctypes.c_int64)),
                ("byte_offset", ctypes.c_uint64)]


_Deleter = ctypes.CFUNCTYPE(None, ctypes.c_void_p)


class _Managed(ctypes.Structure):
    _fields_ = [("dl_tensor", _Tensor), ("manager_ctx", ctypes.c_void_p), ("deleter", _Deleter)]


class _Version(ctypes.Structure):
    _fields_ = [("major", ctypes.c_uint32), ("minor", ctypes.c_uint32)]


class _ManagedVersioned(ctypes.Structure):
    _fields_ = [("version", _Version), ("manager_ctx", ctypes.c_void_p), ("deleter", _Deleter),
                ("flags", ctypes.c_uint64), ("dl_tensor", _Tensor)]


_api = ctypes.pythonapi
_api.PyCapsule_New.restype = ctypes.py_object
_api.PyCapsule_New.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
_api.PyCapsule_IsValid.restype = ctypes.c_int
_api.PyCapsule_IsValid.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
_api.PyCapsule_GetPointer.restype = ctypes.c_void_p
_api.PyCapsule_GetPointer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
_api.PyCapsule_SetName.restype = ctypes.c_int
_api.PyCapsule_SetName.argtypes = [ctypes.py_object, ctypes.c_char_p]

_CODES = {"i": 0, "u": 1, "f": 2, "c": 5, "b": 6}  # NumPy kind -> DLDataTypeCode
_KINDS = {code: kind for kind, code in _CODES.items()}


@dataclass
class Description:
    """Memory as DLPack describes it; strides in bytes (as NumPy and CUDA's interface)."""

    data: int
    shape: tuple[int, ...]
    strides: tuple[int, ...]
    dtype: np.dtype
    device: tuple[int, int]
    readonly: bool = False


# -- export -------------------------------------------------------------------------------
# Every exported capsule's structures and the object owning the memory, by the address of
# the managed tensor, until the consumer's deleter call (or the unused capsule's destructor).
_exported: dict[int, tuple] = {}


@_Deleter
def _delete(address: int) -> None:
    _exported.pop(address, None)


@ctypes.CFUNCTYPE(None, ctypes.c_void_p)
def _destroy_capsule(capsule: int) -> None:
    """A capsule no consumer took (still named ``dltensor``): free what it holds."""
    for name in (_LEGACY, _VERSIONED):
        if _api.PyCapsule_IsValid(capsule, name):
            _delete(_api.PyCapsule_GetPointer(capsule, name))


def export(desc: Description, owner: Any, versioned: bool) -> Any:
    """A capsule over ``desc``'s memory that keeps ``owner`` alive until it is deleted."""
    n, item = len(desc.shape), desc.dtype.itemsize
    shape, strides = (ctypes.c_int64 * max(n, 1))(*desc.shape), (ctypes.c_int64 * max(n, 1))(
        *(s // item for s in desc.strides))
    managed = _ManagedVersioned() if versioned else _Managed()
    t = managed.dl_tensor
    t.data, t.device, t.ndim, t.byte_offset = desc.data, _Device(*desc.device), n, 0
    t.dtype = _DataType(_CODES[desc.dtype.kind], item * 8, 1)
    t.shape, t.strides = ctypes.cast(shape, ctypes.POINTER(ctypes.c_int64)), ctypes.cast(
        strides, ctypes.POINTER(ctypes.c_int64))
    managed.deleter = _delete
    if versioned:
        managed.version = _Version(1, 0)
        managed.flags = _READ_ONLY if desc.readonly else 0
    address = ctypes.addressof(managed)
    _exported[address] = (managed, shape, strides, owner)
    return _api.PyCapsule_New(address, _VERSIONED if versioned else _LEGACY,
                              ctypes.cast(_destroy_capsule, ctypes.c_void_p))


# -- import -------------------------------------------------------------------------------
class _Taken:
    """Ownership of a consumed capsule's managed tensor: runs the producer's deleter when
    the memory's last user lets go of it."""

    def __init__(self, address: int, struct: type) -> None:
        self._managed = struct.from_address(address)

    def __del__(self) -> None:
        deleter = self._managed.deleter
        if deleter:
            deleter(ctypes.addressof(self._managed))


def _managed(capsule: Any):
    """(name, structure type, managed tensor) of an unused DLPack capsule."""
    handle = id(capsule)  # CPython: the object's address, as the capsule API takes it
    for name, struct in ((_VERSIONED, _ManagedVersioned), (_LEGACY, _Managed)):
        if _api.PyCapsule_IsValid(handle, name):
            return name, struct, struct.from_address(_api.PyCapsule_GetPointer(handle, name))
    raise BufferError("from_dlpack: the capsule is not an unused DLPack tensor (it was consumed already, "
                      "or it is not a DLPack capsule)")


def device_of(capsule: Any) -> tuple[int, int]:
    """The (device type, device id) of an unused capsule, which stays unused."""
    d = _managed(capsule)[2].dl_tensor.device
    return d.device_type, d.device_id


def read(capsule: Any) -> tuple[Description, _Taken]:
    """The memory a producer's capsule describes, and the ownership that keeps it valid."""
    name, struct, managed = _managed(capsule)
    t = managed.dl_tensor
    if t.dtype.lanes != 1 or t.dtype.code not in _KINDS:
        raise BufferError(f"from_dlpack: unsupported DLPack dtype (code {t.dtype.code}, {t.dtype.bits} bits, "
                          f"{t.dtype.lanes} lanes)")
    dtype = np.dtype(f"{_KINDS[t.dtype.code]}{t.dtype.bits // 8}") if t.dtype.code != 6 else np.dtype(np.bool_)
    shape = tuple(t.shape[i] for i in range(t.ndim))
    strides = tuple(t.strides[i] * dtype.itemsize for i in range(t.ndim)) if t.strides else \
        contiguous_strides(shape, dtype.itemsize)  # NULL strides: compact row-major
    readonly = bool(struct is _ManagedVersioned and managed.flags & _READ_ONLY)
    desc = Description((t.data or 0) + t.byte_offset, shape, strides, dtype,
                       (t.device.device_type, t.device.device_id), readonly)
    _api.PyCapsule_SetName(capsule, _USED[name])
    return desc, _Taken(ctypes.addressof(managed), struct)
