"""``autodiff.nn.functional``: activations here; layers and losses from ``autodiff/nn/functions/``."""

from __future__ import annotations

import math

from ..ops import elementwise as ew
from ..ops.indexing import one_hot  # noqa: F401
from ..ops.joining import pad  # noqa: F401
from ..ops.reduction import log_softmax as _log_softmax, softmax as _softmax
from .functions.conv import conv1d, conv2d  # noqa: F401
from .functions.dropout import dropout  # noqa: F401
from .functions.linear import bilinear, linear  # noqa: F401
from .functions.loss import (binary_cross_entropy, binary_cross_entropy_with_logits,  # noqa: F401
                             cross_entropy, huber_loss, kl_div, l1_loss, mse_loss, nll_loss,
                             smooth_l1_loss)
from .functions.normalization import batch_norm, layer_norm  # noqa: F401
from .functions.pooling import adaptive_avg_pool2d, avg_pool2d, max_pool2d  # noqa: F401
from .functions.sparse import embedding  # noqa: F401
from ..tensor import Tensor


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    return ew.relu.apply_(input) if inplace else ew.relu(input)


def sigmoid(input: Tensor) -> Tensor:
    return ew.sigmoid(input)


def tanh(input: Tensor) -> Tensor:
    return ew.tanh(input)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x) (exact, one fused kernel), or the tanh approximation when asked."""
    if approximate == "none":
        return ew.gelu(input)
    if approximate == "tanh":
        inner = (input + input * input * input * 0.044715) * math.sqrt(2 / math.pi)
        return input * 0.5 * (ew.tanh(inner) + 1)
    raise RuntimeError(f"approximate argument must be either none or tanh, got {approximate!r}")


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    return ew.silu.apply_(input) if inplace else ew.silu(input)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta * x)) / beta, linear where beta * x > threshold (for stability)."""
    return ew.softplus(input, beta, threshold)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x where x > 0, else negative_slope * x."""
    return ew.leaky_relu.apply_(input, negative_slope) if inplace else ew.leaky_relu(input, negative_slope)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x where x > 0, else alpha * (exp(x) - 1)."""
    return ew.elu.apply_(input, alpha) if inplace else ew.elu(input, alpha)


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    return _softmax(input, dim, dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    return _log_softmax(input, dim, dtype)

# transposed convolution, resizing, channel dropout, group and instance normalisation
from .functions.conv import conv_transpose1d, conv_transpose2d  # noqa: E402, F401
from .functions.dropout import dropout1d, dropout2d, dropout3d  # noqa: E402, F401
from .functions.normalization import group_norm, instance_norm, rms_norm  # noqa: E402, F401
from .functions.upsampling import (interpolate, pixel_shuffle, pixel_unshuffle, upsample,  # noqa: E402, F401
                                   upsample_bilinear, upsample_nearest)

from ..ops.attention import scaled_dot_product_attention  # noqa: E402, F401
