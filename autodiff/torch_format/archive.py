"""torch.save's zip archive (torch >= 1.6): read it without torch and without running code; write it.

An archive is a zip of stored (uncompressed) records under one top-level folder:
``<folder>/data.pkl`` (the pickled object tree; tensors refer to storages by persistent
id), ``<folder>/data/<key>`` (each storage's raw bytes), ``<folder>/byteorder`` (``little``
or ``big``) and ``<folder>/version``. Loading unpickles ``data.pkl`` with the restricted
unpickler, then reads each storage once and makes every tensor a NumPy view of it, so
tensors that shared a storage in torch share memory — and one version counter — here.
Each storage's CRC-32 is checked (torch does not check them), on worker threads while the
next storage is read: zlib releases the GIL, and checksums cost more than the reading.

Errors: a file that is not a readable archive (truncated, corrupt, a record missing, a
checksum mismatch, storage bytes that do not fit their tensors) raises ``RuntimeError``;
a pickle that names a global or builds an object weights-only loading does not allow
raises ``pickle.UnpicklingError``; a tensor of a dtype autodiff lacks raises ``TypeError``.

Writing makes each tensor a view of the storage its memory belongs to (its outermost NumPy
base), so views and shared tensors stay shared; records are aligned to 64 bytes as torch
aligns them.
"""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, BinaryIO

import numpy as np

from .. import backends
from ..device import as_device, device
from ..nn.parameter import Parameter
from ..tensor import Tensor
from . import names
from .pickler import Pickler, Placement
from .unpickler import (Device, DType, PickledOrderedDict, RestrictedUnpickler, Storage, TensorRecord,
                        UnpicklingError)

ZIP_MAGIC = b"PK\x03\x04"
_ALIGN = 64
_FOLDER = "archive"
_SCALARS = (type(None), bool, int, float, complex, str, bytes, bytearray)
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, zlib.error, NotImplementedError,
               ValueError, struct.error)


def is_zip(head: bytes) -> bool:
    return head[:4] == ZIP_MAGIC


def load(src: BinaryIO, name: str, map_location: Any = None) -> Any:
    """Read a torch.save archive from the seekable binary file ``src`` (``name`` is for errors)."""
    try:
        archive = zipfile.ZipFile(src)
    except _ZIP_ERRORS as ex:
        raise RuntimeError(f"autodiff.load: {name}: not an autodiff save file, nor a readable torch.save "
                           f"zip archive: truncated or corrupt ({ex})") from None
    with archive:
        return _Reader(archive, src, name, map_location).read()


class _Reader:
    def __init__(self, archive: zipfile.ZipFile, src: BinaryIO, name: str, map_location: Any) -> None:
        self.archive, self.src, self.name, self.map_location = archive, src, name, map_location
        self.storages: dict[str, tuple[np.ndarray, list]] = {}  # key -> (bytes, version counter)

    def fail(self, what: str) -> RuntimeError:
        return RuntimeError(f"autodiff.load: {self.name}: {what}")

    def read(self) -> Any:
        pickles = [n for n in self.archive.namelist() if n.endswith("/data.pkl") and n.count("/") == 1]
        if len(pickles) != 1:
            raise self.fail("not a torch.save archive (it needs exactly one <folder>/data.pkl record, "
                            f"found {len(pickles)})")
        self.folder = pickles[0][:-len("data.pkl")]
        order = self._record("byteorder", missing=b"little")
        if order not in (b"little", b"big"):
            raise self.fail(f"byteorder record says {order[:20]!r}, expected 'little' or 'big'")
        self.swap = order.decode() != "little"
        return self._build(self._unpickle())

    def _unpickle(self) -> Any:
        try:
            return RestrictedUnpickler(io.BytesIO(self._record("data.pkl"))).load()
        except UnpicklingError as ex:
            raise UnpicklingError(f"autodiff.load: {self.name}: {ex}") from None
        except (EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError, struct.error,
                OverflowError, RecursionError) as ex:
            raise UnpicklingError(f"autodiff.load: {self.name}: malformed data.pkl "
                                  f"({type(ex).__name__}: {ex})") from None

    def _build(self, tree: Any) -> Any:
        """Autodiff objects for the unpickled tree, once every storage read passed its checksum."""
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as self.checksums:
            self.pending: list[tuple[str, int, Future]] = []  # (record, its CRC-32, the computed one)
            self.swaps: list[tuple[np.ndarray, np.dtype]] = []  # big-endian storages to make native
            try:
                result = _Builder(self).build(tree)
            except RecursionError:
                raise UnpicklingError(f"autodiff.load: {self.name}: data.pkl nests too deeply") from None
            for record, crc, computed in self.pending:
                if computed.result() != crc:
                    raise self.fail(f"record {record} is corrupt (CRC-32 mismatch)")
        for raw, np_dtype in self.swaps:  # after the checksums, which are of the file's bytes
            raw.view(np_dtype).byteswap(inplace=True)
        return result

    def _record(self, record: str, missing: bytes | None = None) -> bytes:
        try:
            return self.archive.read(self.folder + record)
        except KeyError:
            if missing is not None:
                return missing
            raise self.fail(f"archive has no record {self.folder + record}") from None
        except _ZIP_ERRORS as ex:
            raise self.fail(f"record {self.folder + record} is unreadable ({ex})") from None

    def storage(self, storage: Storage, np_dtype: np.dtype) -> tuple[np.ndarray, list]:
        """A storage's bytes (read once, byte-swapped to native if needed) and its version counter."""
        known = self.storages.get(storage.key)
        if known is None:
            raw = self._place(storage, self._read(storage))
            if self.swap and np_dtype.itemsize > 1:
                self.swaps.append((raw, np_dtype))
            known = self.storages[storage.key] = (raw, [0])
        return known

    def _read(self, storage: Storage) -> np.ndarray:
        record = f"{self.folder}data/{storage.key}"
        try:
            info = self.archive.getinfo(record)
        except KeyError:
            raise self.fail(f"archive has no record {record} for storage {storage.key!r}") from None
        if info.file_size != storage.nbytes:
            raise self.fail(f"storage {storage.key!r} holds {info.file_size} bytes, but the pickle "
                            f"describes {storage.nbytes}")
        raw = np.empty(storage.nbytes, np.uint8)
        try:
            got = self._read_into(info, memoryview(raw))
        except _ZIP_ERRORS as ex:
            raise self.fail(f"record {record} is unreadable ({ex})") from None
        if got != storage.nbytes:
            raise self.fail(f"file is truncated: record {record} needs {storage.nbytes} bytes, found {got}")
        self.pending.append((record, info.CRC, self.checksums.submit(zlib.crc32, raw)))  # checked in read()
        return raw

    def _read_into(self, info: zipfile.ZipInfo, out: memoryview) -> int:
        """Read a record's bytes into ``out``: straight from the file when stored (the usual case)."""
        if info.compress_type != zipfile.ZIP_STORED:
            with self.archive.open(info) as f:
                return f.readinto(out)
        self.src.seek(info.header_offset)
        header = self.src.read(30)
        if len(header) != 30 or header[:4] != ZIP_MAGIC:
            raise zipfile.BadZipFile(f"bad local header for {info.filename}")
        name_len, extra_len = struct.unpack("<HH", header[26:30])
        self.src.seek(info.header_offset + 30 + name_len + extra_len)
        return self.src.readinto(out) or 0

    def _place(self, storage: Storage, raw: np.ndarray) -> np.ndarray:
        """Apply ``map_location`` as torch.load does; autodiff places storages on the CPU only."""
        where: Any = storage.location
        ml = self.map_location
        if isinstance(ml, dict):
            where = ml.get(where, where)
        elif callable(ml) and not isinstance(ml, (str, device)):
            moved = ml(Tensor._make(raw), storage.location)
            if isinstance(moved, Tensor):
                if moved._data.dtype != np.uint8 or moved._data.shape != raw.shape or not moved.is_contiguous():
                    raise TypeError("map_location callable must return the storage it was given (a 1-D "
                                    f"uint8 tensor of {raw.size} bytes) or None, got {moved!r:.60}")
                return moved._data
            if moved is not None:
                raise TypeError(f"map_location callable must return a storage or None, got "
                                f"{type(moved).__name__}")
        elif ml is not None:
            where = ml
        target = device(where if isinstance(where, (str, device)) else str(where))
        if target.type == "cuda":
            raise RuntimeError("Attempting to deserialize object on a CUDA device but autodiff has no cuda "
                               "backend in this build. Use autodiff.load with map_location='cpu' to map "
                               "your storages to the CPU.")
        as_device(target)
        return raw


class _Builder:
    """Turns the unpickled tree into autodiff objects; anything unexpected is refused."""

    def __init__(self, reader: _Reader) -> None:
        self.reader = reader
        self.memo: dict[int, Any] = {}

    def build(self, obj: Any) -> Any:
        kind = type(obj)
        if kind in _SCALARS:
            return obj
        if id(obj) in self.memo:
            return self.memo[id(obj)]
        if kind in (dict, PickledOrderedDict):
            result = self.memo[id(obj)] = OrderedDict() if kind is PickledOrderedDict else {}
            for k, v in obj.items():
                result[self.build(k)] = self.build(v)
            state = obj.__dict__.get("_state") if kind is PickledOrderedDict else None
            if state:
                result._metadata = self.build(state["_metadata"])
            return result
        if kind is list:
            result = self.memo[id(obj)] = []
            result.extend(self.build(x) for x in obj)
            return result
        if kind in (tuple, set, frozenset):
            result = kind(self.build(x) for x in obj)
        elif kind is TensorRecord:
            result = self._tensor(obj)
        elif kind is DType:
            result = self._dtype(obj.name)
        elif kind is Device:
            result = device(obj.name)
        else:
            what = obj.kind if hasattr(obj, "kind") else getattr(obj, "__name__", kind.__name__)
            raise UnpicklingError(f"autodiff.load: {self.reader.name}: the pickle leaves a {what} in the "
                                  "loaded data; weights-only loading rebuilds tensors and plain containers only")
        self.memo[id(obj)] = result
        return result

    def _dtype(self, torch_name: str):
        try:
            return names.autodiff_dtype(torch_name)
        except TypeError as ex:
            raise TypeError(f"autodiff.load: {self.reader.name}: {ex}") from None

    def _tensor(self, rec: TensorRecord) -> Tensor:
        dtype = self._dtype(rec.dtype)
        raw, counter = self.reader.storage(rec.storage, dtype.np)
        itemsize = dtype.itemsize
        if raw.size % itemsize:
            raise self.reader.fail(f"storage {rec.storage.key!r} of {raw.size} bytes is not a whole number "
                                   f"of {dtype.name} elements")
        numel = raw.size // itemsize
        needed = rec.offset + sum((n - 1) * s for n, s in zip(rec.size, rec.stride)) + 1
        if 0 in rec.size:
            needed = rec.offset
        if needed > numel:
            raise self.reader.fail(f"a tensor of size {list(rec.size)}, stride {list(rec.stride)} and storage "
                                   f"offset {rec.offset} needs {needed} elements, but storage "
                                   f"{rec.storage.key!r} holds {numel}")
        try:
            view = np.ndarray(rec.size, dtype.np, buffer=raw, offset=rec.offset * itemsize if numel else 0,
                              strides=tuple(s * itemsize for s in rec.stride))
        except (ValueError, OverflowError) as ex:
            raise self.reader.fail(f"a tensor of size {list(rec.size)} and stride {list(rec.stride)} cannot "
                                   f"be made ({ex})") from None
        t = Tensor._make(view, version_counter=counter)
        if rec.parameter:
            return Parameter(t, requires_grad=rec.requires_grad)
        if rec.requires_grad:
            t.requires_grad_(True)
        return t


# ---- writing ------------------------------------------------------------------------
def save(obj: Any, out: BinaryIO) -> None:
    """Write ``obj`` as torch.save does (zip format, pickle protocol 2) to a binary file object."""
    storages = _Storages()
    pkl = Pickler(storages.place).dump(obj)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        _write(archive, out, "data.pkl", pkl)
        _write(archive, out, "byteorder", b"little")
        for key, array in enumerate(storages.arrays):
            _write(archive, out, f"data/{key}", array)
        _write(archive, out, "version", b"3\n")


class _Storages:
    """Assigns each tensor a storage: the memory of its outermost NumPy base, seen as its dtype."""

    def __init__(self) -> None:
        self.arrays: list[np.ndarray] = []
        self._keys: dict[tuple[int, np.dtype], int] = {}

    def place(self, t: Tensor) -> Placement:
        data = t._data
        found = _storage_view(data)
        if found is None:  # memory torch cannot view (negative strides, ...): a private copy
            storage = backends.copy(data) if data.size else np.empty(data.shape, data.dtype)
            found = storage.reshape(-1), storage, 0, tuple(s // data.itemsize for s in storage.strides)
        storage, root, offset, stride = found
        key = self._keys.get((id(root), data.dtype))
        if key is None:
            key = self._keys[id(root), data.dtype] = len(self.arrays)
            self.arrays.append(storage)
        return Placement(names.storage_class(t.dtype), str(key), storage.size, offset, data.shape, stride)


def _storage_view(data: np.ndarray) -> tuple[np.ndarray, np.ndarray, int, tuple] | None:
    """(storage: the outermost base's memory as a 1-D array of ``data``'s dtype, that base, element
    offset, element strides) of ``data``; None where torch cannot view the memory that way."""
    root = data
    while isinstance(root.base, np.ndarray):
        root = root.base
    item = data.itemsize
    if not root.flags.c_contiguous or root.nbytes % item:
        return None
    delta = data.__array_interface__["data"][0] - root.__array_interface__["data"][0]
    if delta % item or any(s < 0 or s % item for s in data.strides):
        return None
    storage = root.reshape(-1).view(np.uint8).view(data.dtype)
    offset, stride = delta // item, tuple(s // item for s in data.strides)
    if data.size and not 0 <= offset + sum((n - 1) * s for n, s in zip(data.shape, stride)) < storage.size:
        return None
    return storage, root, offset, stride


def _write(archive: zipfile.ZipFile, out: BinaryIO, record: str, data: bytes | np.ndarray) -> None:
    name = f"{_FOLDER}/{record}"
    if isinstance(data, np.ndarray):
        data = memoryview(data.astype(data.dtype.newbyteorder("<"), copy=False).reshape(-1)).cast("B")
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    info.file_size = len(data)
    info.extra = _padding(out, len(name.encode()), zip64=len(data) * 1.05 > zipfile.ZIP64_LIMIT)
    with archive.open(info, "w") as f:
        f.write(data)


def _padding(out: BinaryIO, name_len: int, zip64: bool) -> bytes:
    """An extra field that makes the record's data start on a multiple of 64 bytes."""
    try:
        position = out.tell()
    except (OSError, AttributeError):
        return b""  # not seekable: no alignment
    need = -(position + 30 + name_len + (20 if zip64 else 0)) % _ALIGN
    if need == 0:
        return b""
    if need < 4:
        need += _ALIGN
    return struct.pack("<HH", 0x4441, need - 4) + bytes(need - 4)
