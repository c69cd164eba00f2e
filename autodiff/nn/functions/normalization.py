"""Layer and batch normalisation, composed of differentiable ops (so every order of
gradient works) with the statistics in the input's dtype."""

from __future__ import annotations

from ...autograd.grad_mode import no_grad
from ...ops import elementwise as ew
from ...tensor import Tensor
from ...formatting import size_repr


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalise over the trailing ``normalized_shape`` dims, then scale and shift."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if input.dim() < k or input.shape[input.dim() - k:] != shape:
        raise RuntimeError(
            f"Given normalized_shape={list(shape)}, expected input with shape [*, "
            f"{', '.join(map(str, shape))}], but got input of size{list(input.shape)}")
    dims = tuple(range(input.dim() - k, input.dim()))
    centered = input - input.mean(dim=dims, keepdim=True)
    var = (centered * centered).mean(dim=dims, keepdim=True)
    out = centered * ew.rsqrt(var + eps)
    if weight is not None:
        out = out * weight
    return out if bias is None else out + bias


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


