"""The two differentiable sparse-dense products of a COO matrix S = (rows, cols, values):

* ``spmm(values, dense)`` = S @ dense;
* ``sddmm(a, b)`` = the entries of a @ b.T at S's nonzeros, (a @ b.T)[rows[k], cols[k]].

Each is linear in each operand and their adjoints close over the two, so every order of
gradient works: the gradient of S @ D with respect to the values is
``sddmm(grad, D)``, with respect to D it is ``S.T @ grad``, a ``spmm`` with rows and cols
swapped. ``rows``, ``cols`` and ``m`` (S's row count) are parameters, not operands.
"""

from __future__ import annotations

import numpy as np

from ..backends import backend_of, contiguous
from ..backends.meta import MetaArray
from .op import Op


def _spmm_forward(values: np.ndarray, dense: np.ndarray, rows: np.ndarray, cols: np.ndarray,
                  m: int) -> np.ndarray:
    be = backend_of(dense)
    out = be.empty((m, dense.shape[1]), dense.dtype)
    be.sparse.spmm(rows, cols, contiguous(values), contiguous(dense), out)
    return out


def _sddmm_forward(a: np.ndarray, b: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    be = backend_of(a)
    out = be.zeros(rows.size, a.dtype)
    be.sparse.sddmm(rows, cols, contiguous(a), contiguous(b), out)
    return out


spmm = Op("sparse_mm", ("values", "dense"), _spmm_forward, (
    lambda grad, dense, rows, cols: sddmm(grad, dense, rows=rows, cols=cols),
    lambda grad, values, rows, cols, dense_shape: spmm(values, grad, rows=cols, cols=rows, m=dense_shape[0]),
), node_name="SparseAddmmBackward0",
    meta=lambda values, dense, rows, cols, m: MetaArray((m, dense.shape[1]), dense.dtype))

sddmm = Op("sparse_sampled_mm", ("a", "b"), _sddmm_forward, (
    lambda grad, b, rows, cols, a_shape: spmm(grad, b, rows=rows, cols=cols, m=a_shape[0]),
    lambda grad, a, rows, cols, b_shape: spmm(grad, a, rows=cols, cols=rows, m=b_shape[0]),
), meta=lambda a, b, rows, cols: MetaArray((rows.size,), a.dtype))
