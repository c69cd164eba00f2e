"""Separable resampling, the op behind ``interpolate`` (every mode but area).

``upsample_op(name)(x, tables=...)`` resamples the dims from 2 on, one after another:
``tables[d] = (idx, w)``, ``idx`` (M, T) int64 and ``w`` (M, T), makes output position m
along dim ``2 + d`` the mix ``sum_t w[m, t] * x[idx[m, t]]``; the tables come from the
interpolation mode (``autodiff/nn/functions/upsampling.py``). The map is linear in x and
its adjoint (the passes transposed, in reverse order) is its backward, and the other way
round, so every order of gradient works. One op per torch node name
(``UpsampleBilinear2DBackward0``...), so that ``grad_fn`` reads as torch's.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..backends import backend_of
from ..backends.meta import MetaArray
from .op import Op
from .reduction import as_akb


def _pass(data: np.ndarray, dim: int, idx: np.ndarray, w: np.ndarray, size: int, adjoint: bool) -> np.ndarray:
    """One resampling pass along ``dim`` (or its adjoint, back to ``size`` positions)."""
    be = backend_of(data)
    x = as_akb(data, (dim,))
    m = size if adjoint else idx.shape[0]
    out = be.empty((x.shape[0], m, x.shape[2]), data.dtype)
    if out.size:
        kernel = be.interpolate.resample_adjoint if adjoint else be.interpolate.resample
        kernel(x, idx, w.astype(data.dtype, copy=False), out)
    return out.reshape(data.shape[:dim] + (m,) + data.shape[dim + 1:])


def _forward(data: np.ndarray, tables: tuple) -> np.ndarray:
    for d, (idx, w) in enumerate(tables):
        data = _pass(data, 2 + d, idx, w, 0, False)
    return data


def _adjoint(data: np.ndarray, tables: tuple, sizes: tuple) -> np.ndarray:
    for d in reversed(range(len(tables))):
        data = _pass(data, 2 + d, *tables[d], sizes[d], True)
    return data


@lru_cache(maxsize=None)
def upsample_op(name: str) -> Op:
    """The resampling op whose backward node is ``<name>Backward0`` (its adjoint's ``<name>BackwardBackward0``)."""
    forward = Op("upsample", ("self",), _forward, (
        lambda grad, self_shape, tables: adjoint(grad, tables=tables, sizes=tuple(self_shape[2:])),
    ), node_name=f"{name}Backward0",
        meta=lambda data, tables: MetaArray(data.shape[:2] + tuple(i.shape[0] for i, _ in tables), data.dtype))
    adjoint = Op("upsample_backward", ("grad_output",), _adjoint, (
        lambda grad, tables: forward(grad, tables=tables),
    ), node_name=f"{name}BackwardBackward0",
        meta=lambda data, tables, sizes: MetaArray(data.shape[:2] + tuple(sizes), data.dtype))
    return forward
