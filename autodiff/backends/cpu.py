"""The CPU backend: NumPy arrays as storage, the Numba kernels of ``kernels/cpu`` as compute.

This is the only module under ``autodiff/`` that imports ``kernels.cpu``
(``tests/test_layering.py`` enforces it).
"""

from __future__ import annotations

import numpy as np

from kernels.cpu import (attention, conv, index, interpolate, linalg, linear, loss, matmul, optim, pool,
                         qr, reduce, rnn, sampling, sort, sparse, special, triangle)
from kernels.cpu import elementwise as elementwise_kernels

from ..device import cpu as _cpu
from .base import Backend, register
from .layout import storage_size


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

    empty = staticmethod(np.empty)
    zeros = staticmethod(np.zeros)
    copy = staticmethod(elementwise_kernels.copy)
    elementwise = staticmethod(elementwise_kernels.run)
    flat_kernels = staticmethod(elementwise_kernels.flat_kernels)

    @staticmethod
    def elementwise_flat(name: str, result_bool: bool, to_float: bool, no_bool: bool, numbers: bool,
                         operands: list):
        """The fast path of an elementwise op, or None where it does not apply.

        It applies when every operand is an array of one dtype and shape that is
        C-contiguous or one broadcast value (passed as a scalar), or a Python number that
        leaves that dtype alone (a float with a float array, an int with an int or float
        array): then the flat kernel runs directly, with no promotion or broadcasting.
        ``no_bool``/``numbers`` false: bool arrays / Python numbers take the checked general path.
        """
        first = operands[0]
        if type(first) is not np.ndarray:
            return None
        dt, shape = first.dtype, first.shape
        kind = dt.kind
        if (to_float and kind != "f") or (no_bool and kind == "b"):
            return None
        flat = first.ndim == 1
        raw, mask = [], ""
        for a in operands:
            if type(a) is np.ndarray:
                if a.dtype != dt or a.shape != shape:
                    return None
                if a.flags.c_contiguous:
                    raw.append(a if flat else a.reshape(-1))
                    mask += "a"
                elif a.size and not any(a.strides):  # one value broadcast (an expanded grad)
                    raw.append(a.flat[0])
                    mask += "s"
                else:
                    return None
            elif numbers and ((type(a) is float and kind == "f") or (type(a) is int and kind in "if")):
                raw.append(dt.type(a))
                mask += "s"
            else:
                return None
        out = np.empty(shape, np.bool_ if result_bool else dt)
        kernels = elementwise_kernels.flat_kernels(name, dt, mask)
        kernels[out.size >= elementwise_kernels.PARALLEL_THRESHOLD](out if flat else out.reshape(-1), *raw)
        return out

    @staticmethod
    def empty_strided(shape: tuple, strides: tuple | None, np_dtype) -> np.ndarray:
        if strides is None:
            return np.empty(shape, np_dtype)
        dt = np.dtype(np_dtype)
        buffer = np.empty(storage_size(shape, strides), dt)
        return np.ndarray(shape, dt, buffer, 0, tuple(s * dt.itemsize for s in strides))

    @staticmethod
    def from_numpy(array: np.ndarray) -> np.ndarray:
        return array

    @staticmethod
    def to_numpy(data: np.ndarray) -> np.ndarray:
        return data


backend = register(CPUBackend())
