"""View ops: results share the operand's storage and version counter (no kernel runs).

A shape-only view's backward reshapes the gradient back; ``expand``'s sums it back
over the expanded dimensions. The views themselves are made by the operand's backend
(``view``, ``strided``, ``as_strided``), so a device backend provides them. The ops that
return views are torch's: ``reshape``/``flatten`` copy into a new tensor where no view
exists, and ``split``/``chunk``/``unbind`` return several views from one node.
"""

from __future__ import annotations

import math
from functools import lru_cache
from itertools import accumulate

import numpy as np

from .. import backends
from ..autograd.grad_mode import state as grad_state
from ..backends import backend_of
from ..backends.meta import MetaArray, from_layout, layout_template
from ..tensor import fresh

from .copy_slices import mark_multi_output
from .op import Op


def _view_forward(data: np.ndarray, shape: tuple) -> np.ndarray:
    """A view of ``data`` with ``shape`` or a RuntimeError naming why there is none."""
    shape = _infer_shape(shape, data.size)
    v = backend_of(data).view(data, shape)
    if v is None:
        raise RuntimeError(
            f"view size is not compatible with input tensor's size and stride (at least one dimension "
            f"spans across two contiguous subspaces): input shape {list(data.shape)}, strides "
            f"{[s // data.itemsize for s in data.strides]}, requested shape {list(shape)}. "
            "Use .reshape(...) instead."
        )
    return v


def _infer_shape(shape: tuple, numel: int) -> tuple:
    shape = tuple(int(s) for s in shape)
    if shape.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = 1
    for s in shape:
        if s != -1:
            if s < 0:
                raise RuntimeError(f"invalid shape dimension {s}")
            known *= s
    if -1 in shape:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    elif known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


def _expand_forward(data: np.ndarray, shape: tuple) -> np.ndarray:
    shape = tuple(int(s) for s in shape)
    if len(shape) < data.ndim:
        raise RuntimeError(
            f"expand: the number of sizes provided ({len(shape)}) must be greater or equal to the "
            f"number of dimensions in the tensor ({data.ndim})"
        )
    lead = len(shape) - data.ndim
    full = tuple(data.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(shape))
    for i, n in enumerate(data.shape):
        if n != 1 and n != full[lead + i]:
            raise RuntimeError(
                f"The expanded size of the tensor ({full[lead + i]}) must match the existing size ({n}) "
                f"at non-singleton dimension {lead + i}.  Target sizes: {list(shape)}.  "
                f"Tensor sizes: {list(data.shape)}"
            )
    it = data.itemsize
    strides = (0,) * lead + tuple(0 if n == 1 and full[lead + i] != 1 else st // it
                                  for i, (n, st) in enumerate(zip(data.shape, data.strides)))
    return backend_of(data).strided(data, full, strides, writeable=False)


_reshape_back = (lambda grad, self_shape: grad.reshape(self_shape),)

view = Op("view", ("self",), _view_forward, _reshape_back, view=True)
expand = Op("expand", ("self",), _expand_forward,
            (lambda grad, self_shape: grad.sum_to_size(self_shape),), view=True)


def _reshape_copy_forward(data: np.ndarray, shape: tuple) -> np.ndarray:
    return backends.copy(data).reshape(shape)


# reshape where no view exists: a new tensor (its own storage and version counter), as torch's
# clone + _unsafe_view
_reshape_copy = Op("reshape_copy", ("self",), _reshape_copy_forward, _reshape_back,
                   node_name="UnsafeViewBackward0", meta=lambda data, shape: MetaArray(shape, data.dtype))


def reshape(input, shape: tuple):
    """A view when the strides allow one, else a copy (as torch.reshape)."""
    shape = _infer_shape(shape, input.numel())
    data = input._data
    if backend_of(data).view(data, shape) is None:
        return _reshape_copy(input, shape=shape)
    return view(input, shape=shape)


def unsqueeze(input, dim: int):
    dim = dim + input.dim() + 1 if dim < 0 else dim
    if not 0 <= dim <= input.dim():
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-input.dim() - 1}, {input.dim()}], "
            f"but got {dim})"
        )
    shape = input.shape
    return view(input, shape=shape[:dim] + (1,) + shape[dim:])


def squeeze(input, dim=None):
    shape = input.shape
    if dim is None:
        dims = {i for i, n in enumerate(shape) if n == 1}
    else:
        dims = {input._wrap_dim(d) for d in (dim if isinstance(dim, (tuple, list)) else (dim,))}
        dims = {d for d in dims if input.dim() and shape[d] == 1}
    return view(input, shape=tuple(n for i, n in enumerate(shape) if i not in dims))


def flatten(input, start_dim: int = 0, end_dim: int = -1):
    if input.dim() == 0:
        return reshape(input, (1,))
    s, e = input._wrap_dim(start_dim), input._wrap_dim(end_dim)
    if s > e:
        raise RuntimeError(f"flatten() has invalid args: start_dim cannot come after end_dim "
                           f"(start_dim={start_dim}, end_dim={end_dim}, shape {list(input.shape)})")
    if s == e:  # nothing to merge: torch returns the input itself, not a view of it
        return input
    shape = input.shape
    n = 1
    for k in shape[s:e + 1]:
        n *= k
    return reshape(input, shape[:s] + (n,) + shape[e + 1:])


# ---- the gradient of a strided view: embed it into zeros ---------------------------------
# Every view that picks elements (slicing, select, narrow, diagonal, unfold, as_strided) is,
# relative to the contiguous layout of its input, a strided window (shape, strides, offset).
# Its gradient is the adjoint of taking that window: ``_embed`` adds the gradient into a
# zero 1-D storage at the window (overlapping windows accumulate); ``_strided_view`` takes the
# window back out. Each op is the other's backward, so higher orders come for free.

def _contiguous_strides(shape: tuple) -> tuple:
    strides, step = [], 1
    for n in reversed(shape):
        strides.append(step)
        step *= max(n, 1)
    return tuple(reversed(strides))


def _geometry(window: np.ndarray, origin: np.ndarray) -> dict:
    """``window``'s size, strides and offset in elements, relative to ``origin``'s first element."""
    it = window.itemsize
    offset = window.__array_interface__["data"][0] - origin.__array_interface__["data"][0]
    return {"size": window.shape, "stride": tuple(s // it for s in window.strides),
            "storage_offset": offset // it}


def _template(shape: tuple, dtype: np.dtype) -> np.ndarray:
    """A C-contiguous array of ``shape`` backed by one element: only its layout may be used."""
    it = np.dtype(dtype).itemsize
    return np.lib.stride_tricks.as_strided(np.empty(1, dtype), shape,
                                           tuple(s * it for s in _contiguous_strides(shape)),
                                           writeable=False)


def _embed_forward(src: np.ndarray, numel: int, size: tuple, stride: tuple,
                   storage_offset: int) -> np.ndarray:
    be = backend_of(src)
    out = be.zeros(numel, src.dtype)
    flat = (src if src.flags.c_contiguous else backends.copy(src)).reshape(-1)
    be.index.strided_add(out, storage_offset, np.asarray(size, np.int64), np.asarray(stride, np.int64), flat)
    return out


def _strided_view_forward(data: np.ndarray, size: tuple, stride: tuple, storage_offset: int) -> np.ndarray:
    flat = (data if data.flags.c_contiguous else backends.copy(data)).reshape(-1)
    return backend_of(flat).strided(flat[storage_offset:], size, stride, writeable=False)


def _embed_meta(src, numel: int, size: tuple, stride: tuple, storage_offset: int) -> MetaArray:
    return MetaArray((numel,), src.dtype)


def _strided_view_meta(data, size: tuple, stride: tuple, storage_offset: int) -> MetaArray:
    return MetaArray(size, data.dtype, tuple(s * data.itemsize for s in stride), storage_offset * data.itemsize,
                     writeable=False)


_embed = Op("strided_embed", ("self",), _embed_forward, meta=_embed_meta, vjp=
            (lambda grad, size, stride, storage_offset: _strided_view(
                grad, size=size, stride=stride, storage_offset=storage_offset),),
            node_name="AsStridedScatterBackward0")
_strided_view = Op("strided_view", ("self",), _strided_view_forward, meta=_strided_view_meta, vjp=
                   (lambda grad, self_shape, size, stride, storage_offset: _embed(
                       grad, numel=math.prod(self_shape), size=size, stride=stride,
                       storage_offset=storage_offset).view(self_shape),),
                   node_name="AsStridedBackward0")


def _window_op(name: str, forward, node_name: str | None = None) -> Op:
    """A view op picking a strided window of its input; its gradient embeds into zeros."""
    def rule(grad, self_shape, **params):
        origin = _template(self_shape, grad._data.dtype)
        return _embed(grad, numel=math.prod(self_shape),
                      **_geometry(forward(origin, **params), origin)).view(self_shape)

    return Op(name, ("self",), forward, (rule,), view=True, node_name=node_name)


def _basic_index_forward(data: np.ndarray, key: tuple) -> np.ndarray:
    # a trailing Ellipsis keeps an all-int key a 0-d view (NumPy would return a scalar copy)
    return data[key if Ellipsis in key else key + (Ellipsis,)]


def _diagonal_forward(data: np.ndarray, offset: int, dim1: int, dim2: int) -> np.ndarray:
    n1, n2 = data.shape[dim1], data.shape[dim2]
    length = max(min(n1, n2 - offset) if offset >= 0 else min(n1 + offset, n2), 0)
    start = [slice(None)] * data.ndim
    if length:
        start[dim1] = slice(-offset if offset < 0 else 0, None)
        start[dim2] = slice(offset if offset > 0 else 0, None)
    data = data[tuple(start)]
    rest = [d for d in range(data.ndim) if d not in (dim1, dim2)]
    shape = tuple(data.shape[d] for d in rest) + (length,)
    it = data.itemsize
    strides = tuple(data.strides[d] // it for d in rest) + ((data.strides[dim1] + data.strides[dim2]) // it,)
    return backend_of(data).strided(data, shape, strides)


def _unfold_forward(data: np.ndarray, dimension: int, size: int, step: int) -> np.ndarray:
    shape = list(data.shape)
    strides = [s // data.itemsize for s in data.strides]
    inner = strides[dimension]
    shape[dimension] = (shape[dimension] - size) // step + 1
    strides[dimension] *= step
    return backend_of(data).strided(data, tuple(shape) + (size,), tuple(strides) + (inner,))


_basic_index = _window_op("slice", _basic_index_forward)
_select = _window_op("select", _basic_index_forward)
_diagonal = _window_op("diagonal", _diagonal_forward)
_unfold = _window_op("unfold", _unfold_forward)
permute_op = Op("permute", ("self",), lambda data, dims: data.transpose(dims),
                (lambda grad, dims: grad.permute(tuple(sorted(range(len(dims)), key=dims.__getitem__))),), view=True)


def basic_index(input, key: tuple):
    """``input[key]`` for a key of ints, positive-step slices, None and Ellipsis: a view.

    Integers are checked against their dimension here (IndexError with PyTorch's words), as
    a kernel never sees them; slices clamp to the size as in Python."""
    ndim = input.dim()
    used = sum(1 for k in key if k is not None and k is not Ellipsis)
    if used > ndim:
        raise IndexError(f"too many indices for tensor of dimension {ndim}")
    dim, normal = 0, []
    for k in key:
        if k is Ellipsis:
            dim += ndim - used
        elif k is None:
            pass
        elif isinstance(k, slice):
            if k.step is not None and int(k.step) <= 0:
                raise ValueError("step must be greater than zero")
            dim += 1
        else:
            k = int(k)
            n = input.shape[dim]
            if not -n <= k < n:
                raise IndexError(f"index {k} is out of bounds for dimension {dim} with size {n}")
            k %= n
            dim += 1
        normal.append(k)
    key = tuple(normal)
    if len(key) == 1 and type(key[0]) is int:
        return _select(input, key=key)
    return _basic_index(input, key=key)


def select(input, dim: int, index: int):
    """The slice of ``input`` at ``index`` along ``dim`` (that dimension removed): a view."""
    dim = input._wrap_dim(dim)
    n = input.shape[dim]
    if not -n <= index < n:
        raise IndexError(f"select(): index {index} out of range for tensor of size "
                         f"{list(input.shape)} at dimension {dim}")
    return _select(input, key=(slice(None),) * dim + (index % n,))


def narrow(input, dim: int, start: int, length: int):
    """Elements ``start .. start + length - 1`` along ``dim``: a view."""
    if input.dim() == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    if length < 0:
        raise RuntimeError(f"narrow(): length must be non-negative (got {length})")
    dim = input._wrap_dim(dim)
    n = input.shape[dim]
    if not -n <= start <= n:
        raise IndexError(f"start out of range (expected to be in range of [{-n}, {n}], but got {start})")
    start = start + n if start < 0 else start
    if length < 0 or start + length > n:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({n}).")
    return _basic_index(input, key=(slice(None),) * dim + (slice(start, start + length),))


def diagonal(input, offset: int = 0, dim1: int = 0, dim2: int = 1):
    """The diagonal of the (dim1, dim2) planes, as a last dimension: a view."""
    d1, d2 = input._wrap_dim(dim1), input._wrap_dim(dim2)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return _diagonal(input, offset=offset, dim1=d1, dim2=d2)


def unfold(input, dimension: int, size: int, step: int):
    """All windows of ``size`` elements along ``dimension``, ``step`` apart, as a new last
    dimension: a view whose windows may overlap (their gradients add up)."""
    d = input._wrap_dim(dimension) if input.dim() else 0
    n = input.shape[d] if input.dim() else 1
    if size > n:
        raise RuntimeError(f"maximum size for tensor at dimension {d} is {n} but size is {size}")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    if input.dim() == 0:
        return unsqueeze(input, 0)
    return _unfold(input, dimension=d, size=size, step=step)


def _storage_offset(data) -> int:
    """Elements between the start of ``data``'s storage and its first element."""
    return backend_of(data).storage_offset(data)


def _as_strided_forward(data: np.ndarray, size: tuple, stride: tuple, storage_offset: int,
                        input_geometry: dict) -> np.ndarray:
    return backend_of(data).as_strided(data, size, stride, storage_offset)


def _as_strided_grad(grad, size: tuple, stride: tuple, storage_offset: int, input_geometry: dict):
    """Add the gradient into the storage both windows span, then read the input's window."""
    windows = (input_geometry, {"size": size, "stride": stride, "storage_offset": storage_offset})
    lo = min(w["storage_offset"] for w in windows)
    hi = max(w["storage_offset"] + 1 + sum((n - 1) * s for n, s in zip(w["size"], w["stride"]))
             for w in windows)
    storage = _embed(grad, numel=hi - lo, size=size, stride=stride, storage_offset=storage_offset - lo)
    return _strided_view(storage, size=input_geometry["size"], stride=input_geometry["stride"],
                         storage_offset=input_geometry["storage_offset"] - lo)


_as_strided = Op("as_strided", ("self",), _as_strided_forward, (_as_strided_grad,), view=True,
                 meta=_as_strided_forward)


def as_strided(input, size, stride, storage_offset: int | None = None):
    """A view of ``input``'s storage with the given sizes, strides and offset (in elements).

    The window is checked against the storage, so it can never reach outside it."""
    size, stride = tuple(int(n) for n in size), tuple(int(s) for s in stride)
    data = input._data
    be = backend_of(data)
    own = be.storage_offset(data)
    offset = own if storage_offset is None else int(storage_offset)
    if len(size) != len(stride):
        raise RuntimeError(f"mismatch in length of strides and shape: {len(size)} sizes, "
                           f"{len(stride)} strides")
    if offset < 0 or any(n < 0 for n in size) or any(s < 0 for s in stride):
        raise RuntimeError(f"as_strided: negative sizes, strides or storage offset are not supported "
                           f"(size {list(size)}, stride {list(stride)}, storage offset {offset})")
    storage = be.storage_size(data)
    needed = 0 if 0 in size else offset + 1 + sum((n - 1) * s for n, s in zip(size, stride))
    if needed > storage:
        raise RuntimeError(
            f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset {offset}, and "
            f"itemsize {data.itemsize} requiring a storage size of {needed * data.itemsize} are out "
            f"of bounds for storage of size {storage * data.itemsize}")
    if input.requires_grad and any(st == 0 and n > 1 for st, n in zip(data.strides, data.shape)):
        raise NotImplementedError(
            f"as_strided of a tensor whose elements overlap in memory (shape {list(data.shape)}, "
            f"strides {[st // data.itemsize for st in data.strides]}) has no gradient yet: "
            "call .contiguous() on it first")
    geometry = {"size": data.shape, "stride": tuple(s // data.itemsize for s in data.strides),
                "storage_offset": own}
    return _as_strided(input, size=size, stride=stride, storage_offset=offset, input_geometry=geometry)


def permute(input, *dims):
    """The dimensions reordered as ``dims``: a view."""
    if not dims:
        raise TypeError('permute() missing 1 required positional arguments: "dims"')
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    if len(dims) != input.dim():
        raise RuntimeError(f"permute(): number of dimensions in the tensor input does not "
                           f"match the length of the desired ordering of dimensions i.e. input.dim() "
                           f"= {input.dim()} is not equal to len(dims) = {len(dims)}")
    dims = tuple(input._wrap_dim(d) for d in dims)
    if len(set(dims)) != len(dims):
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return permute_op(input, dims=dims)


def transpose(input, dim0: int, dim1: int):
    """Dimensions ``dim0`` and ``dim1`` swapped: a view."""
    if input.dim() == 0:
        input._wrap_dim(dim0), input._wrap_dim(dim1)  # only 0 and -1 name a 0-d tensor's dim
        return input.view(())
    dims = list(range(input.dim()))
    a, b = input._wrap_dim(dim0), input._wrap_dim(dim1)
    dims[a], dims[b] = dims[b], dims[a]
    return permute_op(input, dims=tuple(dims))


def t(input):
    """The transpose of a matrix (0-d and 1-d tensors are returned as views of themselves)."""
    if input.dim() > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {input.dim()}D")
    return transpose(input, 0, -1) if input.dim() == 2 else input.view(input.shape)


def matrix_transpose(input):
    """``mT``: the last two dimensions swapped."""
    if input.dim() < 2:
        raise RuntimeError("tensor.mT is only supported on matrices or batches of matrices. "
                           f"Got {input.dim()}-D tensor.")
    return transpose(input, -2, -1)


def reverse_dims(input):
    """``T``: all dimensions reversed."""
    return permute_op(input, dims=tuple(range(input.dim() - 1, -1, -1)))


def movedim(input, source, destination):
    """Dimensions ``source`` moved to positions ``destination``; the rest keep their order."""
    src = [source] if isinstance(source, int) else list(source)
    dst = [destination] if isinstance(destination, int) else list(destination)
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({src} dims) should "
                           f"contain the same number of dims as destination ({dst} dims)")
    src = [input._wrap_dim(d) for d in src]
    dst = [input._wrap_dim(d) for d in dst]
    order = [None] * input.dim()
    for s, d in zip(src, dst):
        order[d] = s
    rest = iter(d for d in range(input.dim()) if d not in src)
    return permute_op(input, dims=tuple(o if o is not None else next(rest) for o in order))


def unflatten(input, dim: int, sizes):
    """Dimension ``dim`` split into ``sizes`` (one may be -1): a view."""
    d = input._wrap_dim(dim)
    shape = input.shape
    sizes = _infer_shape(tuple(sizes), shape[d]) if sizes else tuple(sizes)
    return view(input, shape=shape[:d] + sizes + shape[d + 1:])


def broadcast_to(input, size):
    """``input`` broadcast to ``size``: a view with stride 0 where it repeats."""
    return expand(input, shape=tuple(size))


# ---- split / chunk / unbind: one node with several view outputs, as torch -------------------
# Their outputs are views of the input made by one op (``SplitBackward0``, ...), whose backward
# joins the pieces' gradients (zeros for pieces no gradient reached). Each output remembers the
# single window it is (its ``_view_chain`` step is a slice or select), and is marked
# ``_creation_meta = "multi_output"``: torch refuses in-place writes into such outputs.

def _piece_keys(ndim: int, dim: int, sizes: tuple | None, count: int) -> list:
    """The basic-index key of each piece: slices along ``dim``, or (unbind) integers."""
    lead = (slice(None),) * dim
    if sizes is None:
        return [lead + (i,) for i in range(count)]
    return [lead + (slice(s, s + k),) for s, k in zip(accumulate(sizes[:-1], initial=0), sizes)]


def _pieces_forward(data: np.ndarray, dim: int, sizes: tuple | None = None):
    count = len(sizes) if sizes is not None else data.shape[dim]
    pieces = tuple(_basic_index_forward(data, key) for key in _piece_keys(data.ndim, dim, sizes, count))
    return pieces if len(pieces) != 1 else pieces[0]


def _pieces_meta(data, dim: int, sizes: tuple | None = None):
    template = layout_template(data)
    pieces = _pieces_forward(template, dim, sizes)
    if not isinstance(pieces, tuple):
        return from_layout(pieces, template, data)
    return tuple(from_layout(p, template, data) for p in pieces)


def _pieces_grad(grad, self_shape: tuple, dim: int, sizes: tuple | None = None):
    """The input's gradient: the pieces' gradients joined along ``dim`` (zeros where None)."""
    grads = grad if isinstance(grad, tuple) else (grad,)
    if sizes is not None and not grad_state.enabled and all(g is not None for g in grads):
        joined = backend_of(grads[0]._data).joined_view([g._data for g in grads], dim)
        if joined is not None:  # nothing to copy: they were written side by side
            return fresh(joined)
    from .joining import cat, stack
    from ..factories import zeros

    like = next(g for g in grads if g is not None)
    shapes = ([self_shape[:dim] + (k,) + self_shape[dim + 1:] for k in sizes] if sizes is not None
              else [self_shape[:dim] + self_shape[dim + 1:]] * len(grads))
    full = [g if g is not None else zeros(shape, dtype=like.dtype, device=like.device)
            for g, shape in zip(grads, shapes)]
    return cat(full, dim) if sizes is not None else stack(full, dim)


_PIECE_NODES = {"split": "SplitBackward0", "split_with_sizes": "SplitWithSizesBackward0",
                "unbind": "UnbindBackward0"}


@lru_cache(maxsize=None)
def _pieces_op(kind: str, count: int) -> Op:
    """The multi-output view op of ``kind`` with ``count`` outputs (an Op has a fixed number)."""
    return Op(kind, ("self",), _pieces_forward, (_pieces_grad,), view=True, node_name=_PIECE_NODES[kind],
              meta=_pieces_meta, outputs=tuple(f"piece{i}" for i in range(count)) if count != 1 else ("result",))


def _pieces(kind: str, input, dim: int, sizes: tuple | None) -> tuple:
    count = len(sizes) if sizes is not None else input.shape[dim]
    if count == 0:
        return ()
    params = {"dim": dim} if sizes is None else {"dim": dim, "sizes": sizes}
    outs = _pieces_op(kind, count)(input, **params)
    outs = outs if isinstance(outs, tuple) else (outs,)
    chain = input._view_chain
    for out, key in zip(outs, _piece_keys(input.dim(), dim, sizes, count)):
        out._view_chain = chain + ((_select if sizes is None else _basic_index, {"key": key}),)
    return mark_multi_output(outs)


def split(tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """Pieces of ``split_size_or_sections`` elements along ``dim`` (the last may be shorter), or
    pieces of the listed sizes: views, outputs of one node."""
    d = tensor._wrap_dim(dim)
    n = tensor.shape[d]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0 and not (step == 0 and n == 0):
            raise RuntimeError(f"split expects split_size be non-negative, but got split_size={step}")
        sizes = tuple(min(step, n - s) for s in range(0, n, step)) if n else (0,)
        return _pieces("split", tensor, d, sizes)
    sizes = tuple(int(s) for s in split_size_or_sections)
    if sum(sizes) != n or any(s < 0 for s in sizes):
        raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} (input "
                           f"tensor's size at dimension {d}), but got split_sizes={list(sizes)}")
    return _pieces("split_with_sizes", tensor, d, sizes)


def chunk(input, chunks: int, dim: int = 0) -> tuple:
    """At most ``chunks`` views of equal size (ceil(n / chunks)) along ``dim``."""
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    n = input.shape[input._wrap_dim(dim)]
    if not n:  # torch: ``chunks`` empty pieces
        return split(input, [0] * chunks, dim)
    return split(input, -(-n // chunks), dim)


def unbind(input, dim: int = 0) -> tuple:
    """Every slice along ``dim``, that dimension removed: views, outputs of one node."""
    if input.dim() == 0:
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    return _pieces("unbind", input, input._wrap_dim(dim), None)
