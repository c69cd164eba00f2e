"""Reductions, scans and the softmax family.

Every kernel here works on a 3-D view (A, K, B) of its input and reduces (or scans) the
middle axis: the reduced dims are made adjacent (a permutation, which copies only when
they were not) and merged into K. ``_reduce`` does that plumbing once for all of them.

This module defines ``sum``, ``max``, ``min``, ``all`` and ``any`` (PyTorch's names), so
the built-ins of those names are reached as ``builtins.max`` and so on.

Backward rules are written with differentiable ops, so higher derivatives work:
reductions broadcast the gradient back (``_expand_back``); selections (max, min) route it
to the selected elements, split evenly among ties as PyTorch does for full reductions.
"""

from __future__ import annotations

import builtins
import math
from collections import namedtuple
from typing import Sequence

import numpy as np

from .. import backends, dtypes
from .. import profiler as _profiler
from ..backends import backend_of
from ..autograd.grad_mode import state as grad_state
from ..backends.meta import MetaArray
from ..tensor import Tensor, fresh
from . import elementwise as E
from . import views as vw
from .checks import check_floating
from .op import Op

# torch.return_types.max / min: (values, indices)
max_result = namedtuple("max", ["values", "indices"])
min_result = namedtuple("min", ["values", "indices"])


def normalize_dims(dim, ndim: int) -> tuple:
    """``dim`` (None, an int or a sequence; negative allowed) as a sorted tuple of axes."""
    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        return tuple(range(ndim))
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    n = builtins.max(ndim, 1)
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
    """``data`` as a C-contiguous (A, K, B) array, K the product of ``dims``: a view when the
    layout allows, else a copy. Reduction kernels then compile for one layout per dtype
    (each strided specialisation of them costs seconds of compile time; a copy costs one
    memory pass)."""
    shape = data.shape
    if dims and dims != tuple(range(dims[0], dims[-1] + 1)):
        rest = [d for d in range(data.ndim) if d not in dims]
        data = backends.copy(data.transpose(rest + list(dims)))
        shape, dims = data.shape, tuple(range(len(rest), data.ndim))
    lo, hi = (dims[0], dims[-1] + 1) if dims else (data.ndim, data.ndim)
    a, k, b = math.prod(shape[:lo]), math.prod(shape[lo:hi]), math.prod(shape[hi:])
    v = data.view()
    try:
        v.shape = (a, k, b)
    except AttributeError:
        return backends.copy(data).reshape(a, k, b)
    return backends.contiguous(v)


def reduced_shape(shape: tuple, dims: tuple, keepdim: bool) -> tuple:
    if keepdim:
        return tuple(1 if i in dims else n for i, n in enumerate(shape))
    return tuple(n for i, n in enumerate(shape) if i not in dims)


def _reduction_dims(data, dim, name: str, nonempty: bool) -> tuple:
    """The reduced dims, validated (a max over an empty dim has no value)."""
    dims = normalize_dims(dim, data.ndim)
    if nonempty and builtins.any(data.shape[d] == 0 for d in dims):
        if dim is None:
            raise RuntimeError(
                f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
                "Specify the reduction dim with the 'dim' argument.")
        zero = next(d for d in dims if data.shape[d] == 0)
        raise IndexError(f"{name}(): Expected reduction dim {zero} to have non-zero size.")
    return dims


def _reduced_meta(data, dim, keepdim: bool, out_dtype, name: str, nonempty: bool = False) -> MetaArray:
    """The metadata rule of the reductions: the shape without (or keeping) ``dim``."""
    dims = _reduction_dims(data, dim, name, nonempty)
    return MetaArray(reduced_shape(data.shape, dims, keepdim), out_dtype)


def _reduce(kernel: str, data: np.ndarray, dim, keepdim: bool, out_dtype, name: str,
            nonempty: bool = False, with_indices: bool = False):
    """Run the backend's (A, K, B) -> (A, B) kernel ``kernel`` for ``dim``; reshape the
    result(s) for ``keepdim``."""
    size = data.size
    if dim is None and (size or not nonempty) and data.flags.c_contiguous:  # all of it, as one row
        shape = (1,) * data.ndim if keepdim else ()
        x = data.reshape(1, size, 1)
        out_shape = (1, 1)
    else:
        dims = _reduction_dims(data, dim, name, nonempty)
        shape = reduced_shape(data.shape, dims, keepdim)
        x = as_akb(data, dims)
        out_shape = (x.shape[0], x.shape[2])
    be = backend_of(data)
    out = be.empty(out_shape, out_dtype)
    run = getattr(be.reduce, kernel)
    if with_indices:
        idx = be.empty(out.shape, np.int64)
        run(x, out, idx)
        return out.reshape(shape), idx.reshape(shape)
    run(x, out)
    return out.reshape(shape)


def _along(kernel: str, data: np.ndarray, dim: int, *more: np.ndarray) -> np.ndarray:
    """Run the backend's (A, K, B) -> (A, K, B) kernel (scans, softmax) along ``dim``."""
    dims = normalize_dims(dim, data.ndim)
    be = backend_of(data)
    views = [as_akb(a, dims) for a in (data,) + more]
    out = be.empty(views[0].shape, data.dtype)
    getattr(be.reduce, kernel)(*views, out)
    return out.reshape(data.shape)


def _accumulating_dtype(data: np.ndarray, dtype) -> np.dtype:
    if dtype is not None:
        return dtypes.as_dtype(dtype).np
    return np.dtype(np.int64) if data.dtype.kind in "biu" else data.dtype


def _cast(data: np.ndarray, np_dtype) -> np.ndarray:
    return data if data.dtype == np_dtype else backends.copy(data, np_dtype)


def _expand_back(grad, self_shape: tuple, dim, keepdim: bool):
    """The gradient of a reduction, broadcast back over the reduced dims (where no graph is
    recorded, the broadcast array itself: the view and expand ops cost ~8 us of Python; a
    profile still sees the expand op, as torch's)."""
    kept = reduced_shape(self_shape, normalize_dims(dim, len(self_shape)), True) \
        if not keepdim and grad.ndim else None  # a 0-d gradient (a full reduction) expands as it is
    be = backend_of(grad._data)
    if not grad_state.enabled and be.computes and not _profiler.active:
        data = grad._data if kept is None else be.view(grad._data, kept)
        if data is not None:
            return fresh(vw._expand_forward(data, self_shape))
    return vw.expand(grad if kept is None else grad.reshape(kept), shape=self_shape)


def _kept(t, self_shape: tuple, dim, keepdim: bool):
    """A reduced tensor reshaped to keep the reduced dims (size 1) so it broadcasts."""
    if keepdim or t.ndim == len(self_shape):
        return t
    return t.reshape(reduced_shape(self_shape, normalize_dims(dim, len(self_shape)), True))


# ---- sums and products -------------------------------------------------------------------
def _sum_forward(data, dim=None, keepdim=False, dtype=None):
    out_dtype = _accumulating_dtype(data, dtype)
    return _reduce("sum_", _cast(data, out_dtype), dim, keepdim, out_dtype, "sum")


def _sum_meta(data, dim=None, keepdim=False, dtype=None):
    return _reduced_meta(data, dim, keepdim, _accumulating_dtype(data, dtype), "sum")


sum = Op("sum", ("self",), _sum_forward,  # noqa: A001
         (lambda grad, self_shape, dim=None, keepdim=False: _expand_back(grad, self_shape, dim, keepdim),),
         meta=_sum_meta)


def _prod_forward(data, dim=None, keepdim=False, dtype=None):
    out_dtype = _accumulating_dtype(data, dtype)
    return _reduce("prod", _cast(data, out_dtype), dim, keepdim, out_dtype, "prod")


def _prod_grad(grad, self, result, dim=None, keepdim=False):
    # d prod / d x_i = product of the others. Zeros: with exactly one zero in a slice,
    # only that element gets a gradient (the product of the non-zeros); with more, none.
    shape = self.shape
    g = _expand_back(grad, shape, dim, keepdim)
    if math.prod(shape[d] for d in normalize_dims(dim, len(shape))) == 1:
        return g  # one factor: its gradient is the incoming one (also at NaN and inf)
    zero = self == 0
    nonzero = E.where(zero, 1.0, self)
    others = prod(nonzero, dim=dim, keepdim=True)
    zeros = sum(zero, dim=dim, keepdim=True)
    r = _kept(result, shape, dim, keepdim)
    return g * E.where(zero, E.where(zeros == 1, others, 0.0), r / nonzero)


prod = Op("prod", ("self",), _prod_forward, (_prod_grad,), meta=_sum_meta)


def mean(input, dim=None, keepdim: bool = False, *, dtype=None):
    """Arithmetic mean over ``dim`` (all elements by default)."""
    if not (dtypes.as_dtype(dtype) if dtype is not None else input.dtype).is_floating_point:
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating point or "
            f"complex dtype. Got: {input.dtype.scalar_name}")
    dims = normalize_dims(dim, input.dim())
    count = math.prod(input.shape[d] for d in dims)
    return sum(input, dim=dim, keepdim=keepdim, dtype=dtype) / count  # 0/0: NaN, as torch


def var(input, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """Variance over ``dim`` with ``correction`` (default 1, Bessel's; ``unbiased=False`` is 0)."""
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    dims = normalize_dims(dim, input.dim())
    count = math.prod(input.shape[d] for d in dims)
    centered = input - mean(input, dim=dims, keepdim=True)
    return sum(centered * centered, dim=dims, keepdim=keepdim) / builtins.max(count - correction, 0)


def std(input, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    return E.sqrt(var(input, dim, unbiased, keepdim, correction=correction))


def sum_to_size(input, size: Sequence[int]):
    """Sum ``input`` down to ``size`` (the inverse of broadcasting ``size`` to input's shape)."""
    size = tuple(size)
    shape = input.shape
    lead = len(shape) - len(size)
    dims = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(size) if n == 1 and shape[lead + i] != 1)
    out = sum(input, dim=dims, keepdim=True) if dims else input
    return out.reshape(size) if out.shape != size else out


# ---- selections: max, min, arg* -----------------------------------------------------------
def _even_split_grad(grad, self, result, dim=None, keepdim=False):
    """Gradient of amax/amin/full max: shared evenly among the elements equal to the result."""
    shape = self.shape
    kept = _kept(result, shape, dim, keepdim)
    hit = self == kept
    if self.dtype.is_floating_point:  # a NaN result came from the NaNs: they share the gradient
        hit = E.logical_or(hit, E.logical_and(E.isnan(self), E.isnan(kept)))
    count = _kept(sum(hit, dim=dim, keepdim=True), shape, dim, True)
    return _expand_back(grad, shape, dim, keepdim) * hit / count


def _amax_forward(kernel, name):
    def forward(data, dim=None, keepdim=False):
        if data.dtype == np.bool_:  # the kernels have no bool loop: max/min of 0/1 bytes
            out = _reduce(kernel, data.view(np.uint8), dim, keepdim, np.dtype(np.uint8), name, nonempty=True)
            return out.view(np.bool_)
        return _reduce(kernel, data, dim, keepdim, data.dtype, name, nonempty=True)
    return forward


def _amax_meta(name):
    def meta(data, dim=None, keepdim=False):
        return _reduced_meta(data, dim, keepdim, data.dtype, name, nonempty=True)
    return meta


amax = Op("amax", ("self",), _amax_forward("max_", "amax"), (_even_split_grad,), meta=_amax_meta("amax"))
amin = Op("amin", ("self",), _amax_forward("min_", "amin"), (_even_split_grad,), meta=_amax_meta("amin"))


def _selected_grad(grad, self_shape, indices, dim, keepdim=False):
    """Gradient of max(dim)/min(dim): ``grad`` placed at ``indices`` along ``dim``, zero elsewhere."""
    if not self_shape:
        return grad
    d = dim % len(self_shape)
    positions = Tensor._make(backend_of(grad._data).from_numpy(  # on grad's device
        np.arange(self_shape[d]).reshape((-1,) + (1,) * (len(self_shape) - d - 1))))
    hit = positions == _kept(indices, self_shape, dim, keepdim)
    return E.where(hit, _expand_back(grad, self_shape, dim, keepdim), 0.0)


def _max_dim_op(name: str, kernel: str) -> Op:
    """max(dim)/min(dim): two outputs, the values (differentiable) and their indices."""

    def forward(data, dim, keepdim=False):
        if data.dtype == np.bool_:  # the kernels have no bool loop: reduce the 0/1 bytes
            values, idx = _reduce(kernel, data.view(np.uint8), dim, keepdim, np.dtype(np.uint8), name,
                                  nonempty=True, with_indices=True)
            return values.view(np.bool_), idx
        return _reduce(kernel, data, dim, keepdim, data.dtype, name, nonempty=True, with_indices=True)

    def meta(data, dim, keepdim=False):
        values = _reduced_meta(data, dim, keepdim, data.dtype, name, nonempty=True)
        return values, MetaArray(values.shape, np.int64)

    return Op(name, ("self",), forward,
              (lambda grads, self_shape, indices, dim, keepdim=False:
               _selected_grad(grads[0], self_shape, indices, dim, keepdim),),
              meta=meta, outputs=("values", "indices"), nondifferentiable=("indices",),
              node_name=f"{name.capitalize()}Backward0")


_max_dim = _max_dim_op("max", "max_argmax")
_min_dim = _max_dim_op("min", "min_argmin")


def _max_min(name, dim_op):
    def fn(input, dim=None, keepdim: bool = False, *, out=None):
        if isinstance(dim, Tensor):  # torch.max(a, b): the elementwise maximum
            return (E.maximum if name == "max" else E.minimum)(input, dim)
        if dim is None:
            if input.numel() == 0:
                raise RuntimeError(
                    f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
                    "Specify the reduction dim with the 'dim' argument.")
            return (amax if name == "max" else amin)(input)
        return (max_result if name == "max" else min_result)(*dim_op(input, dim, keepdim))
    fn.__name__ = name
    fn.__doc__ = (f"Whole-tensor {name}; with ``dim``, a named tuple (values, indices) "
                  f"(first index of the {name}; NaN propagates).")
    return fn


max = _max_min("max", _max_dim)  # noqa: A001
min = _max_min("min", _min_dim)  # noqa: A001


def _arg(kernel: str, name: str) -> Op:
    """argmax/argmin: int64 indices, no gradient."""

    def check(data):
        if data.dtype == np.bool_:
            raise RuntimeError(f"{name}(): does not support bool input")

    def forward(data, dim=None, keepdim: bool = False):
        check(data)
        flat = data if dim is not None else data.reshape(-1)
        idx = _reduce(kernel, flat, dim if dim is not None else 0, keepdim and dim is not None,
                      np.int64, name, nonempty=True)
        return idx.reshape((1,) * data.ndim) if dim is None and keepdim else idx

    def meta(data, dim=None, keepdim: bool = False):
        check(data)
        if dim is None:
            _reduction_dims(MetaArray((data.size,), data.dtype), 0, name, True)
            return MetaArray((1,) * data.ndim if keepdim else (), np.int64)
        return _reduced_meta(data, dim, keepdim, np.int64, name, nonempty=True)

    return Op(name, ("self",), forward, meta=meta)


argmax = _arg("argmax", "argmax")
argmin = _arg("argmin", "argmin")


def _bool_reduce(kernel: str, name: str) -> Op:
    """all/any: bool results, no gradient."""
    return Op(name, ("self",),
              lambda data, dim=None, keepdim=False: _reduce(kernel, data, dim, keepdim, np.bool_, name),
              meta=lambda data, dim=None, keepdim=False: _reduced_meta(data, dim, keepdim, np.bool_, name))


all = _bool_reduce("all_", "all")  # noqa: A001
any = _bool_reduce("any_", "any")  # noqa: A001


# ---- norms ---------------------------------------------------------------------------------
def _norm2_grad(grad, self, result, dim=None, keepdim=False):
    # x / ||x||, taken as 0 where the norm is 0 (PyTorch's subgradient)
    r = _kept(result, self.shape, dim, keepdim)
    g = _expand_back(grad, self.shape, dim, keepdim)
    return E.where(r == 0, 0.0, g * self / E.where(r == 0, 1.0, r))


def _norm2_forward(data, dim=None, keepdim=False):
    squares = backend_of(data).empty(data.shape, data.dtype)
    backends.elementwise("square", data.dtype, squares, data)
    total = _reduce("sum_", squares, dim, keepdim, data.dtype, "norm")
    return backends.elementwise("sqrt", data.dtype, total, total)


_norm2 = Op("norm", ("self",), _norm2_forward, (_norm2_grad,), node_name="NormBackward1",
            meta=lambda data, dim=None, keepdim=False: _reduced_meta(data, dim, keepdim, data.dtype, "norm"))


def norm(input, p="fro", dim=None, keepdim: bool = False, dtype=None):
    """Vector norms over ``dim`` (all elements by default): p = 2/'fro', 1, inf, -inf, or any p > 0."""
    if dtype is not None:
        input = input.to(dtype)
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as input. "
                           f"Got {input.dtype.scalar_name}")
    if p in ("fro", 2, 2.0):
        return _norm2(input, dim=dim, keepdim=keepdim)
    a = E.abs(input)
    if p == float("inf"):
        return amax(a, dim=dim, keepdim=keepdim)
    if p == float("-inf"):
        return amin(a, dim=dim, keepdim=keepdim)
    if p == 1:
        return sum(a, dim=dim, keepdim=keepdim)
    if p == 0:
        return sum(a != 0, dim=dim, keepdim=keepdim).to(input.dtype)
    return sum(a ** p, dim=dim, keepdim=keepdim) ** (1.0 / p)


# ---- logsumexp and the softmax family ------------------------------------------------------
def _float_dtype(data) -> np.dtype:
    """``data``'s dtype if floating, else the default float dtype (what torch computes in)."""
    return data.dtype if data.dtype.kind == "f" else dtypes.get_default_dtype().np


def _float_input(data):
    return data if data.dtype.kind == "f" else backends.copy(data, _float_dtype(data))


def _logsumexp_forward(data, dim, keepdim=False):
    data = _float_input(data)  # as torch
    return _reduce("logsumexp", data, dim, keepdim, data.dtype, "logsumexp")


logsumexp = Op("logsumexp", ("self",), _logsumexp_forward, (
    lambda grad, self, result, dim, keepdim=False:
    _expand_back(grad, self.shape, dim, keepdim) * E.exp(self - _kept(result, self.shape, dim, keepdim)),
), meta=lambda data, dim, keepdim=False: _reduced_meta(data, dim, keepdim, _float_dtype(data), "logsumexp"))


def _along_meta(data, dim, *more, dtype=None) -> MetaArray:
    """The metadata rule of the ops along one dim (softmax, scans): the input's shape."""
    normalize_dims(dim, data.ndim)
    return MetaArray(data.shape, data.dtype if dtype is None else dtype)


softmax_backward = Op("softmax_backward", ("grad_output", "output"),
                      lambda g, y, dim: _along("softmax_backward", y, dim, g),
                      meta=lambda g, y, dim: _along_meta(y, dim), vjp=(
    lambda grad, output, dim: softmax_backward(grad, output, dim=dim),
    lambda grad, grad_output, output, dim: grad * grad_output
    - grad * sum(grad_output * output, dim=dim, keepdim=True)
    - grad_output * sum(grad * output, dim=dim, keepdim=True),
))
log_softmax_backward = Op("log_softmax_backward", ("grad_output", "output"),
                          lambda g, y, dim: _along("log_softmax_backward", y, dim, g),
                          meta=lambda g, y, dim: _along_meta(y, dim), vjp=(
    lambda grad, output, dim: grad - sum(grad * E.exp(output), dim=dim, keepdim=True),
    lambda grad, grad_output, output, dim: -(grad * E.exp(output) * sum(grad_output, dim=dim, keepdim=True)),
))


def _check_softmax(x, dim, name: str) -> None:
    normalize_dims(dim, x.ndim)
    if x.size:  # torch returns an empty input as it is, of any dtype
        check_floating(f"{name}_lastdim_kernel_impl", x.dtype)


def _softmax_op(name: str, backward: Op) -> Op:
    """softmax/log_softmax along ``dim``: float inputs (pass ``dtype=`` to cast integers)."""

    def forward(x, dim):
        _check_softmax(x, dim, name)
        return _along(name, x, dim) if x.size else backends.copy(x)

    def meta(x, dim):
        _check_softmax(x, dim, name)
        return _along_meta(x, dim)

    return Op(name, ("self",), forward, (lambda grad, result, dim: backward(grad, result, dim=dim),),
              meta=meta)


_softmax = _softmax_op("softmax", softmax_backward)
_log_softmax = _softmax_op("log_softmax", log_softmax_backward)


def _implicit_dim(input) -> int:
    return 0 if input.ndim in (0, 1, 3) else 1


def softmax(input, dim=None, dtype=None):
    """exp(x) / sum(exp(x)) along ``dim``, computed stably (one kernel)."""
    if dtype is not None:
        input = input.to(dtype)
    return _softmax(input, dim=_implicit_dim(input) if dim is None else dim)


def log_softmax(input, dim=None, dtype=None):
    """log(softmax(x)) along ``dim``, computed stably (one kernel)."""
    if dtype is not None:
        input = input.to(dtype)
    return _log_softmax(input, dim=_implicit_dim(input) if dim is None else dim)


# ---- scans -----------------------------------------------------------------------------------
def _reverse_cumsum(t, dim):
    """sum_{j >= i} t_j along ``dim``, with differentiable ops."""
    return sum(t, dim=dim, keepdim=True) - cumsum(t, dim=dim) + t


def _cumprod_grad(grad, self, result, dim):
    # grad_i = sum_{j >= i} g_j * prod_{k <= j, k != i} x_k. Away from zeros that is
    # revcumsum(g * y) / x_i. At the first zero of a slice it is revcumsum(g * y') with
    # y' the cumprod with that zero replaced by 1; at later zeros it is 0.
    zero = self == 0
    first_zero = E.logical_and(zero, cumsum(zero, dim=dim) == 1)
    safe = E.where(zero, 1.0, self)
    at_first = _reverse_cumsum(grad * cumprod(E.where(first_zero, 1.0, self), dim=dim), dim)
    elsewhere = E.where(zero, 0.0, _reverse_cumsum(grad * result, dim) / safe)
    return E.where(first_zero, at_first, elsewhere)


def _scan_forward(kernel):
    def forward(data, dim, dtype=None):
        out_dtype = _accumulating_dtype(data, dtype)
        return _along(kernel, _cast(data, out_dtype), dim)
    return forward


def _scan_meta(data, dim, dtype=None):
    return _along_meta(data, dim, dtype=_accumulating_dtype(data, dtype))


cumsum = Op("cumsum", ("self",), _scan_forward("cumsum"),
            (lambda grad, dim: _reverse_cumsum(grad, dim),), meta=_scan_meta)
cumprod = Op("cumprod", ("self",), _scan_forward("cumprod"), (_cumprod_grad,), meta=_scan_meta)
