"""2-D pooling ops over ``(N, C, H, W)`` tensors.

* ``max_pool2d(self)``: a two-output op, the window maxima and their ``indices`` (int64,
  not differentiable, returned by ``return_indices=True``): each maximum's flat position
  in its plane. The backward scatters by those
  indices (``plane_scatter_add``), whose own backward gathers by them (``plane_gather``).
* ``avg_pool2d`` and ``adaptive_avg_pool2d``: one linear kernel over explicit windows;
  the backward is the adjoint kernel, whose backward is the forward again. The windows
  (PyTorch's rules) are computed here, once per call.
"""

from __future__ import annotations

import numpy as np

from ..backends import backend_of, contiguous
from ..backends.meta import MetaArray

from .convolution import channels_last, nhwc
from .op import Op


def _planes(a: np.ndarray) -> np.ndarray:
    """A C-contiguous (N * C, H, W) view (a copy when the strides forbid a view)."""
    return contiguous(a).reshape((-1,) + a.shape[-2:])


def _nhwc_empty(be, shape: tuple, np_dtype):
    """An uninitialised (N, C, H, W) channels_last array and its (N, H, W, C) C-contiguous face."""
    n, c, h, w = shape
    face = be.empty((n, h, w, c), np_dtype)
    return face.transpose(0, 3, 1, 2), face


def _meta(self, shape: tuple, np_dtype) -> MetaArray:
    """The output's metadata: channels_last strides for a channels_last ``self``, as torch's."""
    if not channels_last(self):
        return MetaArray(shape, np_dtype)
    n, c, h, w = shape
    size = np.dtype(np_dtype).itemsize
    return MetaArray(shape, np_dtype, (h * w * c * size, size, w * c * size, c * size))


def pool_out_size(size: int, k: int, stride: int, pad: int, dil: int, ceil_mode: bool) -> int:
    """PyTorch's pooling output length; in ceil mode the last window must start inside the input."""
    span = size + 2 * pad - dil * (k - 1) - 1
    out = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1
    return out


# ---- max pooling ---------------------------------------------------------------------------
def _max_pool_meta(self, kernel_size, stride, padding, dilation, out_hw) -> tuple:
    shape = self.shape[:2] + tuple(out_hw)
    return _meta(self, shape, self.dtype), _meta(self, shape, np.int64)


def _max_pool_forward(self, kernel_size, stride, padding, dilation, out_hw):
    be = backend_of(self)
    out_hw = tuple(out_hw)
    geometry = (*kernel_size, *stride, *padding, *dilation)
    if channels_last(self):  # pooled in place, channels innermost, into channels_last outputs
        y, y_face = _nhwc_empty(be, self.shape[:2] + out_hw, self.dtype)
        indices, i_face = _nhwc_empty(be, self.shape[:2] + out_hw, np.int64)
        be.pool.max_pool2d_nhwc(nhwc(self), y_face, i_face, *geometry)
        return y, indices
    x = _planes(self)
    indices = be.empty(self.shape[:2] + out_hw, np.int64)
    y = be.empty((x.shape[0],) + out_hw, self.dtype)
    be.pool.max_pool2d(x, y, indices.reshape((-1,) + out_hw), *geometry)
    return y.reshape(indices.shape), indices


def _flat_nhwc(a):
    """The (N, H * W, C) C-contiguous face of a 4-D array (a view when it is channels_last)."""
    face = nhwc(a)
    return face.reshape(face.shape[0], -1, face.shape[3])


def _gather_forward(self, indices):
    be = backend_of(self)
    if channels_last(self) or channels_last(indices):
        y, face = _nhwc_empty(be, indices.shape, self.dtype)
        be.pool.plane_gather_nhwc(_flat_nhwc(self), _flat_nhwc(indices), face.reshape(face.shape[0], -1, face.shape[3]))
        return y
    y = be.empty(indices.shape, self.dtype)
    planes = y.shape[0] * y.shape[1]
    be.pool.plane_gather(contiguous(self).reshape(planes, -1), contiguous(indices).reshape(planes, -1),
                         y.reshape(planes, -1))
    return y


def _scatter_forward(grad_output, indices, self_shape):
    be = backend_of(grad_output)
    if channels_last(grad_output) or channels_last(indices):
        x, face = _nhwc_empty(be, self_shape, grad_output.dtype)
        be.pool.plane_scatter_add_nhwc(_flat_nhwc(grad_output), _flat_nhwc(indices),
                                       face.reshape(face.shape[0], -1, face.shape[3]))
        return x
    x = be.empty(self_shape, grad_output.dtype)
    planes = self_shape[0] * self_shape[1]
    be.pool.plane_scatter_add(contiguous(grad_output).reshape(planes, -1), contiguous(indices).reshape(planes, -1),
                         x.reshape(planes, -1))
    return x


max_pool2d = Op("max_pool2d_with_indices", ("self",), _max_pool_forward, (
    lambda grads, indices, self_shape: plane_scatter_add(grads[0], indices, self_shape=self_shape),
), node_name="MaxPool2DWithIndicesBackward0", meta=_max_pool_meta, outputs=("values", "indices"),
    nondifferentiable=("indices",))

plane_gather = Op("plane_gather", ("self", "indices"), _gather_forward, (
    lambda grad, indices, self_shape: plane_scatter_add(grad, indices, self_shape=self_shape),
), meta=lambda self, indices: _meta(indices if channels_last(indices) else self, indices.shape, self.dtype))

plane_scatter_add = Op("plane_scatter_add", ("grad_output", "indices"), _scatter_forward, (
    lambda grad, indices: plane_gather(grad, indices),
), meta=lambda grad_output, indices, self_shape: _meta(
    indices if channels_last(indices) else grad_output, self_shape, grad_output.dtype))


# ---- average pooling ---------------------------------------------------------------------
def avg_windows(size: int, k: int, stride: int, pad: int, ceil_mode: bool) -> tuple:
    """Window starts, ends (clipped to the input) and the unclipped sizes (for count_include_pad)."""
    n = pool_out_size(size, k, stride, pad, 1, ceil_mode)
    start = np.arange(n, dtype=np.int64) * stride - pad
    end = np.minimum(start + k, size + pad)
    padded = end - start
    return np.maximum(start, 0), np.minimum(end, size), padded


def adaptive_windows(size: int, n: int) -> tuple:
    """PyTorch's adaptive bins: [floor(i * size / n), ceil((i + 1) * size / n))."""
    i = np.arange(n, dtype=np.int64)
    return (i * size) // n, -((-(i + 1) * size) // n)


def _window_forward(self, h0, h1, w0, w1, div):
    be = backend_of(self)
    div = div.astype(self.dtype, copy=False)
    if channels_last(self):
        y, face = _nhwc_empty(be, self.shape[:2] + (len(h0), len(w0)), self.dtype)
        be.pool.window_avg_nhwc(nhwc(self), face, h0, h1, w0, w1, div)
        return y
    x = _planes(self)
    y = be.empty((x.shape[0], len(h0), len(w0)), self.dtype)
    be.pool.window_avg(x, y, h0, h1, w0, w1, div)
    return y.reshape(self.shape[:-2] + y.shape[1:])


def _window_backward(grad_output, h0, h1, w0, w1, div, self_shape):
    be = backend_of(grad_output)
    div = div.astype(grad_output.dtype, copy=False)
    if channels_last(grad_output):
        gx, face = _nhwc_empty(be, self_shape, grad_output.dtype)
        be.pool.window_avg_backward_nhwc(nhwc(grad_output), face, h0, h1, w0, w1, div)
        return gx
    gy = _planes(grad_output)
    gx = be.empty(self_shape, grad_output.dtype)
    be.pool.window_avg_backward(gy, gx.reshape((-1,) + self_shape[-2:]), h0, h1, w0, w1, div)
    return gx


def _window_op(name: str, node_name: str) -> Op:
    return Op(name, ("self",), _window_forward, (
        lambda grad, self_shape, h0, h1, w0, w1, div: window_avg_backward(
            grad, h0=h0, h1=h1, w0=w0, w1=w1, div=div, self_shape=self_shape),
    ), node_name=node_name, meta=lambda self, h0, h1, w0, w1, div: _meta(
        self, self.shape[:-2] + (len(h0), len(w0)), self.dtype))


avg_pool2d = _window_op("avg_pool2d", "AvgPool2DBackward0")
adaptive_avg_pool2d = _window_op("adaptive_avg_pool2d", "AdaptiveAvgPool2DBackward0")

window_avg_backward = Op("window_avg_backward", ("grad_output",), _window_backward, (
    lambda grad, h0, h1, w0, w1, div: avg_pool2d(grad, h0=h0, h1=h1, w0=w0, w1=w1, div=div),
), meta=lambda grad_output, h0, h1, w0, w1, div, self_shape: _meta(grad_output, self_shape, grad_output.dtype))


def avg_pool_divisors(hp: np.ndarray, wp: np.ndarray, h: np.ndarray, w: np.ndarray,
                      count_include_pad: bool, divisor_override) -> np.ndarray:
    """The divisor of each output: the override, the padded window size, or the clipped one."""
    if divisor_override:
        return np.full((len(h), len(w)), float(divisor_override))
    if count_include_pad:
        return np.outer(hp, wp).astype(np.float64)
    return np.outer(h, w).astype(np.float64)
