"""Diagonals and triangles: ``diag``, ``diag_embed``, ``trace``, ``tril_indices``,
``triu_indices`` (``diagonal``, the view, lives in ``views.py``).

``diag_embed`` is the adjoint of ``diagonal``: it writes the last dim of its input onto
a diagonal of zero matrices, and its gradient is the diagonal of the gradient.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..backends import backend_for, backend_of
from ..backends.meta import MetaArray
from ..device import as_device
from ..tensor import Tensor
from . import views as vw
from .op import Op
from .reduction import normalize_dims


def _diag_embed_meta(data, offset: int, dim1: int, dim2: int) -> MetaArray:
    n = data.shape[-1] + abs(offset)
    rest = iter(data.shape[:-1])
    return MetaArray(tuple(n if d in (dim1, dim2) else next(rest) for d in range(data.ndim + 1)), data.dtype)


def _diag_embed_forward(data: np.ndarray, offset: int, dim1: int, dim2: int) -> np.ndarray:
    be = backend_of(data)
    out = be.empty(_diag_embed_meta(data, offset, dim1, dim2).shape, data.dtype)
    be.elementwise("copy", data.dtype, out, data.dtype.type(0))
    if data.size:
        be.elementwise("copy", data.dtype, vw._diagonal_forward(out, offset, dim1, dim2), data)
    return out


_diag_embed = Op("diag_embed", ("self",), _diag_embed_forward, (
    lambda grad, offset, dim1, dim2: vw.diagonal(grad, offset, dim1, dim2),
), meta=_diag_embed_meta)


def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Matrices (in dims ``dim1``, ``dim2`` of the result) whose ``offset`` diagonal is
    ``input``'s last dim, zero elsewhere."""
    if input.dim() == 0:
        raise RuntimeError("diag_embed(): input must be at least 1-dimensional")
    d1, d2 = normalize_dims(dim1, input.dim() + 1)[0], normalize_dims(dim2, input.dim() + 1)[0]
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return _diag_embed(input, offset=offset, dim1=d1, dim2=d2)


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """A 1-D input as the ``diagonal`` of a square matrix; a 2-D input's ``diagonal`` (a copy)."""
    if input.dim() == 1:
        return _diag_embed(input, offset=diagonal, dim1=0, dim2=1)
    if input.dim() == 2:
        return vw.diagonal(input, diagonal).clone()
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input.dim()}D")


def trace(input: Tensor) -> Tensor:
    """The sum of the main diagonal of a matrix."""
    if input.dim() != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.dim()}")
    return vw.diagonal(input).sum()


def _triangle_indices(row: int, col: int, offset: int, lower: bool, dtype, device) -> Tensor:
    name = "tril_indices" if lower else "triu_indices"
    if row < 0 or col < 0:
        raise RuntimeError(f"{name}: row and col must be non-negative, got row={row}, col={col}")
    c, r = np.arange(col), np.arange(row)[:, None]
    count = int(np.count_nonzero((c - r <= offset) if lower else (c - r >= offset)))
    be = backend_for(as_device(device).type)
    out = be.empty((2, count), np.int64)
    if count and be.computes:  # (a meta result has the shape only)
        be.triangle.triangle_indices(row, col, offset, lower, out)
    d = dtypes.as_dtype(dtype)
    return Tensor._make(out if d is dtypes.int64 else be.copy(out, d.np))


def tril_indices(row: int, col: int, offset: int = 0, *, dtype=dtypes.int64, device=None) -> Tensor:
    """The (2, N) coordinates of the lower triangle (col - row <= offset) of a row x col matrix."""
    return _triangle_indices(row, col, offset, True, dtype, device)


def triu_indices(row: int, col: int, offset: int = 0, *, dtype=dtypes.int64, device=None) -> Tensor:
    """The (2, N) coordinates of the upper triangle (col - row >= offset) of a row x col matrix."""
    return _triangle_indices(row, col, offset, False, dtype, device)
