"""Resampling along one dim, the op behind ``interpolate`` (nearest and linear modes).

``resample(x, dim, i0, i1, w0, w1)`` makes output position m along ``dim`` the mix
``w0[m] * x[i0[m]] + w1[m] * x[i1[m]]``; the index and weight tables come from the
interpolation mode (``autodiff/nn/functions/upsampling.py``). It is linear in x, and
``resample_adjoint`` is its transpose: each is the other's backward, so every order of
gradient works. Several spatial dims are resampled one after another (separable).
"""

from __future__ import annotations

import numpy as np

from ..backends import backend_of
from ..backends.meta import MetaArray
from .op import Op
from .reduction import as_akb


def _tables(dtype, w0, w1):
    return w0.astype(dtype, copy=False), w1.astype(dtype, copy=False)


def _resample_forward(data: np.ndarray, dim: int, i0: np.ndarray, i1: np.ndarray, w0: np.ndarray,
                      w1: np.ndarray) -> np.ndarray:
    be = backend_of(data)
    x = as_akb(data, (dim,))
    out = be.empty((x.shape[0], i0.size, x.shape[2]), data.dtype)
    if out.size:
        be.interpolate.lerp(x, i0, i1, *_tables(data.dtype, w0, w1), out)
    return out.reshape(data.shape[:dim] + (i0.size,) + data.shape[dim + 1:])


def _adjoint_forward(data: np.ndarray, dim: int, i0: np.ndarray, i1: np.ndarray, w0: np.ndarray,
                     w1: np.ndarray, size: int) -> np.ndarray:
    be = backend_of(data)
    g = as_akb(data, (dim,))
    out = be.zeros((g.shape[0], size, g.shape[2]), data.dtype)
    if out.size:
        be.interpolate.lerp_adjoint(g, i0, i1, *_tables(data.dtype, w0, w1), out)
    return out.reshape(data.shape[:dim] + (size,) + data.shape[dim + 1:])


def _resampled_meta(data, dim: int, size: int) -> MetaArray:
    return MetaArray(data.shape[:dim] + (size,) + data.shape[dim + 1:], data.dtype)


resample = Op("resample", ("self",), _resample_forward, (
    lambda grad, self_shape, dim, i0, i1, w0, w1: resample_adjoint(
        grad, dim=dim, i0=i0, i1=i1, w0=w0, w1=w1, size=self_shape[dim]),
), node_name="UpsampleBackward0", meta=lambda data, dim, i0, i1, w0, w1: _resampled_meta(data, dim, i0.size))

resample_adjoint = Op("resample_adjoint", ("grad_output",), _adjoint_forward, (
    lambda grad, dim, i0, i1, w0, w1: resample(grad, dim=dim, i0=i0, i1=i1, w0=w0, w1=w1),
), node_name="UpsampleBackwardBackward0",
    meta=lambda data, dim, i0, i1, w0, w1, size: _resampled_meta(data, dim, size))
