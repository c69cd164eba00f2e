"""Fuzzing ``autodiff.save``/``autodiff.load``: round trips of generated objects, then
truncations, byte flips, header mutations (re-checksummed, so they reach the parser),
corrupt length fields and foreign or malicious files. Every load either returns the
saved data exactly or raises RuntimeError, the one exception type ``autodiff.load``
documents: never OverflowError, MemoryError, RecursionError or anything else."""

from __future__ import annotations

import io
import json
import math
import pickle
import struct
import zlib
from collections import OrderedDict

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autodiff as ad
from autodiff import serialization

from .budget import count, examples
from .strategies import shapes

_DTYPES = ["float32", "float64", "int64", "bool", "uint8", "int32"]


@st.composite
def saved_tensors(draw):
    dtype = draw(st.sampled_from(_DTYPES))
    shape = draw(shapes(max_dims=3))
    elems = st.floats(allow_nan=True, allow_infinity=True, width=32) if dtype.startswith("float") else None
    data = draw(hnp.arrays(np.dtype(dtype), shape, elements=elems))
    t = ad.tensor(data)
    if t.ndim >= 2 and draw(st.booleans()):
        t = t.transpose(0, 1)
    if dtype.startswith("float") and draw(st.booleans()):
        t = t.detach().requires_grad_(True)
    return t


leaves = st.one_of(st.none(), st.booleans(), st.integers(-2**63, 2**63 - 1), st.text(max_size=8),
                   st.floats(allow_nan=True, allow_infinity=True), saved_tensors())
keys = st.one_of(st.text(max_size=6), st.integers(-5, 100))
objects = st.recursive(leaves, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.lists(inner, max_size=3).map(tuple),
    st.dictionaries(keys, inner, max_size=4), st.dictionaries(keys, inner, max_size=3).map(OrderedDict)),
    max_leaves=10)


def _same(a, b) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, ad.Tensor):
        return (a.dtype is b.dtype and a.shape == b.shape and a.requires_grad == b.requires_grad
                and np.array_equal(a.detach().numpy(), b.detach().numpy(), equal_nan=a.is_floating_point()))
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a.keys()) == list(b.keys()) and all(_same(a[k], b[k]) for k in a)
    return a == b


def _save(obj) -> bytes:
    buf = io.BytesIO()
    ad.save(obj, buf)
    return buf.getvalue()


def _load(raw: bytes, name: str):
    """The loaded object, or None after the documented RuntimeError; anything else fails."""
    count(name)
    try:
        return ("ok", ad.load(io.BytesIO(raw)))
    except RuntimeError as e:
        assert "autodiff.load" in str(e) or "Tensors of floating point" in str(e), e
        return ("error", e)


def _split(raw: bytes):
    _, n, _ = serialization._PREFIX.unpack(raw[:serialization._PREFIX.size])
    header = json.loads(raw[serialization._PREFIX.size:serialization._PREFIX.size + n])
    start = serialization._aligned(serialization._PREFIX.size + n)
    return header, raw[start:]


def _join(header, data: bytes, length: int | None = None) -> bytes:
    body = json.dumps(header).encode()
    prefix = serialization._PREFIX.pack(serialization.MAGIC, len(body) if length is None else length,
                                        zlib.crc32(body))
    pad = serialization._aligned(len(prefix) + len(body)) - len(prefix) - len(body)
    return prefix + body + bytes(pad) + data


@examples(40)
@given(obj=objects)
def test_round_trip_is_identical(obj):
    kind, loaded = _load(_save(obj), "save_load")
    assert kind == "ok" and _same(obj, loaded)


@examples(60)
@given(obj=objects, data=st.data())
def test_truncated_or_flipped_files_load_identically_or_raise_runtime_error(obj, data):
    raw = _save(obj)
    if data.draw(st.booleans()):
        raw2 = raw[:data.draw(st.integers(0, len(raw) - 1))]
    else:
        buf = bytearray(raw)
        for _ in range(data.draw(st.integers(1, 4))):
            i = data.draw(st.integers(0, len(buf) - 1))
            buf[i] ^= data.draw(st.integers(1, 255))
        raw2 = bytes(buf)
    kind, loaded = _load(raw2, "corrupt")
    assert kind == "error" or _same(obj, loaded)


_NASTY = [2**64 - 1, 2**63, -1, -2**63, 10**30, 1e308, 0.5, "7", None, [], {}, True, [2**62, 2**62],
          [-1], [0] * 40, {"type": "tensor", "index": 0}, {"type": "list"}, "x" * 5]


def _paths(node, path=()):
    yield path
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, path + (i,))


def _replace(node, path, value):
    if not path:
        return value
    node = node.copy()
    node[path[0]] = _replace(node[path[0]], path[1:], value)
    return node


@examples(80)
@given(obj=objects, data=st.data())
def test_header_mutations_load_or_raise_runtime_error(obj, data):
    header, blob = _split(_save(obj))
    paths = list(_paths(header))
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths))
        header = _replace(header, path, data.draw(st.sampled_from(_NASTY)))
        paths = list(_paths(header))
    _load(_join(header, blob), "header_mutation")


@examples(20)
@given(obj=objects, length=st.one_of(st.integers(0, 2**64 - 1), st.sampled_from([2**64 - 1, 2**63, 2**31])))
def test_corrupt_header_length_raises_runtime_error(obj, length):
    header, blob = _split(_save(obj))
    raw = _join(header, blob, length=length)
    kind, loaded = _load(raw, "length_field")
    assert kind == "error" or _same(obj, loaded)


def _raw_header(text: str) -> bytes:
    body = text.encode()
    return serialization._PREFIX.pack(serialization.MAGIC, len(body), zlib.crc32(body)) + body + bytes(64)


def test_foreign_and_malicious_files_raise_runtime_error(tmp_path):
    depth = 200_000  # deeper than any recursion limit
    deep_tree = ('{"format":"autodiff.save","version":1,"tensors":[],"root":'
                 + '{"type":"list","items":[' * depth + "]}" * depth + "}")
    deep_json = "[" * 1_000_000 + "]" * 1_000_000
    huge_tensor = {"format": "autodiff.save", "version": 1, "root": {"type": "tensor", "index": 0},
                   "tensors": [{"dtype": "float32", "shape": [2**40, 2**20], "offset": 0,
                                "nbytes": 2**62, "crc32": 0}]}
    offsets = dict(huge_tensor, tensors=[dict(huge_tensor["tensors"][0], shape=[1], nbytes=4,
                                              offset=2**62)])
    infinite = dict(huge_tensor, tensors=[dict(huge_tensor["tensors"][0], shape=[1], nbytes=4,
                                               offset=float("inf"))])
    files = [b"", b"\x00" * 3, serialization.MAGIC, pickle.dumps({"a": 1}),
             b'{"format": "autodiff.save"}', bytes(range(256)) * 8,
             _raw_header(deep_tree), _raw_header(deep_json),
             _join(huge_tensor, b""), _join(offsets, b"\x00" * 64), _join(infinite, b"\x00" * 64),
             struct.pack("<8sQI", serialization.MAGIC, 2**64 - 1, 0)]
    for raw in files:
        kind, _ = _load(raw, "foreign")
        assert kind == "error"
    path = tmp_path / "file.ad"
    path.write_bytes(files[-1])
    try:
        ad.load(path)
    except RuntimeError as e:
        assert str(path) in str(e)
    else:
        raise AssertionError("a corrupt file on disk loaded")
