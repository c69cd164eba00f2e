"""Joining and rearranging copies: cat, stack, hstack, vstack, repeat, tile, flip, roll,
tril, triu and constant/reflect/replicate/circular padding.

Each copy runs the copy (or where) kernel into slices of a fresh output; the backward of
each is a view or another op of this file (``cat`` -> ``narrow``, ``flip`` -> ``flip``,
``roll`` -> ``roll`` back, ``tril`` -> ``tril``, padding -> slicing), so higher orders work.
``repeat``/``tile`` copy an expanded view (their backward sums the repeats), and non-constant padding
is ``index_select`` with a constructed index per dimension.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Sequence

import numpy as np

from .. import backends, dtypes
from ..backends import backend_of
from ..backends.meta import MetaArray
from ..tensor import Tensor
from . import views as vw
from .indexing import index_select
from .op import Op


def _copy_into(out: np.ndarray, src: np.ndarray) -> None:
    if out.size:
        backends.elementwise("copy", out.dtype, out, src)


# ---- cat / stack ------------------------------------------------------------------------------

# ``sizes[i]`` is operand i's length along ``dim``, or -1 for a 1-D empty tensor torch skips
# (it still promotes the dtype and gets an empty gradient)
def _cat_meta(*arrays, dim: int, sizes: tuple) -> MetaArray:
    shape = next((a.shape for a, n in zip(arrays, sizes) if n >= 0), (0,))
    total = sum(n for n in sizes if n > 0)
    return MetaArray(shape[:dim] + (total,) + shape[dim + 1:], dtypes.result_type(arrays).np)


def _cat_forward(*arrays, dim: int, sizes: tuple) -> np.ndarray:
    meta = _cat_meta(*arrays, dim=dim, sizes=sizes)
    be = backend_of(arrays[0])
    return be.join(be.empty(meta.shape, meta.dtype), [a for a, n in zip(arrays, sizes) if n > 0], dim)


def _piece(i: int):
    def grad_of_operand(grad, dim, sizes):
        if sizes[i] < 0:  # skipped: an empty gradient of its (0,) shape
            return vw.narrow(grad.reshape(-1), 0, 0, 0)
        return vw.narrow(grad, dim, sum(n for n in sizes[:i] if n > 0), sizes[i])
    return grad_of_operand


@lru_cache(maxsize=None)
def _cat_op(n: int) -> Op:
    """The cat op for ``n`` operands (an Op has a fixed number of operands)."""
    return Op("cat", tuple(f"t{i}" for i in range(n)), _cat_forward, tuple(_piece(i) for i in range(n)),
              meta=_cat_meta)


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """``tensors`` joined along ``dim``; other sizes must match (1-D empty tensors are skipped)."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    for i, t in enumerate(tensors):
        if t.dim() == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be concatenated")
    numbered = [(i, t) for i, t in enumerate(tensors) if t.shape != (0,)]
    if not numbered:  # only 1-D empty tensors: torch checks no dim and joins them along 0
        return _cat_op(len(tensors))(*tensors, dim=0, sizes=(0,) * len(tensors))
    first = numbered[0][1]
    d = first._wrap_dim(dim)
    for i, t in numbered:
        if t.dim() != first.dim():
            raise RuntimeError(f"Tensors must have same number of dimensions: got {first.dim()} and {t.dim()}")
        for k, (a, b) in enumerate(zip(first.shape, t.shape)):
            if k != d and a != b:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {d}. Expected size "
                                   f"{a} but got size {b} for tensor number {i} in the list.")
    sizes = tuple(-1 if t.shape == (0,) and first.dim() != 1 else t.shape[d] for t in tensors)
    return _cat_op(len(tensors))(*tensors, dim=d, sizes=sizes)


concat = concatenate = cat


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """``tensors`` (all of one shape) joined along a new dimension ``dim``."""
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    n = tensors[0].dim()
    d = dim + n + 1 if dim < 0 else dim
    if not 0 <= d <= n:  # checked before the shapes, as torch
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n - 1}, {n}], but got {dim})")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(tensors[0].shape)} at entry 0 and {list(t.shape)} at entry {i}")
    return cat([vw.unsqueeze(t, d) for t in tensors], d)


def _at_least(t: Tensor, ndim: int) -> Tensor:
    if t.dim() >= ndim:
        return t
    return t.reshape((1,) * (ndim - t.dim()) + t.shape)


def hstack(tensors: Sequence[Tensor]) -> Tensor:
    """Join column-wise: along dim 0 for 1-D tensors, else dim 1."""
    tensors = [_at_least(t, 1) for t in tensors]
    return cat(tensors, 0 if tensors[0].dim() == 1 else 1)


def vstack(tensors: Sequence[Tensor]) -> Tensor:
    """Join row-wise: 1-D tensors become rows."""
    return cat([_at_least(t, 2) for t in tensors], 0)


# ---- repeat / tile ------------------------------------------------------------------------------

def _repeat_layout(shape: tuple, sizes: tuple) -> tuple:
    """(input shape padded to len(sizes), interleaved (1, n) shape, expanded (r, n) shape)."""
    shape = (1,) * (len(sizes) - len(shape)) + tuple(shape)
    return (shape, tuple(x for n in shape for x in (1, n)),
            tuple(x for r, n in zip(sizes, shape) for x in (r, n)))


def _repeat_meta(data, sizes: tuple) -> MetaArray:
    shape = _repeat_layout(data.shape, sizes)[0]
    return MetaArray(tuple(r * n for r, n in zip(sizes, shape)), data.dtype)


def _repeat_forward(data: np.ndarray, sizes: tuple) -> np.ndarray:
    _, interleaved, expanded = _repeat_layout(data.shape, sizes)
    meta = _repeat_meta(data, sizes)
    out = backend_of(data).empty(meta.shape, meta.dtype)
    _copy_into(out.reshape(expanded), vw._expand_forward(data.reshape(interleaved), expanded))
    return out


def _repeat_grad(grad, self_shape: tuple, sizes: tuple):
    _, _, expanded = _repeat_layout(self_shape, sizes)
    return grad.reshape(expanded).sum(dim=tuple(range(0, len(expanded), 2))).reshape(self_shape)


_repeat = Op("repeat", ("self",), _repeat_forward, (_repeat_grad,), meta=_repeat_meta)


def repeat(input: Tensor, *sizes) -> Tensor:
    """``input`` repeated ``sizes[i]`` times along dim i (leading sizes add dimensions): a new tensor."""
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    sizes = tuple(int(r) for r in sizes)
    if len(sizes) < input.dim():
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of "
                           "dimensions of tensor")
    if any(r < 0 for r in sizes):
        target = [r * n for r, n in zip(sizes, _repeat_layout(input.shape, sizes)[0])]
        raise RuntimeError(f"Trying to create tensor with negative dimension "
                           f"{next(n for n in target if n < 0)}: {target}")
    return _repeat(input, sizes=sizes)


def tile(input: Tensor, dims) -> Tensor:
    """``repeat`` with ``dims`` padded by leading ones to ``input``'s rank."""
    dims = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
    return repeat(input, (1,) * (input.dim() - len(dims)) + dims)


# ---- flip / roll ------------------------------------------------------------------------------

def _flip_forward(data: np.ndarray, dims: tuple) -> np.ndarray:
    return backends.copy(data[tuple(slice(None, None, -1) if d in dims else slice(None) for d in range(data.ndim))])


def _same_meta(data, *args, out=None, **params) -> MetaArray:
    """The metadata rule of the ops whose result has the input's shape and dtype."""
    return out if out is not None else MetaArray(data.shape, data.dtype)


_flip = Op("flip", ("self",), _flip_forward, (lambda grad, dims: _flip(grad, dims=dims),), meta=_same_meta)


def flip(input: Tensor, dims) -> Tensor:
    """``input`` with the order of elements reversed along ``dims`` (a copy)."""
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    wrapped = tuple(input._wrap_dim(d) for d in dims)
    if len(set(wrapped)) != len(wrapped):
        raise RuntimeError(f"dims has duplicates, original flip dims size={len(dims)}, but unique flip "
                           f"dims size={len(set(wrapped))}")
    return _flip(input, dims=wrapped)


def _roll_forward(data: np.ndarray, shift: int, dim: int) -> np.ndarray:
    out = backend_of(data).empty(data.shape, data.dtype)
    n = data.shape[dim]
    s = shift % n if n else 0
    lead = (slice(None),) * dim
    _copy_into(out[lead + (slice(s, None),)], data[lead + (slice(0, n - s),)])
    _copy_into(out[lead + (slice(0, s),)], data[lead + (slice(n - s, None),)])
    return out


_roll = Op("roll", ("self",), _roll_forward, (lambda grad, shift, dim: _roll(grad, shift=-shift, dim=dim),),
           meta=_same_meta)


def roll(input: Tensor, shifts, dims=None) -> Tensor:
    """Elements shifted by ``shifts`` along ``dims``, wrapping around (flattened when dims is None)."""
    shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    if dims is None:
        if len(shifts) != 1:
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:0")
        return _roll(input.flatten(), shift=shifts[0], dim=0).view(input.shape)
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}")
    out = input
    for s, d in zip(shifts, dims):
        out = _roll(out, shift=s, dim=input._wrap_dim(d))
    return out


# ---- tril / triu ------------------------------------------------------------------------------

def _check_triangle(data, lower: bool) -> None:
    if data.ndim < 2:
        raise RuntimeError(f"{'tril' if lower else 'triu'}: input tensor must have at least 2 dimensions")


def _triangle_meta(lower: bool):
    def meta(data, diagonal: int = 0, out=None) -> MetaArray:
        _check_triangle(data, lower)
        return _same_meta(data, out=out)
    return meta


def _triangle_forward(lower: bool):
    def forward(data: np.ndarray, diagonal: int = 0, out=None) -> np.ndarray:
        _check_triangle(data, lower)
        rows, cols = data.shape[-2:]
        keep = np.tri(rows, cols, diagonal, dtype=np.bool_)
        if not lower:
            keep = ~np.tri(rows, cols, diagonal - 1, dtype=np.bool_)
        be = backend_of(data)
        if out is None:
            out = be.empty(data.shape, data.dtype)
        # the (rows, cols) mask is made on the host and moved to the data's device
        return backends.elementwise("where", data.dtype, out, be.from_numpy(keep), data, data.dtype.type(0))
    return forward


_tril = Op("tril", ("self",), _triangle_forward(True), (lambda grad, diagonal=0: _tril(grad, diagonal=diagonal),),
           meta=_triangle_meta(True))
_triu = Op("triu", ("self",), _triangle_forward(False), (lambda grad, diagonal=0: _triu(grad, diagonal=diagonal),),
           meta=_triangle_meta(False))


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle (on and below ``diagonal``) of the last two dims; the rest zero."""
    return _tril(input, diagonal=diagonal)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle (on and above ``diagonal``) of the last two dims; the rest zero."""
    return _triu(input, diagonal=diagonal)


def tril_(input: Tensor, diagonal: int = 0) -> Tensor:
    return _tril.apply_(input, diagonal=diagonal)


def triu_(input: Tensor, diagonal: int = 0) -> Tensor:
    return _triu.apply_(input, diagonal=diagonal)


# ---- padding ------------------------------------------------------------------------------------

def _constant_pad_meta(data, pads: tuple, value) -> MetaArray:
    return MetaArray(tuple(n + lo + hi for n, (lo, hi) in zip(data.shape, pads)), data.dtype)


def _constant_pad_forward(data: np.ndarray, pads: tuple, value) -> np.ndarray:
    out = backend_of(data).empty(_constant_pad_meta(data, pads, value).shape, data.dtype)
    backends.elementwise("copy", data.dtype, out, data.dtype.type(value))
    _copy_into(out[tuple(slice(lo, lo + n) for n, (lo, _) in zip(data.shape, pads))], data)
    return out


_constant_pad = Op("constant_pad_nd", ("self",), _constant_pad_forward, (
    lambda grad, self_shape, pads: vw.basic_index(
        grad, tuple(slice(lo, lo + n) for n, (lo, _) in zip(self_shape, pads))),
), meta=_constant_pad_meta)


def _pad_index(n: int, lo: int, hi: int, mode: str) -> np.ndarray:
    """Source positions of a dimension of size ``n`` padded by ``lo``/``hi`` in ``mode``."""
    pos = np.arange(-lo, n + hi)
    if mode == "replicate":
        return np.clip(pos, 0, n - 1)
    if mode == "circular":
        return pos % n
    period = 2 * (n - 1)
    pos = np.abs(pos) % period if period else np.zeros_like(pos)
    return np.where(pos >= n, period - pos, pos)


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad the last ``len(pad) // 2`` dims: ``pad = (left_last, right_last, left_2nd_last, ...)``.
    Negative constant padding crops."""
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 or len(pad) // 2 > input.dim():
        raise RuntimeError(f"Padding length should be less than or equal to two times the input "
                           f"dimension but got padding length {len(pad)} and input of dimension {input.dim()}")
    k = len(pad) // 2
    pairs = [(0, 0)] * (input.dim() - k) + [(pad[2 * i], pad[2 * i + 1]) for i in reversed(range(k))]
    if mode == "constant":
        key = tuple(slice(max(-lo, 0), n - max(-hi, 0)) for n, (lo, hi) in zip(input.shape, pairs))
        if any(lo < 0 or hi < 0 for lo, hi in pairs):
            input = vw.basic_index(input, key)
        pads = tuple((max(lo, 0), max(hi, 0)) for lo, hi in pairs)
        return _constant_pad(input, pads=pads, value=0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    out = input
    for d, (lo, hi) in enumerate(pairs):
        if lo == hi == 0:
            continue
        n = input.shape[d]
        if mode == "reflect" and (lo >= n or hi >= n):
            raise RuntimeError(f"Argument #4: Padding size should be less than the corresponding input "
                               f"dimension, but got: padding ({lo}, {hi}) at dimension {d} of input "
                               f"{list(input.shape)}")
        if mode == "circular" and (lo > n or hi > n):
            raise RuntimeError("Padding value causes wrapping around more than once.")
        out = index_select(out, d, Tensor._make(backend_of(input._data).from_numpy(_pad_index(n, lo, hi, mode))))
    return out
