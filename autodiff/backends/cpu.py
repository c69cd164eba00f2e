"""The CPU backend: NumPy arrays as storage, the Numba kernels of ``kernels/cpu`` as compute.

This is the only module under ``autodiff/`` that imports ``kernels.cpu``
(``tests/test_layering.py`` enforces it).
"""

from __future__ import annotations

import numpy as np

from kernels.cpu import (attention, conv, index, interpolate, linalg, linear, loss, matmul, optim, pool,
                         qr, reduce, rnn, sampling, sort, sparse, special, triangle)
from kernels.cpu import elementwise as elementwise_kernels
from kernels.cpu import norm

from ..device import cpu as _cpu
from .base import Backend, register
from .cpu_memory import MIN_BYTES as POOL_MIN_BYTES
from .cpu_memory import POOL
from .layout import overlap_status, storage_size

# (op name, dtype, operand mask) -> (serial, parallel) flat kernels: the kernels module's own
# table, looked up directly on the fast path (``flat_kernels`` fills it on a miss)
_FLAT_KERNELS = elementwise_kernels.FLAT_KERNELS
_PARALLEL_THRESHOLD = elementwise_kernels.PARALLEL_THRESHOLD


class CPUBackend(Backend):
    device = _cpu
    storage = np.ndarray
    PARALLEL_THRESHOLD = elementwise_kernels.PARALLEL_THRESHOLD

    # kernel families (see Backend)
    reduce = reduce
    index = index
    matmul = matmul
    linear = linear
    conv = conv
    pool = pool
    loss = loss
    optim = optim
    qr = qr
    attention = attention
    rnn = rnn
    sort = sort
    sampling = sampling
    interpolate = interpolate
    sparse = sparse
    special = special
    linalg = linalg
    triangle = triangle
    norm = norm

    # large buffers come from autodiff's own cache of freed ones (cpu_memory.py)
    empty = staticmethod(POOL.empty)

    @staticmethod
    def zeros(shape, np_dtype=float) -> np.ndarray:
        out = POOL.empty(shape, np_dtype)
        out.fill(0)
        return out

    @staticmethod
    def copy(src: np.ndarray, np_dtype=None) -> np.ndarray:
        """A fresh C-contiguous copy of ``src`` (cast to ``np_dtype`` if given)."""
        out = POOL.empty(src.shape, src.dtype if np_dtype is None else np_dtype)
        return elementwise_kernels.run("copy", out.dtype, out, src)

    @staticmethod
    def elementwise(name: str, compute, out: np.ndarray, *operands) -> np.ndarray:
        """``out[...] = name(*operands)``; a dense ``out`` laid out in another order than C's (the
        result of an op on transposed operands) is walked in its own memory order, so operands
        in that layout too take the flat kernels."""
        if out.ndim < 2 or out.flags.c_contiguous or not out.size:
            return elementwise_kernels.run(name, compute, out, *operands)
        order = sorted(range(out.ndim), key=lambda d: -out.strides[d])
        walked = out.transpose(order)
        if not walked.flags.c_contiguous:
            return elementwise_kernels.run(name, compute, out, *operands)
        shape = out.shape
        elementwise_kernels.run(name, compute, walked, *[
            np.broadcast_to(o, shape).transpose(order) if type(o) is np.ndarray and o.ndim else o
            for o in operands])
        return out
    flat_kernels = staticmethod(elementwise_kernels.flat_kernels)

    @staticmethod
    def elementwise_flat(name: str, dt: np.dtype, mask: str, result_bool: bool, operands: list) -> np.ndarray:
        """Op ``name``'s flat kernel on operands of one dtype ``dt`` and shape: per ``mask``
        letter a C-contiguous array ("a"), an array broadcast from one element ("b") or a
        scalar ("s")."""
        first = operands[0]
        if first.ndim != 1 or "b" in mask:  # the kernels take 1-D arrays ("a") and scalars ("s")
            operands = [a.ravel() if m == "a" else a.flat[0] if m == "b" else a
                        for a, m in zip(operands, mask)]
            mask = mask.replace("b", "s")
        kernels = _FLAT_KERNELS.get((name, dt, mask))
        if kernels is None:
            kernels = elementwise_kernels.flat_kernels(name, dt, mask)
        # the size test before the call: on this path the cache's Python call costs more than
        # a small output saves (POOL.empty would hand it to np.empty all the same)
        out = (POOL.empty if first.nbytes >= POOL_MIN_BYTES else np.empty)(
            first.shape, np.bool_ if result_bool else dt)
        kernels[first.size >= _PARALLEL_THRESHOLD](out if out.ndim == 1 else out.ravel(), *operands)
        return out

    @staticmethod
    def empty_strided(shape: tuple, strides: tuple | None, np_dtype) -> np.ndarray:
        if strides is None:
            return POOL.empty(shape, np_dtype)
        dt = np.dtype(np_dtype)
        buffer = POOL.empty(storage_size(shape, strides), dt)
        return np.ndarray(shape, dt, buffer, 0, tuple(s * dt.itemsize for s in strides))

    @staticmethod
    def strided(data: np.ndarray, shape: tuple, strides: tuple, writeable: bool = True) -> np.ndarray:
        it = data.itemsize
        byte_strides = tuple(s * it for s in strides)
        if data.flags.c_contiguous and data.size:  # its buffer directly: ~10x cheaper than as_strided
            out = np.ndarray(shape, data.dtype, data, 0, byte_strides)
            if not (writeable and data.flags.writeable):
                out.flags.writeable = False
            return out
        return np.lib.stride_tricks.as_strided(data, shape, byte_strides,
                                               writeable=writeable and data.flags.writeable)

    @staticmethod
    def as_strided(data: np.ndarray, shape: tuple, strides: tuple, storage_offset: int) -> np.ndarray:
        root = _storage_root(data)
        it = data.itemsize
        return np.ndarray(shape, data.dtype, buffer=root, offset=storage_offset * it,
                          strides=tuple(s * it for s in strides))

    @staticmethod
    def storage_offset(data: np.ndarray) -> int:
        root = _storage_root(data)
        return (data.__array_interface__["data"][0] - root.__array_interface__["data"][0]) // data.itemsize

    @staticmethod
    def storage_size(data: np.ndarray) -> int:
        return _storage_root(data).size

    @staticmethod
    def index_range(index: np.ndarray) -> tuple:
        return int(index.min()), int(index.max())

    @staticmethod
    def wrap_negative(index: np.ndarray, size: int) -> np.ndarray:
        return np.where(index < 0, index + size, index)

    @staticmethod
    def memory_overlap(a: np.ndarray, b: np.ndarray) -> str:
        if a is b:
            return "full"
        if not a.size or not b.size or not np.may_share_memory(a, b):
            return "none"
        return overlap_status(a, b, a.__array_interface__["data"][0], b.__array_interface__["data"][0])

    @staticmethod
    def internal_overlap(a: np.ndarray) -> bool:
        return a.size > 1 and any(s == 0 and n > 1 for s, n in zip(a.strides, a.shape))

    @staticmethod
    def writable(a: np.ndarray) -> np.ndarray:
        if type(a) is not np.ndarray or a.flags.writeable:
            return a
        root = a
        while True:  # the memory's owner, also through as_strided's holder object
            up = root.base if isinstance(root.base, np.ndarray) else getattr(root.base, "base", None)
            if not isinstance(up, np.ndarray):
                break
            root = up
        if not root.flags.writeable:
            return a
        offset = a.__array_interface__["data"][0] - root.__array_interface__["data"][0]
        return np.ndarray(a.shape, a.dtype, buffer=root, offset=offset, strides=a.strides)

    @staticmethod
    def from_numpy(array: np.ndarray) -> np.ndarray:
        return array

    @staticmethod
    def to_numpy(data: np.ndarray) -> np.ndarray:
        return data


def _storage_root(data: np.ndarray) -> np.ndarray:
    while isinstance(data.base, np.ndarray):
        data = data.base
    return data


backend = register(CPUBackend())
