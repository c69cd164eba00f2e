"""``interpolate`` (nearest, nearest-exact, linear, bilinear, bicubic, trilinear, area;
``antialias=True`` for bilinear and bicubic), ``pixel_shuffle`` and ``pixel_unshuffle``.

Interpolation is separable: each spatial dim is resampled by the ops of
``ops.resampling`` with a table of taps (source indices and weights) per output position,
computed here the way PyTorch computes its source positions (``align_corners``, a given
``scale_factor`` used as is unless ``recompute_scale_factor``): nearest has one tap,
linear two, cubic four (Keys' kernel with a = -0.75, indices clamped to the edge).
Antialiasing widens the linear or cubic filter (a = -0.5) by the downscale factor and
normalises each output's weights, as torch (and PIL) do.
Pixel (un)shuffle are reshapes and a permutation.
"""

from __future__ import annotations

import math

import numpy as np

from ...ops.resampling import upsample_op
from ...tensor import Tensor
from .pooling import adaptive_avg_pool2d

_SPATIAL = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}
_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area")
# torch's backward node names by (mode, spatial dims)
_NODE = {"nearest": "UpsampleNearest{}D", "nearest-exact": "UpsampleNearestExact{}D", "linear": "UpsampleLinear1D",
         "bilinear": "UpsampleBilinear2D", "bicubic": "UpsampleBicubic2D", "trilinear": "UpsampleTrilinear3D"}


def _scale(n_in: int, n_out: int, align_corners: bool, scale_factor: float | None) -> float:
    """PyTorch's source-index scale for one dim."""
    if align_corners:
        return (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    return 1.0 / scale_factor if scale_factor is not None and scale_factor > 0 else n_in / n_out


def _nearest_table(n_in: int, n_out: int, scale: float, exact: bool) -> tuple:
    dst = np.arange(n_out, dtype=np.float32)
    src = np.floor(((dst + np.float32(0.5)) if exact else dst) * np.float32(scale))
    i0 = np.minimum(src.astype(np.int64), n_in - 1)
    return i0[:, None], np.ones((n_out, 1))


def _source(n_out: int, scale: float, align_corners: bool, clamp: bool) -> np.ndarray:
    """Source positions of the outputs; half-pixel ones below 0 clamp to 0 for linear, not cubic."""
    dst = np.arange(n_out, dtype=np.float64)
    if align_corners:
        return dst * scale
    src = scale * (dst + 0.5) - 0.5
    return np.maximum(src, 0.0) if clamp else src


def _linear_table(n_in: int, n_out: int, scale: float, align_corners: bool) -> tuple:
    src = _source(n_out, scale, align_corners, True)
    i0 = np.minimum(src.astype(np.int64), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    w1 = src - i0
    return np.stack([i0, i1], 1), np.stack([1.0 - w1, w1], 1)


def _cubic(x: np.ndarray, a: float) -> np.ndarray:
    """Keys' cubic convolution kernel at distances x."""
    x = np.abs(x)
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return np.where(x < 1, near, np.where(x < 2, far, 0.0))


def _cubic_table(n_in: int, n_out: int, scale: float, align_corners: bool) -> tuple:
    src = _source(n_out, scale, align_corners, False)
    base = np.floor(src)
    taps = base[:, None] + np.arange(-1, 3)
    return np.clip(taps, 0, n_in - 1).astype(np.int64), _cubic(src[:, None] - taps, -0.75)


def _antialias_table(n_in: int, n_out: int, scale: float, cubic: bool) -> tuple:
    """Filter taps widened by the downscale factor, normalised per output (torch's ``_aa`` kernels)."""
    support = (2.0 if cubic else 1.0) * max(scale, 1.0)
    inv = 1.0 / scale if scale >= 1.0 else 1.0
    taps = int(math.ceil(support)) * 2 + 1
    center = scale * (np.arange(n_out) + 0.5)
    lo = np.maximum((center - support + 0.5).astype(np.int64), 0)
    hi = np.minimum((center + support + 0.5).astype(np.int64), n_in)
    idx = lo[:, None] + np.arange(taps)
    dist = (idx - center[:, None] + 0.5) * inv
    w = _cubic(dist, -0.5) if cubic else np.maximum(1.0 - np.abs(dist), 0.0)
    w = np.where(idx < hi[:, None], w, 0.0)
    total = w.sum(1, keepdims=True)
    w = np.divide(w, total, out=np.zeros_like(w), where=total != 0)
    return np.minimum(idx, n_in - 1), w


def _table(mode: str, n_in: int, n_out: int, factor, align_corners: bool, antialias: bool) -> tuple:
    if mode.startswith("nearest"):
        return _nearest_table(n_in, n_out, _scale(n_in, n_out, False, factor), mode == "nearest-exact")
    scale = _scale(n_in, n_out, align_corners, factor)
    if antialias:
        return _antialias_table(n_in, n_out, scale, mode == "bicubic")
    return (_cubic_table if mode == "bicubic" else _linear_table)(n_in, n_out, scale, align_corners)


def _output_size(input: Tensor, size, scale_factor, dims: int) -> tuple:
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is None and scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    spatial = input.shape[2:]
    if size is not None:
        sizes = tuple(size) if isinstance(size, (tuple, list)) else (size,) * dims
        if len(sizes) != dims:
            raise ValueError(f"Input and output must have the same number of spatial dimensions, but got "
                             f"input with spatial dimensions of {list(spatial)} and output size of "
                             f"{list(sizes)}. Please provide input tensor in (N, C, d1, d2, ...,dK) format "
                             "and output size in (o1, o2, ...,oK) format.")
        return tuple(int(s) for s in sizes), (None,) * dims
    factors = tuple(scale_factor) if isinstance(scale_factor, (tuple, list)) else (scale_factor,) * dims
    if len(factors) != dims:
        raise ValueError(f"Input and scale_factor must have the same number of spatial dimensions, but got "
                         f"input with spatial dimensions of {list(spatial)} and scale_factor of shape "
                         f"{list(factors)}. Please provide input tensor in (N, C, d1, d2, ...,dK) format "
                         "and scale_factor in (s1, s2, ...,sK) format.")
    return tuple(math.floor(n * f) for n, f in zip(spatial, factors)), tuple(float(f) for f in factors)


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Resize the spatial dims of ``(N, C, *spatial)`` input to ``size`` or by ``scale_factor``."""
    if mode not in _MODES:
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got "
                                  f"{input.dim()}D) for the modes: nearest | linear | bilinear | bicubic | "
                                  f"trilinear | area | nearest-exact (got {mode})")
    if mode in ("nearest", "nearest-exact", "area") and align_corners is not None:
        raise ValueError("align_corners option can only be set with the interpolating modes: "
                         "linear | bilinear | bicubic | trilinear")
    dims = input.dim() - 2
    if not 1 <= dims <= 3:
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got "
                                  f"{input.dim()}D) for the modes: nearest | linear | bilinear | bicubic | "
                                  f"trilinear | area | nearest-exact (got {mode})")
    if antialias and not (mode in ("bilinear", "bicubic") and dims == 2):
        raise ValueError("Anti-alias option is restricted to bilinear and bicubic modes and requires a 4-D "
                         "tensor as input")
    if mode in _SPATIAL and _SPATIAL[mode] != dims:
        raise NotImplementedError(f"Got {input.dim()}D input, but {mode} mode needs {_SPATIAL[mode] + 2}D input")
    out_size, factors = _output_size(input, size, scale_factor, dims)
    if recompute_scale_factor:
        factors = (None,) * dims
    if mode == "area":
        if dims != 2:
            raise NotImplementedError("interpolate: mode='area' is supported for 4-D input only")
        return adaptive_avg_pool2d(input, out_size)
    for n_out in out_size:
        if n_out <= 0:
            raise RuntimeError(f"Input and output sizes should be greater than 0, but got input "
                               f"({', '.join(map(str, input.shape[2:]))}) and output "
                               f"({', '.join(map(str, out_size))})")
    tables = tuple(_table(mode, n_in, n_out, f, bool(align_corners), antialias)
                   for n_in, n_out, f in zip(input.shape[2:], out_size, factors))
    return upsample_op(_NODE[mode].format(dims) + ("Aa" if antialias else ""))(input, tables=tables)


def upsample(input: Tensor, size=None, scale_factor=None, mode: str = "nearest", align_corners=None) -> Tensor:
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size=None, scale_factor=None) -> Tensor:
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size=None, scale_factor=None) -> Tensor:
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """``(*, C * r**2, H, W)`` to ``(*, C, H * r, W * r)``."""
    r = upscale_factor
    if input.dim() < 3:
        raise RuntimeError(f"pixel_shuffle expects input to have at least 3 dimensions, but got input "
                           f"with {input.dim()} dimension(s)")
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError("pixel_shuffle expects its input's 'channel' dimension to be divisible by the "
                           f"square of upscale_factor, but input.size(-3)={c} is not divisible by {r * r}")
    n = len(lead)
    x = input.reshape(tuple(lead) + (c // (r * r), r, r, h, w))
    x = x.permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)
    return x.reshape(tuple(lead) + (c // (r * r), h * r, w * r))


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """``(*, C, H * r, W * r)`` to ``(*, C * r**2, H, W)``: the inverse of pixel_shuffle."""
    r = downscale_factor
    if input.dim() < 3:
        raise RuntimeError(f"pixel_unshuffle expects input to have at least 3 dimensions, but got input "
                           f"with {input.dim()} dimension(s)")
    *lead, c, h, w = input.shape
    for name, size, d in (("height", h, -2), ("width", w, -1)):
        if size % r:
            raise RuntimeError(f"pixel_unshuffle expects {name} to be divisible by downscale_factor, but "
                               f"input.size({d})={size} is not divisible by {r}")
    n = len(lead)
    x = input.reshape(tuple(lead) + (c, h // r, r, w // r, r))
    x = x.permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)
    return x.reshape(tuple(lead) + (c * r * r, h // r, w // r))
