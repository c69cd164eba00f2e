"""A protocol-2 pickle writer for ``data.pkl``: the object tree as torch.save pickles it.

It emits only opcodes and globals that ``torch.load(weights_only=True)`` accepts: containers,
numbers and strings as pickle writes them, ``collections.OrderedDict``, and each tensor as
``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, OrderedDict())``
over a persistent storage id (``_rebuild_parameter`` around it for a Parameter). Written by
hand because pickle's own Pickler looks every global up in its module, which would import torch.
A tensor met twice is written once and referenced (pickle's memo), as torch does.
"""

from __future__ import annotations

import struct
from collections import OrderedDict
from typing import Any, Callable, NamedTuple

import numpy as np

from ..nn.parameter import Parameter
from ..tensor import Tensor


class Placement(NamedTuple):
    """Where a tensor lives in the archive: a storage record and the strided view of it."""

    storage_class: str  # e.g. "FloatStorage"
    key: str
    numel: int
    offset: int
    size: tuple
    stride: tuple


_KEY_TYPES = (type(None), bool, int, float, str)


class Pickler:
    """``Pickler(place).dump(obj)`` -> the bytes of ``data.pkl``; ``place(t)`` says where a tensor goes."""

    def __init__(self, place: Callable[[Tensor], Placement]) -> None:
        self._place = place
        self._out = bytearray(b"\x80\x02")  # PROTO 2
        self._memo: dict[Any, int] = {}
        self._keep: list[Tensor] = []  # keeps ids in the memo stable

    def dump(self, obj: Any) -> bytes:
        self._save(obj)
        self._out += b"."  # STOP
        return bytes(self._out)

    # ---- memo ---------------------------------------------------------------------
    def _put(self, key: Any) -> None:
        index = self._memo[key] = len(self._memo)
        self._out += b"q" + bytes([index]) if index < 256 else b"r" + struct.pack("<I", index)

    def _get(self, key: Any) -> bool:
        index = self._memo.get(key)
        if index is None:
            return False
        self._out += b"h" + bytes([index]) if index < 256 else b"j" + struct.pack("<I", index)
        return True

    def _global(self, module: str, name: str) -> None:
        if not self._get(("global", module, name)):
            self._out += f"c{module}\n{name}\n".encode()
            self._put(("global", module, name))

    # ---- values -------------------------------------------------------------------
    def _save(self, obj: Any) -> None:
        out = self._out
        if obj is None:
            out += b"N"
        elif obj is True or obj is False:
            out += b"\x88" if obj else b"\x89"
        elif isinstance(obj, (int, np.integer)):
            self._int(int(obj))
        elif isinstance(obj, (float, np.floating)):
            out += b"G" + struct.pack(">d", float(obj))
        elif isinstance(obj, str):
            raw = obj.encode("utf-8", "surrogatepass")
            out += b"X" + struct.pack("<I", len(raw)) + raw
        elif isinstance(obj, Tensor):
            self._tensor(obj)
        elif isinstance(obj, tuple):
            self._tuple(obj)
        elif isinstance(obj, list):
            out += b"]"
            self._batch(obj, b"e")  # APPENDS
        elif isinstance(obj, dict):
            for key in obj:
                if not isinstance(key, _KEY_TYPES):
                    raise TypeError(f"autodiff.save: dict keys must be None, bool, int, float or str, "
                                    f"got {type(key).__name__}")
            if isinstance(obj, OrderedDict):
                self._empty_ordered_dict()
            else:
                out += b"}"
            self._batch([x for item in obj.items() for x in item], b"u")  # SETITEMS
        else:
            raise TypeError(f"autodiff.save(format='torch') can only store tensors, None, bools, ints, "
                            f"floats, strs and lists, tuples and dicts of them; got an object of type "
                            f"{type(obj).__name__}")

    def _int(self, n: int) -> None:
        if 0 <= n < 256:
            self._out += b"K" + bytes([n])
        elif 0 <= n < 65536:
            self._out += b"M" + struct.pack("<H", n)
        elif -2**31 <= n < 2**31:
            self._out += b"J" + struct.pack("<i", n)
        else:
            raw = n.to_bytes(n.bit_length() // 8 + 1, "little", signed=True)
            if len(raw) > 255:
                raise OverflowError(f"autodiff.save(format='torch'): int of {n.bit_length()} bits is too large")
            self._out += b"\x8a" + bytes([len(raw)]) + raw  # LONG1

    def _tuple(self, items: tuple) -> None:
        if not items:
            self._out += b")"
            return
        if len(items) > 3:
            self._out += b"("  # MARK
        for x in items:
            self._save(x)
        self._out += b"t" if len(items) > 3 else b"\x85\x86\x87"[len(items) - 1:len(items)]

    def _batch(self, items: list, opcode: bytes) -> None:
        """MARK items... opcode, in batches of 1000 as pickle writes them."""
        for start in range(0, len(items), 1000):
            self._out += b"("
            for x in items[start:start + 1000]:
                self._save(x)
            self._out += opcode

    def _empty_ordered_dict(self) -> None:
        self._global("collections", "OrderedDict")
        self._out += b")R"  # EMPTY_TUPLE REDUCE

    def _tensor(self, t: Tensor) -> None:
        if self._get(("tensor", id(t))):
            return
        self._keep.append(t)
        p = self._place(t)
        parameter = isinstance(t, Parameter)
        if parameter:
            self._global("torch._utils", "_rebuild_parameter")
        self._global("torch._utils", "_rebuild_tensor_v2")
        self._out += b"(("  # MARK (args) MARK (persistent id)
        self._save("storage")
        self._global("torch", p.storage_class)
        self._save(p.key)
        self._save("cpu")
        self._save(p.numel)
        self._out += b"tQ"  # TUPLE BINPERSID
        for x in (p.offset, p.size, p.stride, bool(t.requires_grad and t.is_leaf and not parameter)):
            self._save(x)
        self._empty_ordered_dict()
        self._out += b"tR"  # TUPLE REDUCE
        if parameter:
            self._save(bool(t.requires_grad))
            self._empty_ordered_dict()
            self._out += b"\x87R"  # TUPLE3 REDUCE
        self._put(("tensor", id(t)))
