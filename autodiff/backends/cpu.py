"""The CPU backend: NumPy arrays as storage, the Numba kernels of ``kernels/cpu`` as compute.

This is the only module under ``autodiff/`` that imports ``kernels.cpu``
(``tests/test_layering.py`` enforces it).
"""

from __future__ import annotations

import numpy as np

from kernels.cpu import (attention, conv, index, interpolate, linalg, linear, loss, matmul, optim, pool,
                         qr, ranges, reduce, rnn, sampling, sort, sparse, special, triangle)
from kernels.cpu import elementwise as elementwise_kernels
from kernels.cpu import norm, threads

from ..device import cpu as _cpu
from .base import Backend, register
from .cpu_memory import POOL, SMALL_COUNT
from .layout import overlap_status, storage_size

_PARALLEL_THRESHOLD = elementwise_kernels.PARALLEL_THRESHOLD
# (op name, dtype, operand mask) -> what ``elementwise_flat`` needs: (serial kernel, parallel
# kernel, result dtype, positions of the "b" operands, positions of the "a" ones)
_FLAT_PLANS: dict[tuple, tuple] = {}


def _flat_plan(name: str, dt: np.dtype, mask: str, result_bool: bool) -> tuple:
    serial, parallel = elementwise_kernels.flat_kernels(name, dt, mask.replace("b", "s"))
    plan = _FLAT_PLANS[name, dt, mask] = (
        serial, parallel, np.dtype(np.bool_) if result_bool else dt,
        tuple(i for i, m in enumerate(mask) if m == "b"), tuple(i for i, m in enumerate(mask) if m == "a"))
    return plan


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
    ranges = ranges

    # the CPU kernels' thread count (a setting of this device alone, not a kernel family)
    set_num_threads = staticmethod(threads.set_num_threads)
    get_num_threads = staticmethod(threads.get_num_threads)

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

    def join(self, out: np.ndarray, pieces: list, dim: int) -> np.ndarray:
        if out.flags.c_contiguous:
            return elementwise_kernels.join(out, pieces, dim)
        return super().join(out, pieces, dim)

    @staticmethod
    def elementwise_flat(name: str, dt: np.dtype, mask: str, result_bool: bool, operands: list) -> np.ndarray:
        """Op ``name``'s flat kernel on operands of one dtype ``dt`` and shape: per ``mask``
        letter a C-contiguous array ("a"), an array broadcast from one element ("b") or a
        scalar ("s")."""
        serial, parallel, out_dtype, broadcast, arrays = (
            _FLAT_PLANS.get((name, dt, mask)) or _flat_plan(name, dt, mask, result_bool))
        first = operands[0]
        for i in broadcast:  # the kernels take the one value as a scalar
            operands[i] = operands[i].flat[0]
        n = first.size
        # (the size test first: below it POOL.empty would hand the request to np.empty all the same)
        if first.ndim == 1:
            out = np.empty(n, out_dtype) if n < SMALL_COUNT else POOL.empty(n, out_dtype)
            (serial if n < _PARALLEL_THRESHOLD else parallel)(out, *operands)
            return out
        out = np.empty(first.shape, out_dtype) if n < SMALL_COUNT else POOL.empty(first.shape, out_dtype)
        for i in arrays:  # the kernels take 1-D arrays
            operands[i] = operands[i].ravel()
        (serial if n < _PARALLEL_THRESHOLD else parallel)(out.ravel(), *operands)
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
        flags = data.flags
        if flags.c_contiguous and data.size:  # its buffer directly: ~10x cheaper than as_strided
            out = np.ndarray(shape, data.dtype, data, 0, byte_strides)
            if not (writeable and flags.writeable):
                out.flags.writeable = False
            return out
        return np.lib.stride_tricks.as_strided(data, shape, byte_strides,
                                               writeable=writeable and flags.writeable)

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
    def same_storage(a: np.ndarray, b: np.ndarray) -> bool:
        return _storage_root(a) is _storage_root(b)

    @staticmethod
    def address(data: np.ndarray) -> int:
        return data.ctypes.data

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
