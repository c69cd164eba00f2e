"""Indexing: ``t[key]``, ``t[key] = v``, gather/scatter, index_* and masked_* ops.

Every index is validated here before a kernel (``kernels.cpu.index``) runs, its range read
by the backend (``index_range``): out-of-range values raise IndexError naming the index,
the dimension and its size, so a kernel never reads or writes out of bounds. Kernels see
operands as 3-D ``(A, K, B)`` arrays around the indexed dimension (``_akb``).

``t[key]`` with ints, slices, None and Ellipsis only is a view (``views.basic_index``).
Integer tensors/lists and bool masks (advanced indices) copy into a new tensor: ints and
slices are applied first as a view, then one ``index`` op (``IndexBackward0``) picks the
combined flat index along the advanced dimensions merged into one; its backward is an
accumulating ``index_put``, where repeated indices add up. ``t[key] = v`` writes through
the same view with ``copy_`` (basic keys) or ``index_put`` (advanced keys); both are
in-place ops, version-counted, and
differentiable through target and value (writes into views go through CopySlices). An
index write whose source shares memory with its target is refused, as in torch.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from .. import backends, dtypes
from ..backends import backend_of, is_storage
from ..backends.meta import MetaArray
from ..autograd.grad_mode import state as grad_state
from ..factories import ones, zeros
from ..tensor import Tensor, fresh
from . import elementwise as ew
from . import views as vw
from .op import Op, _check_write_overlap


# ---- validation and layout helpers --------------------------------------------------------

def check_index(index: np.ndarray, size: int, dim: int, wrap: bool = False,
                error: type = IndexError) -> np.ndarray:
    """``index`` as int64 with every value in ``[0, size)`` (``[-size, size)`` wrapped when
    ``wrap``), else ``error`` (IndexError; gather and scatter raise RuntimeError, as torch)
    naming the first offending extreme."""
    if index.dtype.kind not in "iu":
        raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
    index = index.astype(np.int64, copy=False)
    if index.size:
        be = backend_of(index)
        lo, hi = be.index_range(index)  # the values stay on the device: two numbers come back
        if hi >= size or lo < (-size if wrap else 0):
            bad = hi if hi >= size else lo
            raise error(f"index {bad} is out of bounds for dimension {dim} with size {size}")
        if lo < 0:
            index = be.wrap_negative(index, size)
    return index


def _akb(a: np.ndarray, dim: int, count: int = 1) -> np.ndarray:
    """``a`` as (A, K, B) with dims ``dim .. dim+count-1`` merged into K: a view when the
    strides allow, else a contiguous copy (by the copy kernel)."""
    shape = a.shape
    akb = (math.prod(shape[:dim]), math.prod(shape[dim:dim + count]), math.prod(shape[dim + count:]))
    v = a.view()
    try:
        v.shape = akb
    except AttributeError:
        v = backends.copy(a).reshape(akb)
    return v


def _write_akb(region: np.ndarray, dim: int, count: int, kernel: str, *args) -> None:
    """Run the backend's index kernel ``kernel(region_akb, *args)`` writing into ``region``; through a temporary when
    ``region`` has no (A, K, B) view."""
    target = _akb(region, dim, count)
    getattr(backend_of(target).index, kernel)(target, *args)
    if not np.shares_memory(target, region) and region.size:
        backends.elementwise("copy", region.dtype, region, target.reshape(region.shape))


def _indices(index) -> np.ndarray:
    data = index._data if isinstance(index, Tensor) else index if is_storage(index) else np.asarray(index)
    if data.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    return data.reshape(-1)


def _zeros_like_shape(shape: tuple, like: Tensor) -> Tensor:
    return zeros(shape, dtype=like.dtype, device=like.device)


# ---- index_select / index_add / index_copy ---------------------------------------------

def _index_select_forward(self: np.ndarray, index: np.ndarray, dim: int) -> np.ndarray:
    n = self.shape[dim] if self.ndim else 1
    idx = check_index(_indices(index), n, dim)
    src = _akb(self, dim) if self.ndim else self.reshape(1, 1, 1)
    be = backend_of(self)
    out = be.empty(self.shape[:dim] + (idx.size,) + self.shape[dim + 1:], self.dtype)
    be.index.index_select(src, idx, out.reshape(src.shape[0], idx.size, src.shape[2]))
    return out if self.ndim else out.reshape(())


def _slices_source(out: np.ndarray, source, idx: np.ndarray, dim: int, name: str) -> np.ndarray:
    """``source`` checked to have ``out``'s slice shape, as (A, n, B) in ``out``'s dtype."""
    expected = out.shape[:dim] + (idx.size,) + out.shape[dim + 1:]
    src = source if is_storage(source) else np.asarray(source)
    if src.shape != expected and not (src.ndim <= 1 and src.size == idx.size == math.prod(expected)):
        raise RuntimeError(f"{name}(): Source/destination tensor must have same slice shapes: source "
                           f"{list(src.shape)}, expected {list(expected)}")
    src = src.reshape(expected)
    return _akb(src if src.dtype == out.dtype else backends.copy(src, out.dtype), dim)


def _index_write_forward(kernel, name: str):
    """The forward of index_add/index_copy: validate the indices, then let ``kernel`` write
    ``source``'s slices into a copy of ``self`` (or into ``out``, in place)."""

    def forward(self, index, source, dim: int, out=None):
        out = backends.copy(self) if out is None else out
        view = out if out.ndim else out.reshape(1)
        raw = _indices(index)
        src = _slices_source(view, source, raw, dim, name)  # torch checks the shapes first
        idx = check_index(raw, view.shape[dim], dim)
        _write_akb(view, dim, 1, kernel, idx, src)
        return out

    return forward


def _index_select_meta(self, index, dim: int) -> MetaArray:
    if index.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    if not self.ndim:
        return MetaArray((), self.dtype)
    return MetaArray(self.shape[:dim] + (index.size,) + self.shape[dim + 1:], self.dtype)


def _same_meta(self, *operands, out=None, **params) -> MetaArray:
    """Ops whose result is ``self`` updated: its shape and dtype (index values are not checked on meta)."""
    return out if out is not None else MetaArray(self.shape, self.dtype)


_index_select = Op("index_select", ("self", "index"), _index_select_forward, meta=_index_select_meta, vjp=(
    lambda grad, index, self_shape, dim: _index_add(_zeros_like_shape(self_shape, grad), index, grad, dim=dim),
))
_index_add = Op("index_add", ("self", "index", "source"),
                _index_write_forward("index_add", "index_add_"), meta=_same_meta, vjp=(
    lambda grad: grad,
    None,
    lambda grad, index, dim: _index_select(grad, index, dim=dim),
))
_index_copy = Op("index_copy", ("self", "index", "source"),
                 _index_write_forward("index_copy", "index_copy_"), meta=_same_meta, vjp=(
    lambda grad, index, dim, source_shape: _index_copy(grad, index, _zeros_like_shape(source_shape, grad),
                                                       dim=dim),
    None,
    lambda grad, index, dim: _index_select(grad, index, dim=dim),
))



# ---- embedding: index_select of rows by indices of any shape, as one op ------------------

def _embedding_rows(indices: np.ndarray, num: int) -> np.ndarray:
    """The indices as a flat int64 vector, each in [0, num) (torch's error otherwise)."""
    try:
        return check_index(indices.reshape(-1), num, 0)
    except IndexError:
        raise IndexError("index out of range in self") from None


def _embedding_forward(weight: np.ndarray, indices: np.ndarray, padding_idx: int | None = None) -> np.ndarray:
    idx = _embedding_rows(indices, weight.shape[0])
    be = backend_of(weight)
    out = be.empty(indices.shape + (weight.shape[1],), weight.dtype)
    be.index.index_select(_akb(weight, 0), idx, out.reshape(1, idx.size, weight.shape[1]))
    return out


def _embedding_meta(weight, indices, padding_idx: int | None = None) -> MetaArray:
    return MetaArray(indices.shape + (weight.shape[1],), weight.dtype)


def _embedding_grad(grad, indices, weight_shape, padding_idx: int | None = None):
    """The rows' gradients summed into a zero matrix of the weight's shape (the padding row
    stays zero). Where no graph is recorded on arrays: one zero fill and one index_add."""
    num, dim = weight_shape
    if not grad_state.enabled and backend_of(grad._data).computes:
        g = grad._data
        be = backend_of(g)
        out = be.zeros(weight_shape, g.dtype)
        idx = indices._data.reshape(-1).astype(np.int64, copy=False)
        be.index.index_add(out.reshape(1, num, dim), idx, _akb(g, 0, g.ndim - 1))
        if padding_idx is not None:
            be.elementwise("copy", out.dtype, out[padding_idx:padding_idx + 1], out.dtype.type(0))
        return fresh(out)
    rows = _index_add(_zeros_like_shape(weight_shape, grad), indices.reshape(-1), grad.reshape(-1, dim), dim=0)
    if padding_idx is None:
        return rows
    keep = ones((num, 1), dtype=grad.dtype, device=grad.device)
    keep[padding_idx] = 0.0
    return rows * keep


embedding = Op("embedding", ("weight", "indices"), _embedding_forward, meta=_embedding_meta,
               vjp=(_embedding_grad, None))


def _dim(input: Tensor, dim: int) -> int:
    return input._wrap_dim(dim) if input.dim() else 0


def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """The slices of ``input`` at ``index`` (1-D) along ``dim``."""
    return _index_select(input, index, dim=_dim(input, dim))


def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1) -> Tensor:
    """``input`` with ``alpha * source[j]`` added to slice ``index[j]`` along ``dim`` (repeats add)."""
    return _index_add(input, index, source if alpha == 1 else source * alpha, dim=_dim(input, dim))


def index_copy(input: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    """``input`` with slice ``index[j]`` along ``dim`` replaced by ``source[j]``."""
    return _index_copy(input, index, source, dim=_dim(input, dim))


def index_add_(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1) -> Tensor:
    if alpha != 1 and isinstance(source, Tensor):  # torch checks the source itself, not source * alpha
        _check_write_overlap(backend_of(input._data), input, (source,), no_overlap=True)
    return _index_add.apply_(input, index, source if alpha == 1 else source * alpha, dim=_dim(input, dim))


def index_copy_(input: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    return _index_copy.apply_(input, index, source, dim=_dim(input, dim))


# ---- gather / scatter ------------------------------------------------------------------

def _check_gather_shapes(name: str, self: np.ndarray, index: np.ndarray, dim: int,
                         src: np.ndarray | None = None) -> None:
    if index.ndim != self.ndim and not (index.ndim <= 1 and self.ndim <= 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as "
                           f"{'self' if src is None else 'input'} tensor")
    for d in range(index.ndim):
        if d != dim and index.shape[d] > self.shape[d]:
            raise RuntimeError(f"Size does not match at dimension {d} expected index "
                               f"{list(index.shape)} to be smaller than self {list(self.shape)} "
                               f"apart from dimension {dim}")
        if src is not None and src.ndim and index.shape[d] > src.shape[d]:
            raise RuntimeError(f"Size does not match at dimension {d} expected index "
                               f"{list(index.shape)} to be smaller than src {list(src.shape)}")


def _gather_forward(self: np.ndarray, index: np.ndarray, dim: int) -> np.ndarray:
    be = backend_of(self)
    if index.size == 0:  # torch accepts an empty index of any shape
        return be.empty(index.shape, self.dtype)
    _check_gather_shapes("gather", self, index, dim)
    a, i = self.reshape(self.shape or (1,)), index.reshape(index.shape or (1,))
    idx = check_index(i, a.shape[dim], dim, error=RuntimeError)
    src = a[tuple(slice(None) if d == dim else slice(0, n) for d, n in enumerate(i.shape))]
    out = be.empty(i.shape, self.dtype)
    be.index.gather(_akb(src, dim), _akb(idx, dim), _akb(out, dim))
    return out.reshape(index.shape)


def _scatter_forward(kernel):
    def forward(self, index, src, dim: int, out=None):
        out = backends.copy(self) if out is None else out
        if index.size == 0:  # nothing to write (torch accepts an empty index of any shape)
            return out
        src = src if is_storage(src) else np.asarray(src)
        _check_gather_shapes("scatter", out, index, dim, src)
        view, i = out.reshape(out.shape or (1,)), index.reshape(index.shape or (1,))
        idx = check_index(i, view.shape[dim], dim, error=RuntimeError)
        window = tuple(slice(0, n) for n in i.shape)
        if src.ndim:
            values = src[window]
        else:  # one value (a number, or a 0-d tensor) written at every index, on out's device
            values = backend_of(out).empty(i.shape, out.dtype)
            backends.elementwise("copy", out.dtype, values, out.dtype.type(src) if type(src) is np.ndarray else src)
        values = _akb(values.astype(out.dtype, copy=False), dim)
        _write_akb(view[tuple(slice(None) if d == dim else w for d, w in enumerate(window))], dim, 1,
                   kernel, _akb(idx, dim), values)
        return out
    return forward


def _src_grad(grad, index, dim, src_shape):
    """The gradient of scatter's ``src``: the gathered gradient, zero-padded to src's shape."""
    g = _gather(grad, index, dim=dim)
    if g.shape == src_shape:
        return g
    return _pad_to(g, src_shape)


def _pad_to(g, shape: tuple):
    from .joining import pad

    return pad(g, tuple(p for n, m in reversed(list(zip(g.shape, shape))) for p in (0, m - n)))


def _gather_meta(self, index, dim: int) -> MetaArray:
    if index.size:
        _check_gather_shapes("gather", self, index, dim)
    return MetaArray(index.shape, self.dtype)


def _scatter_meta(self, index, src, dim: int, out=None) -> MetaArray:
    if index.size:
        _check_gather_shapes("scatter", self, index, dim, src if hasattr(src, "ndim") else None)
    return _same_meta(self, out=out)


_gather = Op("gather", ("self", "index"), _gather_forward, meta=_gather_meta, vjp=(
    lambda grad, index, self_shape, dim: _scatter_add(_zeros_like_shape(self_shape, grad), index, grad,
                                                      dim=dim),
))
_scatter_add = Op("scatter_add", ("self", "index", "src"), _scatter_forward("scatter_add"), meta=_scatter_meta, vjp=(
    lambda grad: grad,
    None,
    lambda grad, index, dim, src_shape: _src_grad(grad, index, dim, src_shape),
))
_scatter = Op("scatter", ("self", "index", "src"), _scatter_forward("scatter"), meta=_scatter_meta, vjp=(
    lambda grad, index, dim: _scatter(grad, index, 0.0, dim=dim),
    None,
    lambda grad, index, dim, src_shape: _src_grad(grad, index, dim, src_shape),
))


def gather(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """``out[i][j][k] = input[i][index[i][j][k]][k]`` (for dim 1): values picked along ``dim``."""
    return _gather(input, index, dim=_dim(input, dim))


def scatter(input: Tensor, dim: int, index: Tensor, src=None, *, value=None) -> Tensor:
    """``input`` with ``src`` (a tensor or number) written at ``index`` along ``dim``."""
    return _scatter(input, index, value if src is None else src, dim=_dim(input, dim))


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """``input`` with ``src`` added at ``index`` along ``dim`` (repeated indices accumulate)."""
    return _scatter_add(input, index, src, dim=_dim(input, dim))


def scatter_(input: Tensor, dim: int, index: Tensor, src=None, *, value=None) -> Tensor:
    return _scatter.apply_(input, index, value if src is None else src, dim=_dim(input, dim))


def scatter_add_(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    return _scatter_add.apply_(input, index, src, dim=_dim(input, dim))


def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:
    """Values of ``input`` at ``indices`` along ``dim`` (the other dims broadcast), or at flat
    positions when ``dim`` is None."""
    if dim is None:
        return _gather(input.reshape(-1), indices.reshape(-1), dim=0)
    d = input._wrap_dim(dim)
    if input.dim() != indices.dim():
        raise RuntimeError("torch.take_along_dim(): input and indices should have the same number "
                           f"of dimensions, but got {input.dim()} dimensions for input, and "
                           f"{indices.dim()} dimensions for indices")
    shape = list(ew.broadcast_shapes(input.shape[:d] + (1,) + input.shape[d + 1:],
                                     indices.shape[:d] + (1,) + indices.shape[d + 1:]))
    src = input.expand(tuple(shape[:d] + [input.shape[d]] + shape[d + 1:]))
    idx = indices.expand(tuple(shape[:d] + [indices.shape[d]] + shape[d + 1:]))
    return _gather(src, idx, dim=d)


# ---- masks ---------------------------------------------------------------------------------

def _check_mask(mask: np.ndarray, name: str) -> None:
    if mask.dtype != np.bool_:
        raise RuntimeError(f"{name}: expected BoolTensor for mask")


def _masked_select_forward(self: np.ndarray, mask: np.ndarray) -> np.ndarray:
    _check_mask(mask, "masked_select")
    shape = ew.broadcast_shapes(self.shape, mask.shape)
    src = backends.copy(np.broadcast_to(self, shape)).reshape(-1)
    m = backends.copy(np.broadcast_to(mask, shape)).reshape(-1)
    be = backend_of(self)
    out = be.empty(be.index.count_nonzero(m), self.dtype)
    be.index.masked_select(src, m, out)
    return out


def _masked_scatter_zeros_forward(values: np.ndarray, mask: np.ndarray, shape: tuple) -> np.ndarray:
    m = backends.copy(np.broadcast_to(mask, shape)).reshape(-1)
    be = backend_of(values)
    out = be.zeros(shape, values.dtype)
    be.index.masked_scatter(out.reshape(-1), m, values.reshape(-1))
    return out


def _data_dependent(name: str):
    def meta(*args, **params):
        raise NotImplementedError(f"{name}: the output shape depends on the values, which a 'meta' "
                                  "tensor does not have")
    return meta


def _nonzero_forward(data: np.ndarray) -> np.ndarray:
    be = backend_of(data)
    flat = backends.contiguous(data).reshape(-1)
    out = be.empty((be.index.count_nonzero(flat), data.ndim), np.int64)
    be.index.nonzero(flat, np.array(data.shape, np.int64), out)
    return out


_nonzero = Op("nonzero", ("self",), _nonzero_forward, meta=_data_dependent("nonzero"))


def nonzero(input: Tensor, *, as_tuple: bool = False):
    """The indices of the non-zero elements: an int64 (count, ndim) tensor, one row per element
    in C order; with ``as_tuple``, one 1-D index tensor per dimension (a 0-d input counts as 1-d)."""
    out = _nonzero(input)
    if not as_tuple:
        return out
    if input.dim() == 0:
        return (_nonzero(input.reshape(1)).reshape(-1),)
    return tuple(out.unbind(1))


def argwhere(input: Tensor) -> Tensor:
    """``nonzero(input)``: the (count, ndim) indices of the non-zero elements."""
    return _nonzero(input)


def count_nonzero(input: Tensor, dim: int | Sequence[int] | None = None) -> Tensor:
    """The number of non-zero elements (NaN counts), over ``dim`` (an int or a sequence of
    them; default all): an int64 tensor, as torch.count_nonzero."""
    return (input != 0).sum() if dim is None else (input != 0).sum(dim)


masked_select = Op("masked_select", ("self", "mask"), _masked_select_forward, meta=_data_dependent("masked_select"),
                   vjp=(
    lambda grad, mask, self_shape: _masked_scatter_zeros(
        grad, mask, shape=ew.broadcast_shapes(self_shape, mask.shape)),
))
_masked_scatter_zeros = Op("masked_scatter_zeros", ("values", "mask"), _masked_scatter_zeros_forward, (
    lambda grad, mask: masked_select(grad, mask),
), node_name="MaskedScatterBackward0")


def _check_masked_fill(input: Tensor, mask: Tensor, value) -> None:
    if mask.dtype is not dtypes.bool:
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype {mask.dtype}")
    if isinstance(value, Tensor) and value.dim():
        raise RuntimeError("masked_fill_ only supports a 0-dimensional value tensor, but got tensor "
                           f"with {value.dim()} dimension(s).")
    if ew.broadcast_shapes(input.shape, mask.shape) != input.shape:
        raise RuntimeError(f"The expanded size of the mask {list(mask.shape)} must match the size of "
                           f"the tensor {list(input.shape)}")


def masked_fill(input: Tensor, mask: Tensor, value) -> Tensor:
    """``input`` with ``value`` (a number or 0-d tensor) where ``mask`` is True."""
    _check_masked_fill(input, mask, value)
    out = ew.where(mask, value, input)
    return out if out.dtype is input.dtype else out.to(input.dtype)


def masked_fill_(input: Tensor, mask: Tensor, value) -> Tensor:
    """Write ``value`` where ``mask`` is True, only there (as torch, also into an expanded tensor)."""
    if not input.dim():
        return input.copy_(masked_fill(input, mask, value))
    _check_masked_fill(input, mask, value)
    setitem(input, mask if mask.shape == input.shape else vw.expand(mask, input.shape), value)
    return input


# ---- t[key] and t[key] = v -------------------------------------------------------------------

def _as_index_array(k) -> np.ndarray | None:
    """The array of an advanced index (tensor, list, array), or None for a basic one."""
    if isinstance(k, Tensor):
        return k._data
    if isinstance(k, np.ndarray):
        return k
    if isinstance(k, (list, tuple, range)):
        a = np.asarray(k)
        return a if a.dtype.kind in "iub" else a.astype(np.int64) if a.size == 0 else _bad_index(k)
    if isinstance(k, bool):
        return np.asarray(k)
    return None


def _bad_index(k):
    raise IndexError(f"only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables "
                     f"are valid indices (got {type(k).__name__})")


def _parse(input: Tensor, key):
    """Split ``key`` into a basic key (advanced entries replaced by ``:``) and the advanced
    index arrays with the dims (of the basic view) they index; bool masks become int arrays."""
    key = key if isinstance(key, tuple) else (key,)
    entries = [(k, _as_index_array(k)) for k in key]
    if not any(a is not None for _, a in entries):
        return key, [], []
    # dims each entry consumes of input, and bool masks expanded to one int array per dim
    used = sum(1 if a is None else max(a.ndim, 1) if a.dtype == np.bool_ else 1
               for k, a in entries if k is not None and k is not Ellipsis)
    if used > input.dim():
        raise IndexError(f"too many indices for tensor of dimension {input.dim()}")
    basic, arrays, dims = [], [], []
    in_dim = out_dim = 0
    for k, a in entries:
        if k is Ellipsis:
            basic.append(k)
            in_dim += input.dim() - used
            out_dim += input.dim() - used
        elif k is None:
            basic.append(k)
            out_dim += 1
        elif a is None and isinstance(k, slice):
            basic.append(k)
            in_dim += 1
            out_dim += 1
        elif a is None:
            basic.append(k)
            in_dim += 1
        elif isinstance(a, MetaArray):
            if a.dtype == np.bool_:
                _data_dependent("indexing with a bool mask")()
            basic.append(slice(None))
            arrays.append(a)
            dims.append(out_dim)
            in_dim += 1
            out_dim += 1
        elif a.dtype == np.bool_:
            if a.ndim == 0:
                raise IndexError("indexing with a 0-d bool mask is not supported")
            for j, n in enumerate(a.shape):
                if n != input.shape[in_dim + j]:
                    raise IndexError(f"The shape of the mask {list(a.shape)} at index {j} does not match "
                                     f"the shape of the indexed tensor {list(input.shape)} at index "
                                     f"{in_dim + j}")
            if type(a) is np.ndarray:
                columns = np.nonzero(a)
            else:  # a mask on another device: its backend's nonzero kernel
                found = _nonzero_forward(a)
                columns = [found[:, j] for j in range(a.ndim)]
            for nz in columns:
                basic.append(slice(None))
                arrays.append(nz)
                dims.append(out_dim)
                in_dim += 1
                out_dim += 1
        else:
            basic.append(slice(None))
            arrays.append(check_index(a, input.shape[in_dim], in_dim, wrap=True))
            dims.append(out_dim)
            in_dim += 1
            out_dim += 1
    return tuple(basic), arrays, dims


def _advanced(view: Tensor, arrays: list, dims: list):
    """(tensor, first dim, count, broadcast index shape, combined flat index) for the advanced
    part: the indexed dims made adjacent (moved to the front when they are not)."""
    try:
        shape = np.broadcast_shapes(*(a.shape for a in arrays))
    except ValueError:
        raise IndexError("shape mismatch: indexing tensors could not be broadcast together with shapes "
                         + ", ".join(str(list(a.shape)) for a in arrays)) from None
    if dims != list(range(dims[0], dims[0] + len(dims))):
        view = vw.permute(view, dims + [d for d in range(view.dim()) if d not in dims])
        dims = list(range(len(dims)))
    be = backend_of(view._data)
    if any(isinstance(a, MetaArray) for a in arrays):
        return view, dims[0], len(dims), shape, Tensor._make(MetaArray((math.prod(shape),), np.int64))
    sizes = [view.shape[d] for d in dims]
    if all(isinstance(a, np.ndarray) for a in arrays):  # host indices: NumPy, then one upload
        combined = np.zeros(shape, np.int64)
        for a, n in zip(np.broadcast_arrays(*arrays), sizes):
            combined = combined * n + a
        return view, dims[0], len(dims), shape, Tensor._make(be.from_numpy(combined.reshape(-1)))
    # device indices (a mask's nonzero columns, cuda index tensors): combined by the device's
    # own ops (integer tensors: nothing is recorded)
    combined = None
    for a, n in zip(arrays, sizes):
        t = Tensor._make(be.from_numpy(a) if isinstance(a, np.ndarray) else a)
        combined = t if combined is None else combined * n + t
    return view, dims[0], len(dims), shape, combined.expand(shape).reshape(-1)


def _take_shape(shape: tuple, first: int, count: int, ishape: tuple) -> tuple:
    return shape[:first] + ishape + shape[first + count:]


def _take_forward(self: np.ndarray, first: int, count: int, ishape: tuple, index: np.ndarray) -> np.ndarray:
    """Pick the (already validated) flat ``index`` along the merged dims ``first .. first+count-1``."""
    src = _akb(self, first, count)
    be = backend_of(self)
    out = be.empty(_take_shape(self.shape, first, count, ishape), self.dtype)
    be.index.index_select(src, index, out.reshape(src.shape[0], index.size, src.shape[2]))
    return out


def _take_grad(grad, self_shape: tuple, first: int, count: int, ishape: tuple, index: np.ndarray):
    return index_put(_zeros_like_shape(self_shape, grad), grad, first=first, count=count, ishape=ishape,
                     index=index, accumulate=True)


# advanced indexing: always a new tensor (never a view of a temporary), as torch's index op
_take_op = Op("index", ("self",), _take_forward, (_take_grad,),
              meta=lambda self, first, count, ishape, index: MetaArray(
                  _take_shape(self.shape, first, count, ishape), self.dtype))


def _take(view: Tensor, first: int, count: int, ishape: tuple, combined: Tensor) -> Tensor:
    return _take_op(view, first=first, count=count, ishape=ishape, index=combined._data)


def getitem(input: Tensor, key) -> Tensor:
    """``input[key]``: a view for ints, slices, None and Ellipsis; a copy with index tensors,
    lists or bool masks."""
    basic, arrays, dims = _parse(input, key)
    view = vw.basic_index(input, basic)
    if not arrays:
        return view
    return _take(*_advanced(view, arrays, dims))


def _index_put_forward(self, values, first: int, count: int, ishape: tuple, index: np.ndarray,
                       accumulate: bool = False, out=None):
    out = backends.copy(self) if out is None else out
    shape = out.shape[:first] + ishape + out.shape[first + count:]
    values = values if is_storage(values) else np.asarray(values)  # a Python number: host scalar
    if ew.broadcast_shapes(shape, values.shape) != shape:
        raise RuntimeError(f"shape mismatch: value tensor of shape {list(values.shape)} cannot be "
                           f"broadcast to indexing result of shape {list(shape)}")
    src = backends.copy(np.broadcast_to(values, shape), out.dtype)
    src = src.reshape(math.prod(shape[:first]), index.size, math.prod(shape[first + len(ishape):]))
    _write_akb(out, first, count, "index_add" if accumulate else "index_copy", index, src)
    return out


def _index_put_self_grad(grad, first, count, ishape, index, accumulate=False):
    return grad if accumulate else index_put(grad, 0.0, first=first, count=count, ishape=ishape,
                                             index=index)


index_put = Op("index_put", ("self", "values"), _index_put_forward, (
    _index_put_self_grad,
    lambda grad, first, count, ishape, index: _take_op(grad, first=first, count=count, ishape=ishape,
                                                       index=index),
), meta=_same_meta, node_name="IndexPutBackward0")


def setitem(input: Tensor, key, value) -> None:
    """``input[key] = value``, in place (value broadcast and cast to input's dtype)."""
    basic, arrays, dims = _parse(input, key)
    if not arrays:
        return ew.copy_op.apply_(vw.basic_index(input, basic), value)
    trivial = all(isinstance(k, slice) and k == slice(None) for k in basic)
    view = input if trivial else vw.basic_index(input, basic)
    target, first, count, ishape, combined = _advanced(view, arrays, dims)
    index_put.apply_(target, value, first=first, count=count, ishape=ishape, index=combined._data)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 ``tensor.shape + (num_classes,)``: 1 at each class index, 0 elsewhere."""
    labels = tensor._data
    if labels.dtype.kind not in "iu":
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if labels.size and int(labels.min()) < 0:
        raise RuntimeError("Class values must be non-negative.")
    top = int(labels.max()) + 1 if labels.size else 0
    if num_classes == -1:
        if not labels.size:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = top
    elif top > num_classes:
        raise RuntimeError("Class values must be smaller than num_classes.")
    be = backend_of(labels)
    out = be.zeros(labels.shape + (num_classes,), np.int64)
    n = labels.size
    be.index.scatter(out.reshape(n, num_classes, 1), labels.astype(np.int64).reshape(n, 1, 1),
               np.broadcast_to(np.int64(1), (n, 1, 1)))
    return Tensor._make(out)


# an index write reading memory it writes refuses, as torch (``k[perm] = k``)
for _op in (index_put, _index_add, _index_copy, _scatter, _scatter_add):
    _op.no_overlap = True
index_put.internal_overlap_ok = True  # torch writes into an expanded tensor (deprecated)
