"""Reductions. Every reduction is run by a kernel over a 3-D view (A, K, B) of its
input, reducing the middle axis: the reduced dims are made adjacent (a permutation,
which copies only when they were not) and merged into K.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from kernels.cpu import elementwise as ew
from kernels.cpu import reduce as rk

from .. import dtypes
from .op import Op


def normalize_dims(dim, ndim: int) -> tuple:
    """``dim`` (None, an int or a sequence; negative allowed) as a sorted tuple of axes."""
    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        return tuple(range(ndim))
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    n = max(ndim, 1)
    out = set()
    for d in dims:
        if not -n <= d < n:
            raise IndexError(
                f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {d})"
            )
        d = d % n
        if d in out:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
        out.add(d)
    return tuple(sorted(d for d in out if d < ndim))


def as_akb(data: np.ndarray, dims: tuple) -> np.ndarray:
    """A view (a copy if unavoidable) of ``data`` shaped (A, K, B), K the product of ``dims``."""
    shape = data.shape
    if dims and dims != tuple(range(dims[0], dims[-1] + 1)):
        rest = [d for d in range(data.ndim) if d not in dims]
        data = ew.copy(data.transpose(rest + list(dims)))
        shape, dims = data.shape, tuple(range(len(rest), data.ndim))
    lo, hi = (dims[0], dims[-1] + 1) if dims else (data.ndim, data.ndim)
    a, k, b = math.prod(shape[:lo]), math.prod(shape[lo:hi]), math.prod(shape[hi:])
    v = data.view()
    try:
        v.shape = (a, k, b)
    except AttributeError:
        v = ew.copy(data).reshape(a, k, b)
    return v


def reduced_shape(shape: tuple, dims: tuple, keepdim: bool) -> tuple:
    if keepdim:
        return tuple(1 if i in dims else n for i, n in enumerate(shape))
    return tuple(n for i, n in enumerate(shape) if i not in dims)


def _sum_forward(data: np.ndarray, dim=None, keepdim: bool = False, dtype=None) -> np.ndarray:
    dims = normalize_dims(dim, data.ndim)
    out_dtype = dtypes.as_dtype(dtype) if dtype is not None else (
        dtypes.int64 if data.dtype.kind in "biu" else dtypes.from_numpy_dtype(data.dtype))
    if data.dtype != out_dtype.np:
        data = ew.copy(data, out_dtype.np)
    x = as_akb(data, dims)
    out = np.empty((x.shape[0], x.shape[2]), out_dtype.np)
    rk.sum_(x, out)
    return out.reshape(reduced_shape(data.shape, dims, keepdim))


def _expand_back(grad, self_shape: tuple, dim, keepdim: bool):
    """The gradient of a reduction, broadcast back over the reduced dims."""
    if not keepdim and grad.ndim:  # a 0-d gradient (a full reduction) expands as it is
        dims = normalize_dims(dim, len(self_shape))
        grad = grad.reshape(reduced_shape(self_shape, dims, True))
    return grad.expand(self_shape)


sum = Op("sum", ("self",), _sum_forward,  # noqa: A001
         (lambda grad, self_shape, dim=None, keepdim=False: _expand_back(grad, self_shape, dim, keepdim),))


def mean(input, dim=None, keepdim: bool = False, *, dtype=None):
    """Arithmetic mean over ``dim`` (all elements by default)."""
    if not (dtype or input.dtype).is_floating_point:
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating point or "
            f"complex dtype. Got: {input.dtype}"
        )
    dims = normalize_dims(dim, input.dim())
    count = 1
    for d in dims:
        count *= input.shape[d]
    return sum(input, dim=dim, keepdim=keepdim, dtype=dtype) / count


def sum_to_size(input, size: Sequence[int]):
    """Sum ``input`` down to ``size`` (the inverse of broadcasting ``size`` to input's shape)."""
    size = tuple(size)
    shape = input.shape
    lead = len(shape) - len(size)
    dims = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(size) if n == 1 and shape[lead + i] != 1)
    out = sum(input, dim=dims, keepdim=True) if dims else input
    return out.reshape(size) if out.shape != size else out
