"""``autodiff.save`` / ``autodiff.load``: tensors and nested containers in safe file formats.

``load`` tells the format from a file's first bytes: autodiff's own (below), a torch.save
zip archive (``autodiff.torch_format``: read without torch, through a restricted unpickler
that rebuilds only tensors and plain containers), or safetensors (``autodiff.safetensors_format``,
through the optional ``safetensors`` package). ``save`` writes autodiff's own format unless
``format="torch"`` or ``format="safetensors"`` (the default for a path ending in
``.safetensors``) says otherwise. Nothing in any file is ever executed.

Errors: a file that is truncated, corrupt or of no known format raises ``RuntimeError``
naming the file; a torch pickle that names a global weights-only loading refuses raises
``pickle.UnpicklingError`` (as torch's does); a tensor of a dtype autodiff lacks, ``TypeError``.

autodiff's own format has no pickle. A file is

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
and raises RuntimeError naming the file and the problem — the one exception type a
corrupt, truncated or foreign file gives (lengths are checked against the bytes left
before anything is allocated; absurd nesting is a RuntimeError too).
"""

from __future__ import annotations

import io
import json
import math
import os
import struct
import zlib
from collections import OrderedDict
from typing import Any, BinaryIO

import numpy as np

from . import backends

from . import dtypes, pickling, safetensors_format, torch_format
from .device import as_device, device
from .pickling import add_safe_globals, clear_safe_globals, get_safe_globals, safe_globals  # noqa: F401
from .nn.parameter import Parameter
from .tensor import Tensor

MAGIC = b"ADSAVE\x00\x01"
FORMAT_VERSION = 1
_ALIGN = 64
_PREFIX = struct.Struct("<8sQI")  # magic, header length, header crc32

FileLike = str | os.PathLike | BinaryIO


class _NotData(TypeError):
    """An object the data-only format cannot hold: ``save`` pickles the whole object instead."""


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
                    raise _NotData(f"autodiff.save: dict keys must be None, bool, int, float or str, "
                                    f"got {type(key).__name__}")
            return {"type": "odict" if isinstance(obj, OrderedDict) else "dict",
                    "items": [[self.encode(k), self.encode(v)] for k, v in obj.items()]}
        raise _NotData(f"autodiff.save can only store tensors, None, bools, ints, floats, strs and "
                        f"lists, tuples and dicts of them; got an object of type {type(obj).__name__}")

    def _tensor(self, t: Tensor) -> int:
        if id(t) in self._index:
            return self._index[id(t)]
        data = t._data if t.device.type != "cuda" else t.cpu()._data  # saved as host bytes
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


FORMATS = ("autodiff", "torch", "safetensors")


def save(obj: Any, f: FileLike, pickle_module: Any = None, pickle_protocol: int = 2, *,
         format: str | None = None, metadata: dict[str, str] | None = None) -> None:
    """Write ``obj`` to a path or a binary file object. A tensor, or None/bool/int/float/str, or
    lists/tuples/dicts nesting them — e.g. a model's or optimizer's state dict — is written in
    the data-only format; any other object (a whole model) is pickled, as torch.save does,
    and loads only with ``weights_only=False`` (see ``autodiff.pickling``).

    ``format``: ``"autodiff"`` (the default), ``"torch"`` (a zip archive that
    ``torch.load(f, weights_only=True)`` reads) or ``"safetensors"`` (the default for a path
    ending in ``.safetensors``; ``obj`` must be a dict of names to tensors, ``metadata`` an
    optional dict of str to str stored with it)."""
    if format is None:
        suffix = os.fspath(f) if isinstance(f, (str, os.PathLike)) else ""
        format = "safetensors" if str(suffix).endswith(".safetensors") else "autodiff"
    if format not in FORMATS:
        raise ValueError(f"autodiff.save: format must be one of {', '.join(FORMATS)}; got {format!r}")
    if metadata is not None and format != "safetensors":
        raise ValueError(f"autodiff.save: metadata is stored by the safetensors format only, not {format!r}")
    if format != "autodiff":
        with _open(f, "wb") as out:
            if format == "torch":
                torch_format.save(obj, out)
            else:
                safetensors_format.save(obj, out, metadata)
        return
    writer = _Writer()
    try:
        root = writer.encode(obj)
    except _NotData:
        with _open(f, "wb") as out:
            pickling.save_pickled(obj, out, pickle_protocol)
        return
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


def load(f: FileLike, map_location: Any = None, pickle_module: Any = None, *,
         weights_only: bool | None = None, mmap: bool | None = None, **pickle_load_args: Any) -> Any:
    """Read an autodiff, torch.save (zip, torch >= 1.6) or safetensors file from a path or a
    binary file object.

    Only data is ever read from these — torch pickles go through a restricted unpickler whatever
    ``weights_only`` says. A whole pickled object written by ``save`` (a model) is unpickled only
    as far as ``weights_only`` allows: with the default (True) only allowlisted globals resolve
    (``add_safe_globals``/``safe_globals``), as in torch >= 2.6.

    ``map_location`` is as in torch.load: a device (string or ``autodiff.device``), a dict from saved locations to devices, or a callable
    ``(storage, location) -> storage or None``; storages must end up on a device autodiff has."""
    name = _name(f)
    with _open(f, "rb") as src:
        src, head = _peek(src, 16)
        if head[:len(pickling.MAGIC)] == pickling.MAGIC:
            src.read(len(pickling.MAGIC))
            return pickling.load_pickled(src, weights_only is not False)
        if head[:len(MAGIC)] == MAGIC:
            return _moved(_Reader(src, name).read(), _check_map_location(map_location))
        if torch_format.is_zip(head):
            return torch_format.load(src, name, map_location)
        if safetensors_format.is_safetensors(head):
            target = _check_map_location(map_location)
            return _moved(safetensors_format.load(src, name, os.fspath(f) if isinstance(f, (str, os.PathLike))
                                                  else None), target)
        if head[:1] == b"\x80":
            raise RuntimeError(f"autodiff.load: {name}: this looks like a pickle, e.g. torch.save's legacy "
                               "format (torch < 1.6 or _use_new_zipfile_serialization=False), which is not "
                               "supported: save it again with torch's default (zip) format")
        return _Reader(src, name).read()  # raises the wrong-magic error


def _peek(src: BinaryIO, n: int) -> tuple[BinaryIO, bytes]:
    """The first ``n`` bytes of ``src``, leaving it where it was (buffered if not seekable)."""
    if getattr(src, "seekable", lambda: False)():
        start = src.tell()
        head = src.read(n)
        src.seek(start)
        return src, head
    data = src.read()
    return io.BytesIO(data), data[:n]


def _check_map_location(map_location: Any) -> device | None:
    """Formats without saved locations hold CPU tensors: the device ``map_location`` sends
    them to (None: a callable, which sees none of them), checked to have a backend."""
    if isinstance(map_location, dict):
        map_location = map_location.get("cpu", "cpu")
    elif callable(map_location) and not isinstance(map_location, (str, device)):
        return None
    return as_device(map_location if map_location is None or isinstance(map_location, (str, device))
                     else str(map_location))


def _moved(obj: Any, target: device | None) -> Any:
    """``obj`` with every tensor in its dicts, lists and tuples moved to ``target``."""
    if target is None or target.type == "cpu":
        return obj
    if isinstance(obj, Tensor):
        return obj.to(target)
    if isinstance(obj, dict):
        return type(obj)((k, _moved(v, target)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)) and not hasattr(obj, "_fields"):
        return type(obj)(_moved(v, target) for v in obj)
    return obj


class _Reader:
    def __init__(self, src: BinaryIO, name: str) -> None:
        self.src = src
        self.name = name
        self.tensors: list[Tensor | None] = []
        try:  # the file's end, so that no length read from it allocates more than it holds
            here = src.tell()
            self.end = src.seek(0, os.SEEK_END)
            src.seek(here)
        except (AttributeError, OSError, ValueError):
            self.end = None

    def fail(self, what: str) -> RuntimeError:
        return RuntimeError(f"autodiff.load: {self.name}: {what}")

    def check_available(self, n: int, what: str) -> None:
        """Truncation error, before anything is allocated, if fewer than ``n`` bytes are left."""
        if self.end is not None and n > self.end - self.src.tell():
            raise self.fail(f"file is truncated: expected {n} bytes of {what}, found "
                            f"{self.end - self.src.tell()}")

    def exact(self, n: int, what: str) -> bytes:
        self.check_available(n, what)
        chunks, left = [], n
        while left > 0:  # bounded reads: a corrupt length in an unseekable stream cannot exhaust memory
            chunk = self.src.read(min(left, 1 << 24))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        if len(data) != n:
            raise self.fail(f"file is truncated: expected {n} bytes of {what}, found {len(data)}")
        return data

    def read(self) -> Any:
        try:
            return self._read()
        except RecursionError:
            raise self.fail("header nests containers too deeply to be a saved object") from None
        except MemoryError:
            raise self.fail("a length in the file is larger than this machine's memory") from None

    def _read(self) -> Any:
        head = self.src.read(_PREFIX.size)
        if len(head) < len(MAGIC) or head[:len(MAGIC)] != MAGIC:
            raise self.fail("not an autodiff save file (wrong magic bytes at the start), nor a torch.save "
                            "zip archive or a safetensors file")
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
            except (KeyError, TypeError, ValueError, OverflowError) as ex:
                raise self.fail(f"tensor {i} has an invalid description ({ex!r})") from None
            if any(n < 0 for n in shape) or nbytes != math.prod(shape) * dtype.itemsize:
                raise self.fail(f"tensor {i}: shape {list(shape)} of {dtype.name} does not match its "
                                f"{nbytes} bytes")
            if offset < position:
                raise self.fail(f"tensor {i}: data offset {offset} overlaps the previous tensor")
            self.exact(offset - position, "padding")
            self.check_available(nbytes, f"tensor {i}")
            if len(shape) > 64:  # NumPy's limit; no saved tensor has more
                raise self.fail(f"tensor {i} has {len(shape)} dimensions")
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
        except (KeyError, TypeError, ValueError, OverflowError) as ex:
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
