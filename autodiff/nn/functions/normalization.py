"""Layer, batch, group and instance normalisation, composed of differentiable ops (so every order of
gradient works) with the statistics in the input's dtype."""

from __future__ import annotations

import numpy as np

from ...autograd.grad_mode import no_grad
from ...ops import elementwise as ew
from ...ops.layer_norm import fused_layer_norm
from ...tensor import Tensor
from ...formatting import size_repr


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalise over the trailing ``normalized_shape`` dims, then scale and shift."""
    shape = _normalized_shape(input, normalized_shape, {"weight": weight, "bias": bias}, "[*, ")
    k = len(shape)
    fused = fused_layer_norm(input, weight, bias, k, eps)  # one kernel each way where it applies
    if fused is not None:
        return fused
    dims = tuple(range(input.dim() - k, input.dim()))
    centered = input - input.mean(dim=dims, keepdim=True)
    var = (centered * centered).mean(dim=dims, keepdim=True)
    out = centered * ew.rsqrt(var + eps)
    if weight is not None:
        out = out * weight
    return out if bias is None else out + bias


def rms_norm(input: Tensor, normalized_shape, weight: Tensor | None = None, eps: float | None = None) -> Tensor:
    """``input / sqrt(mean(input**2) + eps) * weight`` over the trailing ``normalized_shape``
    dims; ``eps`` None is the machine epsilon of the input's dtype, as torch."""
    shape = _normalized_shape(input, normalized_shape, {"weight": weight}, "[*")
    if eps is None:
        eps = float(np.finfo(input.dtype.np).eps)
    dims = tuple(range(input.dim() - len(shape), input.dim()))
    out = input * ew.rsqrt((input * input).mean(dim=dims, keepdim=True) + eps)
    return out if weight is None else out * weight


def _normalized_shape(input: Tensor, normalized_shape, affine: dict, opening: str) -> tuple:
    """``normalized_shape`` as a tuple, checked against the input's trailing dims and the
    affine tensors' shapes (torch's messages; ``opening`` is how its message starts the
    expected shape: layer_norm's ``[*, 4]``, rms_norm's ``[*4]``)."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if input.dim() < k or input.shape[input.dim() - k:] != shape:
        raise RuntimeError(
            f"Given normalized_shape={list(shape)}, expected input with shape {opening}"
            f"{', '.join(map(str, shape))}], but got input of size{list(input.shape)}")
    for name, t in affine.items():
        if t is not None and tuple(t.shape) != shape:
            raise RuntimeError(f"Expected {name} to be of same shape as normalized_shape, but got {name} "
                               f"of shape {list(t.shape)} and normalized_shape = {list(shape)}")
    return shape


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise each channel (dim 1) over the batch and spatial dims. In training the
    batch statistics are used and the running ones updated in place
    (``running = (1 - momentum) * running + momentum * batch``, the variance unbiased);
    in evaluation the running statistics are used."""
    if input.dim() < 2:
        raise ValueError(f"expected at least 2D input (got {input.dim()}D input)")
    C = input.shape[1]
    dims = (0,) + tuple(range(2, input.dim()))
    bshape = (1, C) + (1,) * (input.dim() - 2)
    if training:
        count = input.numel() // max(C, 1)
        if count <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input size "
                             f"{size_repr(input.shape)}")
        mean = input.mean(dim=dims, keepdim=True)
        centered = input - mean
        var = (centered * centered).mean(dim=dims, keepdim=True)
        if running_mean is not None:
            with no_grad():
                running_mean.mul_(1 - momentum).add_(mean.reshape(C) * momentum)
        if running_var is not None:
            with no_grad():
                running_var.mul_(1 - momentum).add_(var.reshape(C) * (momentum * count / (count - 1)))
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError("running_mean and running_var must be defined in evaluation mode")
        centered = input - running_mean.reshape(bshape)
        var = running_var.reshape(bshape)
    out = centered * ew.rsqrt(var + eps)
    if weight is not None:
        out = out * weight.reshape(bshape)
    return out if bias is None else out + bias.reshape(bshape)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalise each group of ``C // num_groups`` channels of every sample over its
    channels and spatial dims, then scale and shift per channel."""
    if input.dim() < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received {input.dim()}")
    n, c = input.shape[:2]
    if num_groups <= 0 or c % num_groups:
        raise RuntimeError("Expected number of channels in input to be divisible by num_groups, but got "
                           f"input of shape {list(input.shape)} and num_groups={num_groups}")
    grouped = input.reshape(n, num_groups, -1)
    centered = grouped - grouped.mean(dim=2, keepdim=True)
    var = (centered * centered).mean(dim=2, keepdim=True)
    out = (centered * ew.rsqrt(var + eps)).reshape(input.shape)
    bshape = (1, c) + (1,) * (input.dim() - 2)
    if weight is not None:
        out = out * weight.reshape(bshape)
    return out if bias is None else out + bias.reshape(bshape)


def instance_norm(input: Tensor, running_mean: Tensor | None = None, running_var: Tensor | None = None,
                  weight: Tensor | None = None, bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise each channel of every sample over its spatial dims: batch normalisation of
    the input seen as one sample of ``N * C`` channels (as PyTorch computes it). Running
    statistics, when given, are updated with the mean over the batch of the per-instance
    statistics."""
    if input.dim() < 3:
        raise ValueError(f"expected at least 3D input (got {input.dim()}D input)")
    n, c = input.shape[:2]
    if use_input_stats and input.numel() // max(n * c, 1) <= 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input size {size_repr(input.shape)}")
    shaped = input.reshape((1, n * c) + input.shape[2:])
    repeated = [t.repeat(n) if t is not None else None for t in (running_mean, running_var, weight, bias)]
    out = batch_norm(shaped, repeated[0], repeated[1], repeated[2], repeated[3], use_input_stats, momentum, eps)
    if use_input_stats:
        with no_grad():
            for running, stats in ((running_mean, repeated[0]), (running_var, repeated[1])):
                if running is not None:
                    running.copy_(stats.reshape(n, c).mean(dim=0))
    return out.reshape(input.shape)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out=None) -> Tensor:
    """``input / max(||input||_p, eps)`` along ``dim``."""
    norm = input.norm(p=p, dim=dim, keepdim=True)
    return input / ew.clamp_min(norm, eps)
