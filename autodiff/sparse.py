"""Sparse COO tensors (``sparse_coo_tensor``, ``Tensor.to_sparse``) and ``autodiff.sparse.mm``.

A sparse tensor here is a ``SparseCooTensor``: ``indices`` (int64, ``(ndim, nnz)``, one
column per nonzero; duplicates allowed until ``coalesce``), ``values`` (an autodiff
Tensor of shape ``(nnz, *dense_shape)``) and a shape ``sparse_shape + dense_shape``:
with dense trailing dims ("hybrid" tensors, as PyTorch's) each nonzero is a dense block.
``sparse.mm`` takes matrices with scalar values only, as torch's. The values are an ordinary tensor,
so gradients flow to them: build a sparse matrix from values that require grad (or call
``requires_grad_()`` on it) and ``mm`` differentiates with respect to them and to the
dense operand; ``.grad`` of such a sparse leaf is a sparse tensor with its pattern.

Unlike PyTorch, indices are always checked against the size (the kernels do no bounds
checks), so an out-of-range index raises here rather than later. The indices live on the
values' device, and the index work (ravel, sort, runs) runs on their backend, the ``sort``
and ``sparse`` kernels: host data only moves to read counts and index bounds.
"""

from __future__ import annotations

import math

import numpy as np

from . import dtypes
from .backends import backend_of
from .factories import tensor as _tensor
from .factories import zeros
from .ops import indexing as ix
from .ops import sparse as sp
from .ops.joining import cat
from .ops.matmul import matmul as _matmul
from .tensor import Tensor


class layout:
    """A tensor layout, as ``torch.layout``: ``strided`` (dense) or ``sparse_coo``."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"autodiff.{self.name}"


strided = layout("strided")
sparse_coo = layout("sparse_coo")


class SparseCooTensor:
    """A sparse tensor in coordinate format (see the module docstring)."""

    is_sparse = True
    layout = sparse_coo

    def __init__(self, indices: np.ndarray, values: Tensor, shape: tuple, coalesced: bool = False) -> None:
        self._idx = indices
        self._vals = values
        self._shape = tuple(int(n) for n in shape)
        self._coalesced = coalesced

    # ---- metadata -----------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self._shape

    def size(self, dim: int | None = None):
        return self._shape if dim is None else self._shape[dim]

    def dim(self) -> int:
        return len(self._shape)

    ndim = property(dim)

    @property
    def dtype(self):
        return self._vals.dtype

    @property
    def device(self):
        return self._vals.device

    def sparse_dim(self) -> int:
        return self._idx.shape[0]

    def dense_dim(self) -> int:
        return len(self._shape) - self._idx.shape[0]

    @property
    def _sparse_shape(self) -> tuple:
        return self._shape[:self._idx.shape[0]]

    def _nnz(self) -> int:
        return self._idx.shape[1]

    def is_coalesced(self) -> bool:
        return self._coalesced

    # ---- autograd -------------------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._vals.requires_grad

    def requires_grad_(self, requires_grad: bool = True) -> SparseCooTensor:
        self._vals.requires_grad_(requires_grad)
        return self

    @property
    def grad(self):
        """The gradient with respect to this sparse leaf: coalesced, on its pattern (duplicates
        of one position share that position's gradient, as in PyTorch)."""
        g = self._vals.grad
        if g is None or self._coalesced:
            return None if g is None else SparseCooTensor(self._idx, g, self._shape, True)
        ordered, order = self._sorted()
        indices = self._groups(ordered, order)[0]
        keys, order = Tensor._make(ordered), Tensor._make(order)
        first = cat([order[:1], order[1:][keys[1:] != keys[:-1]]])  # each group's first nonzero (a stable sort)
        return SparseCooTensor(indices, ix.index_select(g, 0, first), self._shape, True)

    def detach(self) -> SparseCooTensor:
        return SparseCooTensor(self._idx, self._vals.detach(), self._shape, self._coalesced)

    # ---- parts ------------------------------------------------------------------------------
    def _indices(self) -> Tensor:
        return Tensor._make(self._idx)

    def _values(self) -> Tensor:
        return self._vals

    def indices(self) -> Tensor:
        if not self._coalesced:
            raise RuntimeError("Cannot get indices on an uncoalesced tensor, please call .coalesce() first")
        return self._indices()

    def values(self) -> Tensor:
        if not self._coalesced:
            raise RuntimeError("Cannot get values on an uncoalesced tensor, please call .coalesce() first")
        return self._vals

    def _flat_positions(self) -> np.ndarray:
        be = backend_of(self._idx)
        flat = be.empty(self._nnz(), np.int64)
        be.sparse.ravel(self._idx, np.asarray(self._sparse_shape, np.int64), flat)
        return flat

    def _sorted(self) -> tuple:
        """(the nonzeros' flat positions sorted, the stable permutation that sorts them)."""
        keys = self._flat_positions().reshape(1, -1, 1)
        be = backend_of(keys)
        ordered, order = be.empty(keys.shape, keys.dtype), be.empty(keys.shape, np.int64)
        be.sort.sort(keys, ordered, order, False)
        return ordered.reshape(-1), order.reshape(-1)

    def _groups(self, ordered, order) -> tuple:
        """(unique indices in row-major order, the group of each nonzero, the group count), from
        ``_sorted()``'s result."""
        be = backend_of(ordered)
        inverse, unique = be.empty(ordered.size, np.int64), be.empty(ordered.size, np.int64)
        n = be.sparse.runs(ordered, order, inverse, unique)
        indices = be.empty((self.sparse_dim(), n), np.int64)
        be.sparse.unravel(unique[:n], np.asarray(self._sparse_shape, np.int64), indices)
        return indices, inverse, n

    def coalesce(self) -> SparseCooTensor:
        """Indices sorted (row-major) and unique, the values of duplicates summed (differentiably)."""
        if self._coalesced:
            return self
        indices, inverse, n = self._groups(*self._sorted())
        values = ix.index_add(zeros((n,) + self._shape[self.sparse_dim():], dtype=self.dtype, device=self.device),
                              0, Tensor._make(inverse), self._vals)
        return SparseCooTensor(indices, values, self._shape, coalesced=True)

    def to_dense(self, dtype=None, *, masked_grad: bool | None = None) -> Tensor:
        """The dense tensor (duplicates summed); differentiable with respect to the values."""
        flat = zeros((math.prod(self._sparse_shape),) + self._shape[self.sparse_dim():], dtype=self.dtype,
                     device=self.device)
        out = ix.index_add(flat, 0, Tensor._make(self._flat_positions()), self._vals).reshape(self._shape)
        return out if dtype is None else out.to(dtype)

    def t(self) -> SparseCooTensor:
        if len(self._shape) != 2 or self.dense_dim():
            raise RuntimeError(f"t() expects a tensor with <= 2 sparse and 0 dense dimensions, but got "
                               f"{self.sparse_dim()} sparse and {self.dense_dim()} dense dimensions")
        return SparseCooTensor(self._idx[::-1].copy(), self._vals, self._shape[::-1])

    def __matmul__(self, other: Tensor) -> Tensor:
        return mm(self, other)

    def __rmatmul__(self, other: Tensor) -> Tensor:
        return mm(other, self)

    def mm(self, mat2: Tensor) -> Tensor:
        return mm(self, mat2)

    def matmul(self, other: Tensor) -> Tensor:
        return _matmul(self, other)

    def __repr__(self) -> str:
        grad = f", grad_fn=<{type(self._vals.grad_fn).__name__}>" if self._vals.grad_fn is not None else ""
        device = f", device='{self.device}'"
        indices = repr(Tensor._make(self._idx)).replace(device, "").replace("\n", "\n" + " " * 15)
        values = repr(self._vals.detach())
        where = f"{device[2:]}, " if device in values else ""  # as torch: once, before the size
        values = values.replace(device, "")
        dtype = ""
        if ", dtype=" in values:
            values, dtype = values.split(", dtype=")
            values, dtype = values + ")", f", dtype={dtype[:-1]}"
        values = values.replace("\n", "\n" + " " * 14)
        return (f"tensor(indices={indices},\n       values={values},\n       {where}size={self._shape}, "
                f"nnz={self._nnz()}{dtype}, layout={self.layout}{grad})")


def _as_values(values, dtype, device) -> Tensor:
    if not isinstance(values, Tensor):
        return _tensor(values, dtype=dtype, device=device)
    if dtype is not None and values.dtype is not dtypes.as_dtype(dtype):
        values = values.to(dtype)
    return values if device is None else values.to(device)


def _index_bounds(idx) -> tuple[list, list]:
    """The smallest and the largest index of each sparse dim of ``idx`` (int64, (ndim, nnz),
    nnz > 0), reduced on its backend and read to the host."""
    be = backend_of(idx)
    rows = idx.reshape(idx.shape + (1,))
    bounds = be.empty((2, idx.shape[0], 1), np.int64)  # one read for both
    be.reduce.min_(rows, bounds[0])
    be.reduce.max_(rows, bounds[1])
    lows, highs = be.to_numpy(bounds).reshape(2, -1).tolist()
    return lows, highs


def sparse_coo_tensor(indices, values, size=None, *, dtype=None, device=None, requires_grad: bool = False,
                      check_invariants: bool | None = None, is_coalesced: bool | None = None) -> SparseCooTensor:
    """A sparse COO tensor with ``values[k]`` at coordinates ``indices[:, k]`` (``size``
    inferred as the largest index + 1 per dim when not given). A values tensor is kept,
    not copied, so gradients reach it. The tensor lives on ``device`` (default: the values'),
    indices given as host data are moved there; they are checked where they are."""
    idx = indices._data if isinstance(indices, Tensor) else np.asarray(indices)
    vals = _as_values(values, dtype, device)
    if isinstance(indices, Tensor) and device is None and indices.device.type != vals.device.type:
        raise RuntimeError(f"backend of indices ({indices.device.type.upper()}) must match backend of values "
                           f"({vals.device.type.upper()})")
    if idx.ndim != 2:
        raise RuntimeError(f"indices must be sparse_dim x nnz, but got: {list(idx.shape)}")
    if idx.dtype.kind not in "iu":
        raise RuntimeError(f"indices must be an int64 tensor, got {idx.dtype}")
    if vals.dim() < 1:
        raise RuntimeError(f"values must be at least 1-D (nnz, *dense_shape), got a {vals.dim()}-D tensor")
    if idx.shape[1] != vals.shape[0]:
        raise RuntimeError(f"indices and values must have same nnz, but got nnz from indices: {idx.shape[1]}, "
                           f"nnz from values: {vals.shape[0]}")
    if idx.dtype != np.int64 or not idx.flags.c_contiguous:
        idx = backend_of(idx).copy(idx, np.int64)
    lows, highs = _index_bounds(idx) if idx.shape[1] else ([], [])
    dense_shape = tuple(vals.shape[1:])
    if size is None:
        size = tuple(m + 1 for m in highs) if idx.shape[1] else (0,) * idx.shape[0]
        size += dense_shape
    size = tuple(size)
    if len(size) != idx.shape[0] + len(dense_shape):
        raise RuntimeError(f"'len(size) == sparse_dim + dense_dim' is not satisfied: len(size) = {len(size)}, "
                           f"sparse_dim = {idx.shape[0]}, dense_dim = {len(dense_shape)}")
    if size[idx.shape[0]:] != dense_shape:
        raise RuntimeError(f"values has incorrect size, expected {[idx.shape[1], *size[idx.shape[0]:]]}, got "
                           f"{list(vals.shape)}")
    for d, (lo, hi) in enumerate(zip(lows, highs)):
        if lo < 0:
            raise RuntimeError(f"found negative index {lo} for dim {d}")
        if hi >= size[d]:
            raise RuntimeError(f"size is inconsistent with indices: for dim {d}, size is {size[d]} but found "
                               f"index {hi}")
    if requires_grad:
        vals.requires_grad_()
    idx = Tensor._make(idx).to(vals.device)._data
    return SparseCooTensor(idx, vals, size, coalesced=bool(is_coalesced))


def to_sparse(self: Tensor, sparse_dim: int | None = None, *, layout=None) -> SparseCooTensor:
    """The nonzeros of a dense tensor as a coalesced COO tensor (values differentiable). With
    ``sparse_dim`` below ``ndim``, a nonzero is a block of the trailing dims holding any nonzero."""
    sparse_dim = self.dim() if sparse_dim is None else sparse_dim
    if not 0 < sparse_dim <= self.dim():
        raise RuntimeError(f"sparse_dim must be in [1, {self.dim()}] for a {self.dim()}-D tensor, got {sparse_dim}")
    if layout is not None and layout is not sparse_coo:
        raise NotImplementedError(f"to_sparse: layout {layout} is not supported")
    sparse_shape = tuple(self.shape[:sparse_dim])
    blocks = self.reshape((math.prod(sparse_shape), -1))
    data = (blocks != 0).sum(1)._data if sparse_dim < self.dim() else blocks.contiguous()._data.reshape(-1)
    be = backend_of(data)
    positions = be.empty(data.size, np.int64)
    n = be.sparse.nonzero_flat(data, positions)
    positions = be.copy(positions[:n])
    indices = be.empty((sparse_dim, n), np.int64)
    be.sparse.unravel(positions, np.asarray(sparse_shape, np.int64), indices)
    values = ix.index_select(self.reshape((-1,) + tuple(self.shape[sparse_dim:])), 0, Tensor._make(positions))
    return SparseCooTensor(indices, values, self.shape, coalesced=True)


def _dense_operand(t, name: str) -> Tensor:
    if not isinstance(t, Tensor) or t.dim() != 2:
        shape = list(t.shape) if hasattr(t, "shape") else type(t).__name__
        raise RuntimeError(f"sparse.mm: {name} must be a 2-D dense tensor, got {shape}")
    return t


def mm(mat1, mat2) -> Tensor:
    """``mat1 @ mat2`` with one operand a 2-D sparse COO matrix and the other dense (2-D),
    as ``torch.sparse.mm``; differentiable with respect to the dense operand and to the
    sparse one's values."""
    if isinstance(mat2, SparseCooTensor) and not isinstance(mat1, SparseCooTensor):
        return mm(mat2.t(), _dense_operand(mat1, "mat1").mT).mT
    if not isinstance(mat1, SparseCooTensor) or mat1.dim() != 2 or mat1.dense_dim():
        raise RuntimeError("sparse.mm: mat1 must be a 2-D sparse COO tensor with scalar values")
    dense = _dense_operand(mat2, "mat2")
    m, k = mat1.shape
    if dense.shape[0] != k:
        raise RuntimeError(f"addmm: Argument #3 (dense): Expected dim 0 size {k}, got {dense.shape[0]}")
    if dense.dtype is not mat1.dtype:
        raise RuntimeError(f"expected scalar type {_type_name(mat1.dtype)} but found {_type_name(dense.dtype)}")
    rows, cols = mat1._idx[0].copy(), mat1._idx[1].copy()
    return sp.spmm(mat1._vals, dense, rows=rows, cols=cols, m=m)


def _type_name(d) -> str:
    return {"float32": "Float", "float64": "Double", "int64": "Long", "bool": "Bool"}.get(d.name, d.name)


spmm = mm
