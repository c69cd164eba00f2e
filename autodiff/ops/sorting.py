"""Sorting and order statistics: ``sort``, ``argsort``, ``msort``, ``topk``, ``kthvalue``,
``median``.

All run the stable merge-sort kernels of ``kernels/cpu/sort.py`` on an (A, K, B) view
of the input around ``dim``; NaN sorts as the largest value, as in PyTorch.

These ops have two outputs, values and indices. Until the Op mechanism has multi-output
ops, ``_with_indices`` is the one place that joins them to it: the kernel runs once,
the indices become a plain (integer) tensor, and the values come out of a
single-output Op whose forward merely returns the values the kernel already wrote and
whose backward reads the indices: sort and topk scatter the gradient back to where the
values came from; kthvalue and median(dim) place it at the selected element.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from kernels.cpu import sort as sk

from ..factories import zeros
from ..tensor import Tensor
from . import indexing as ix
from .op import Op
from .reduction import (
    _even_split_grad,
    _selected_grad,
    as_akb,
    normalize_dims,
    reduced_shape,
)

# torch.return_types.*: (values, indices)
sort_result = namedtuple("sort", ["values", "indices"])
topk_result = namedtuple("topk", ["values", "indices"])
kthvalue_result = namedtuple("kthvalue", ["values", "indices"])
median_result = namedtuple("median", ["values", "indices"])


def _given_values(data, indices, values, **params):
    """Forward of the value half: the kernel already wrote ``values``."""
    return values


def _scatter_back(grad, self_shape, indices, dim):
    """Gradient of sort/topk: each value's gradient goes back to the position it came from."""
    return ix.scatter(zeros(self_shape, dtype=grad.dtype), dim, indices, grad)


_value_ops = {
    "sort": Op("sort", ("self", "indices"), _given_values,
               (lambda grad, self_shape, indices, dim: _scatter_back(grad, self_shape, indices, dim),)),
    "topk": Op("topk", ("self", "indices"), _given_values,
               (lambda grad, self_shape, indices, dim: _scatter_back(grad, self_shape, indices, dim),)),
    "kthvalue": Op("kthvalue", ("self", "indices"), _given_values,
                   (lambda grad, self_shape, indices, dim, keepdim:
                    _selected_grad(grad, self_shape, indices, dim, keepdim),)),
    "median": Op("median", ("self", "indices"), _given_values,
                 (lambda grad, self_shape, indices, dim, keepdim:
                  _selected_grad(grad, self_shape, indices, dim, keepdim),), node_name="MedianBackward1"),
}


def _with_indices(name: str, result_type, input: Tensor, values: np.ndarray, indices: np.ndarray,
                  **params):
    """(values, indices) as the named tuple ``result_type``, values differentiable."""
    idx = Tensor._make(indices)
    return result_type(_value_ops[name](input, idx, values=values, **params), idx)


def _dim(input: Tensor, dim: int) -> int:
    return normalize_dims(dim, input.dim())[0] if input.dim() else 0


def _sorted_along(data: np.ndarray, d: int, k: int, descending: bool) -> tuple:
    """The first ``k`` sorted elements along dim ``d`` and their indices (the kernel call)."""
    shape = data.shape or (1,)
    x = as_akb(data.reshape(shape), (d,))
    values = np.empty((x.shape[0], k, x.shape[2]), data.dtype)
    indices = np.empty(values.shape, np.int64)
    sk.sort(x, values, indices, descending)
    out_shape = shape[:d] + (k,) + shape[d + 1:] if data.ndim else ()
    return values.reshape(out_shape), indices.reshape(out_shape)


def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False):
    """(values, indices) of ``input`` sorted along ``dim``; always stable (ties keep their order)."""
    d = _dim(input, dim)
    n = input.shape[d] if input.dim() else 1
    values, indices = _sorted_along(input._data, d, n, descending)
    return _with_indices("sort", sort_result, input, values, indices, dim=d)


def argsort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """The indices that sort ``input`` along ``dim``."""
    return sort(input, dim, descending, stable).indices


def msort(input: Tensor) -> Tensor:
    """``input`` sorted along its first dimension."""
    return sort(input, 0).values


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
    """(values, indices) of the ``k`` largest (``largest=False``: smallest) along ``dim``,
    in sorted order (also when ``sorted=False``, which allows any order)."""
    d = _dim(input, dim)
    n = input.shape[d] if input.dim() else 1
    if not 0 <= k <= n:
        raise RuntimeError("selected index k out of range")
    values, indices = _sorted_along(input._data, d, k, largest)
    return _with_indices("topk", topk_result, input, values, indices, dim=d)


def _pick(input: Tensor, d: int, position, keepdim: bool, nan_propagates: bool, name: str) -> tuple:
    """The element at ``position`` (int, or a function of the row length) of every row along
    ``d`` sorted, and its index: the kernel call of kthvalue and median."""
    data = input._data.reshape(input.shape or (1,))
    n = data.shape[d]
    if n == 0:
        raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")
    x = as_akb(data, (d,))
    values = np.empty((x.shape[0], x.shape[2]), data.dtype)
    indices = np.empty(values.shape, np.int64)
    sk.pick_sorted(x, position, nan_propagates, values, indices)
    shape = reduced_shape(data.shape, (d,), keepdim) if input.dim() else ()
    return values.reshape(shape), indices.reshape(shape)


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False):
    """(values, indices) of the ``k``-th smallest element (1-based) along ``dim``."""
    d = _dim(input, dim)
    n = input.shape[d] if input.dim() else 1
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d}")
    values, indices = _pick(input, d, k - 1, keepdim, False, "kthvalue")
    return _with_indices("kthvalue", kthvalue_result, input, values, indices, dim=d, keepdim=keepdim)


def _median_all_forward(data: np.ndarray) -> np.ndarray:
    if data.size == 0:
        return np.full((), np.nan, data.dtype)
    x = as_akb(data.reshape(1, -1), (1,))
    values = np.empty((1, 1), data.dtype)
    sk.pick_sorted(x, (data.size - 1) // 2, True, values, np.empty((1, 1), np.int64))
    return values.reshape(())


_median_all = Op("median", ("self",), _median_all_forward, (_even_split_grad,))


def median(input: Tensor, dim: int | None = None, keepdim: bool = False):
    """The lower median of all elements; with ``dim``, (values, indices) along it. NaN
    propagates: a row holding NaN has median NaN (at its first NaN)."""
    if dim is None:
        return _median_all(input)
    d = _dim(input, dim)
    n = input.shape[d] if input.dim() else 1
    values, indices = _pick(input, d, (n - 1) // 2, keepdim, True, "median")
    return _with_indices("median", median_result, input, values, indices, dim=d, keepdim=keepdim)
