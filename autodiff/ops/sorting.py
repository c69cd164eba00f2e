"""Sorting and order statistics: ``sort``, ``argsort``, ``msort``, ``topk``, ``kthvalue``,
``median``.

All run the stable merge-sort kernels of the backend's ``sort`` family on an (A, K, B)
view of the input around ``dim``; NaN sorts as the largest value, as in PyTorch.

Each is an op with two outputs, values and indices (not differentiable): sort and topk
scatter the gradient back to where the values came from; kthvalue and median(dim) place
it at the selected element.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..backends import backend_of
from ..backends.meta import MetaArray
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


def _scatter_back(grads, self_shape, indices, dim):
    """Gradient of sort/topk: each value's gradient goes back to the position it came from."""
    return ix.scatter(zeros(self_shape, dtype=grads[0].dtype, device=grads[0].device), dim, indices, grads[0])


def _dim(input: Tensor, dim: int) -> int:
    return normalize_dims(dim, input.dim())[0] if input.dim() else 0


def _sorted_meta(data, d: int, k: int) -> tuple:
    shape = data.shape[:d] + (k,) + data.shape[d + 1:] if data.ndim else ()
    return MetaArray(shape, data.dtype), MetaArray(shape, np.int64)


def _sorted_along(data, d: int, k: int, descending: bool) -> tuple:
    """The first ``k`` sorted elements along dim ``d`` and their indices (the kernel call)."""
    be = backend_of(data)
    x = as_akb(data.reshape(data.shape or (1,)), (d,))
    values = be.empty((x.shape[0], k, x.shape[2]), data.dtype)
    indices = be.empty(values.shape, np.int64)
    be.sort.sort(x, values, indices, descending)
    out_shape = _sorted_meta(data, d, k)[0].shape
    return values.reshape(out_shape), indices.reshape(out_shape)


def _check_topk(data, k: int, dim: int) -> None:
    if not 0 <= k <= (data.shape[dim] if data.ndim else 1):
        raise RuntimeError("selected index k out of range")


def _topk_meta(data, k: int, dim: int, largest: bool) -> tuple:
    _check_topk(data, k, dim)
    return _sorted_meta(data, dim, k)


def _topk_forward(data, k: int, dim: int, largest: bool) -> tuple:
    _check_topk(data, k, dim)
    return _sorted_along(data, dim, k, largest)


_sort = Op("sort", ("self",), lambda data, dim, descending: _sorted_along(
    data, dim, data.shape[dim] if data.ndim else 1, descending), (_scatter_back,),
    meta=lambda data, dim, descending: _sorted_meta(data, dim, data.shape[dim] if data.ndim else 1),
    outputs=("values", "indices"), nondifferentiable=("indices",))
_topk = Op("topk", ("self",), _topk_forward, (_scatter_back,), meta=_topk_meta,
           outputs=("values", "indices"), nondifferentiable=("indices",))


def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False):
    """(values, indices) of ``input`` sorted along ``dim``; always stable (ties keep their order)."""
    return sort_result(*_sort(input, dim=_dim(input, dim), descending=bool(descending)))


def argsort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """The indices that sort ``input`` along ``dim``."""
    return sort(input, dim, descending, stable).indices


def msort(input: Tensor) -> Tensor:
    """``input`` sorted along its first dimension."""
    return sort(input, 0).values


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
    """(values, indices) of the ``k`` largest (``largest=False``: smallest) along ``dim``,
    in sorted order (also when ``sorted=False``, which allows any order)."""
    return topk_result(*_topk(input, k=k, dim=_dim(input, dim), largest=bool(largest)))


def _pick_meta(data, d: int, keepdim: bool, name: str) -> tuple:
    """The shapes of kthvalue and median(dim), validated: the reduced dim must be non-empty."""
    shape = data.shape or (1,)
    if shape[d] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")
    out_shape = reduced_shape(shape, (d,), keepdim) if data.ndim else ()
    return MetaArray(out_shape, data.dtype), MetaArray(out_shape, np.int64)


def _pick(data, d: int, position: int, keepdim: bool, nan_propagates: bool, name: str) -> tuple:
    """The element at ``position`` of every row along ``d`` sorted, and its index: the kernel
    call of kthvalue and median."""
    out_shape = _pick_meta(data, d, keepdim, name)[0].shape
    be = backend_of(data)
    x = as_akb(data.reshape(data.shape or (1,)), (d,))
    values = be.empty((x.shape[0], x.shape[2]), data.dtype)
    indices = be.empty(values.shape, np.int64)
    be.sort.pick_sorted(x, position, nan_propagates, values, indices)
    return values.reshape(out_shape), indices.reshape(out_shape)


def _check_k(data, k: int, dim: int) -> None:
    if not 1 <= k <= (data.shape[dim] if data.ndim else 1):
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {dim}")


def _kthvalue_meta(data, k: int, dim: int, keepdim: bool) -> tuple:
    _check_k(data, k, dim)
    return _pick_meta(data, dim, keepdim, "kthvalue")


def _kthvalue_forward(data, k: int, dim: int, keepdim: bool) -> tuple:
    _check_k(data, k, dim)
    return _pick(data, dim, k - 1, keepdim, False, "kthvalue")


def _median_dim_forward(data, dim: int, keepdim: bool) -> tuple:
    n = data.shape[dim] if data.ndim else 1
    return _pick(data, dim, (n - 1) // 2, keepdim, True, "median")


def _picked_grad(grads, self_shape, indices, dim, keepdim):
    return _selected_grad(grads[0], self_shape, indices, dim, keepdim)


_kthvalue = Op("kthvalue", ("self",), _kthvalue_forward, (_picked_grad,), meta=_kthvalue_meta,
               outputs=("values", "indices"), nondifferentiable=("indices",))
_median_dim = Op("median", ("self",), _median_dim_forward, (_picked_grad,),
                 meta=lambda data, dim, keepdim: _pick_meta(data, dim, keepdim, "median"),
                 outputs=("values", "indices"), nondifferentiable=("indices",), node_name="MedianBackward1")


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False):
    """(values, indices) of the ``k``-th smallest element (1-based) along ``dim``."""
    return kthvalue_result(*_kthvalue(input, k=k, dim=_dim(input, dim), keepdim=bool(keepdim)))


def _median_all_forward(data) -> np.ndarray:
    be = backend_of(data)
    out = be.empty((), data.dtype)
    if data.size == 0:
        be.elementwise("copy", data.dtype, out, data.dtype.type(np.nan))
        return out
    x = as_akb(data.reshape(1, -1), (1,))
    be.sort.pick_sorted(x, (data.size - 1) // 2, True, out.reshape(1, 1), be.empty((1, 1), np.int64))
    return out


_median_all = Op("median", ("self",), _median_all_forward, (_even_split_grad,),
                 meta=lambda data: MetaArray((), data.dtype))


def median(input: Tensor, dim: int | None = None, keepdim: bool = False):
    """The lower median of all elements; with ``dim``, (values, indices) along it. NaN
    propagates: a row holding NaN has median NaN (at its first NaN)."""
    if dim is None:
        return _median_all(input)
    return median_result(*_median_dim(input, dim=_dim(input, dim), keepdim=bool(keepdim)))
