"""``autodiff.save`` / ``autodiff.load``: tensors and nested containers in a safe file format.

Nothing in a file is ever executed: there is no pickle. A file is

``MAGIC`` (8 bytes) | header length (u64 LE) | header CRC-32 (u32 LE) | header (JSON, UTF-8)
| zero padding to a multiple of 64 | tensor blobs, each starting on a multiple of 64.

The header holds the object tree and a table of tensors (dtype, shape, offset from the
start of the data section, byte count, CRC-32 of the bytes). Tree nodes are JSON
literals for ``None``, bools, ints, strings and finite floats, and tagged objects
``{"type": ...}`` for everything else: tensors (by table index, with Parameter-ness and
requires_grad), non-finite floats, lists, tuples, dicts and OrderedDicts (as key/value
pairs, so int keys — the optimizer's parameter ids — survive). Tensors are stored as
C-contiguous little-endian bytes; a tensor that appears several times in the tree is
stored once and loaded as one tensor (views of one buffer are stored separately).

Loading checks everything it reads (magic, lengths, checksums, dtypes, shapes, offsets)
and raises RuntimeError naming the file and the problem.
"""

from __future__ import annotations

import json
import math
import os
import struct
import zlib
from collections import OrderedDict
from typing import Any, BinaryIO

import numpy as np

from . import backends

from . import dtypes
from .device import as_device
from .nn.parameter import Parameter
from .tensor import Tensor

MAGIC = b"ADSAVE\x00\x01"
FORMAT_VERSION = 1
_ALIGN = 64
_PREFIX = struct.Struct("<8sQI")  # magic, header length, header crc32

FileLike = str | os.PathLike | BinaryIO


class _Writer:
    """Turns an object tree into a JSON-able tree plus the list of arrays to write."""

    def __init__(self) -> None:
        self.arrays: list[np.ndarray] = []
        self.table: list[dict] = []
        self._index: dict[int, int] = {}
        self._keep: list[Tensor] = []  # keeps ids stable while encoding

    def encode(self, obj: Any) -> Any:
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, (int, np.integer)):
            return int(obj)
        if isinstance(obj, (float, np.floating)):
            value = float(obj)
            return value if math.isfinite(value) else {"type": "float", "value": repr(value)}
        if isinstance(obj, Tensor):
            return {"type": "tensor", "index": self._tensor(obj), "parameter": isinstance(obj, Parameter),
                    "requires_grad": bool(obj.requires_grad and obj.is_leaf)}
        if isinstance(obj, (list, tuple)):
            return {"type": "tuple" if isinstance(obj, tuple) else "list",
                    "items": [self.encode(x) for x in obj]}
        if isinstance(obj, dict):
            for key in obj:
                if not (key is None or isinstance(key, (bool, int, str, float))):
                    raise TypeError(f"autodiff.save: dict keys must be None, bool, int, float or str, "
                                    f"got {type(key).__name__}")
            return {"type": "odict" if isinstance(obj, OrderedDict) else "dict",
                    "items": [[self.encode(k), self.encode(v)] for k, v in obj.items()]}
        raise TypeError(f"autodiff.save can only store tensors, None, bools, ints, floats, strs and "
                        f"lists, tuples and dicts of them; got an object of type {type(obj).__name__}")

    def _tensor(self, t: Tensor) -> int:
        if id(t) in self._index:
            return self._index[id(t)]
        data = t._data
        if not data.flags.c_contiguous:
            data = backends.copy(data)
        data = data.astype(data.dtype.newbyteorder("<"), copy=False)  # a no-op on little-endian hosts
        offset = 0
        if self.table:
            last = self.table[-1]
            offset = _aligned(last["offset"] + last["nbytes"])
        view = memoryview(data).cast("B") if data.size else b""
        self.table.append({"dtype": t.dtype.name, "shape": list(data.shape), "offset": offset,
                           "nbytes": data.nbytes, "crc32": zlib.crc32(view)})
        self.arrays.append(data)
        self._keep.append(t)
        self._index[id(t)] = len(self.table) - 1
        return self._index[id(t)]


def _aligned(n: int) -> int:
    return -(-n // _ALIGN) * _ALIGN


def save(obj: Any, f: FileLike) -> None:
    """Write ``obj`` (a tensor, or None/bool/int/float/str, or lists/tuples/dicts nesting them —
    e.g. a model's or optimizer's state dict) to a path or a binary file object."""
    writer = _Writer()
    root = writer.encode(obj)
    header = json.dumps({"format": "autodiff.save", "version": FORMAT_VERSION, "root": root,
                         "tensors": writer.table}, separators=(",", ":")).encode()
    prefix = _PREFIX.pack(MAGIC, len(header), zlib.crc32(header))
    with _open(f, "wb") as out:
        out.write(prefix)
        out.write(header)
        written = _PREFIX.size + len(header)
        data_start = _aligned(written)
        out.write(bytes(data_start - written))
        position = 0
        for entry, array in zip(writer.table, writer.arrays):
            out.write(bytes(entry["offset"] - position))
            if array.size:
                out.write(memoryview(array).cast("B"))
            position = entry["offset"] + entry["nbytes"]


def load(f: FileLike, map_location: Any = None, *, weights_only: bool | None = None) -> Any:
    """Read an object written by ``save``. Only data is read: the format cannot hold code,
    so ``weights_only`` has nothing to restrict. ``map_location`` must be a device autodiff has."""
    as_device(map_location)
    name = _name(f)
    with _open(f, "rb") as src:
        return _Reader(src, name).read()


class _Reader:
    def __init__(self, src: BinaryIO, name: str) -> None:
        self.src = src
        self.name = name
        self.tensors: list[Tensor | None] = []

    def fail(self, what: str) -> RuntimeError:
        return RuntimeError(f"autodiff.load: {self.name}: {what}")

    def exact(self, n: int, what: str) -> bytes:
        data = self.src.read(n)
        if len(data) != n:
            raise self.fail(f"file is truncated: expected {n} bytes of {what}, found {len(data)}")
        return data

    def read(self) -> Any:
        head = self.src.read(_PREFIX.size)
        if len(head) < len(MAGIC) or head[:len(MAGIC)] != MAGIC:
            raise self.fail("not an autodiff save file (wrong magic bytes at the start); "
                            "files written by torch.save cannot be read")
        if len(head) != _PREFIX.size:
            raise self.fail("file is truncated inside its fixed-size prefix")
        _, header_len, header_crc = _PREFIX.unpack(head)
        header_bytes = self.exact(header_len, "header")
        if zlib.crc32(header_bytes) != header_crc:
            raise self.fail("header is corrupt (checksum mismatch)")
        try:
            header = json.loads(header_bytes)
        except ValueError as ex:
            raise self.fail(f"header is corrupt ({ex})") from None
        if not isinstance(header, dict) or header.get("format") != "autodiff.save":
            raise self.fail("header does not describe an autodiff save file")
        if header.get("version") != FORMAT_VERSION:
            raise self.fail(f"format version {header.get('version')} is not supported (this autodiff "
                            f"reads version {FORMAT_VERSION})")
        self.exact(_aligned(_PREFIX.size + header_len) - _PREFIX.size - header_len, "padding")
        self._read_tensors(header.get("tensors"))
        return self.decode(header.get("root"))

    def _read_tensors(self, table: Any) -> None:
        if not isinstance(table, list):
            raise self.fail("header has no tensor table")
        position = 0
        for i, entry in enumerate(table):
            try:
                dtype = dtypes.as_dtype(np.dtype(entry["dtype"]))
                shape = tuple(int(n) for n in entry["shape"])
                offset, nbytes, crc = int(entry["offset"]), int(entry["nbytes"]), int(entry["crc32"])
            except (KeyError, TypeError, ValueError) as ex:
                raise self.fail(f"tensor {i} has an invalid description ({ex!r})") from None
            if any(n < 0 for n in shape) or nbytes != math.prod(shape) * dtype.itemsize:
                raise self.fail(f"tensor {i}: shape {list(shape)} of {dtype.name} does not match its "
                                f"{nbytes} bytes")
            if offset < position:
                raise self.fail(f"tensor {i}: data offset {offset} overlaps the previous tensor")
            self.exact(offset - position, "padding")
            array = np.empty(shape, dtype.np.newbyteorder("<"))
            raw = memoryview(array.reshape(-1).view(np.uint8))
            got = self.src.readinto(raw) if nbytes else 0
            if got != nbytes:
                raise self.fail(f"file is truncated: tensor {i} needs {nbytes} bytes, found {got}")
            if zlib.crc32(raw) != crc:
                raise self.fail(f"tensor {i} data is corrupt (checksum mismatch)")
            self.tensors.append(Tensor._make(array.astype(dtype.np, copy=False)))
            position = offset + nbytes

    def decode(self, node: Any) -> Any:
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if not isinstance(node, dict) or "type" not in node:
            raise self.fail(f"header holds an invalid node {str(node)[:60]!r}")
        kind = node["type"]
        try:
            if kind == "tensor":
                return self._tensor(node)
            if kind == "float":
                return float(node["value"])
            if kind == "list":
                return [self.decode(x) for x in node["items"]]
            if kind == "tuple":
                return tuple(self.decode(x) for x in node["items"])
            if kind in ("dict", "odict"):
                pairs = [(self.decode(k), self.decode(v)) for k, v in node["items"]]
                return OrderedDict(pairs) if kind == "odict" else dict(pairs)
        except (KeyError, TypeError, ValueError) as ex:
            raise self.fail(f"header holds an invalid {kind} node ({ex!r})") from None
        raise self.fail(f"header holds a node of unknown type {kind!r}")

    def _tensor(self, node: dict) -> Tensor:
        index = node["index"]
        if not isinstance(index, int) or not 0 <= index < len(self.tensors):
            raise self.fail(f"header refers to tensor {index}, but the file holds {len(self.tensors)}")
        t = self.tensors[index]
        if node.get("parameter") and not isinstance(t, Parameter):
            t = self.tensors[index] = Parameter(t, requires_grad=bool(node.get("requires_grad")))
        elif node.get("requires_grad") and not t.requires_grad:
            t.requires_grad_(True)
        return t


def _name(f: FileLike) -> str:
    if isinstance(f, (str, os.PathLike)):
        return repr(os.fspath(f))
    return repr(getattr(f, "name", type(f).__name__))


class _open:
    """Open a path (closing it afterwards) or pass a file object through (leaving it open)."""

    def __init__(self, f: FileLike, mode: str) -> None:
        self.owned = isinstance(f, (str, os.PathLike))
        self.file = open(f, mode) if self.owned else f
        if not self.owned and not hasattr(f, "write" if "w" in mode else "readinto"):
            raise TypeError(f"expected a path or a binary file object, got {type(f).__name__}")

    def __enter__(self) -> BinaryIO:
        return self.file

    def __exit__(self, *exc: Any) -> None:
        if self.owned:
            self.file.close()
