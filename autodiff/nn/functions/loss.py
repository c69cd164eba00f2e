"""Loss functions, as torch.nn.functional. Cross-entropy is one fused op
(``autodiff/ops/cross_entropy.py``); the others are composed of differentiable ops."""

from __future__ import annotations

import warnings

import numpy as np

from ... import backends
from ...backends.meta import MetaArray

from ...ops import cross_entropy as ce
from ...autograd.grad_mode import no_grad
from ...ops import elementwise as ew
from ...ops.op import Op
from ...tensor import Tensor
from ...formatting import size_repr
from ._args import check_reduction, legacy_reduction


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    check_reduction(reduction)
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.mean()


def _targets(target: Tensor) -> np.ndarray:
    t = target._data
    return t if t.flags.c_contiguous else backends.copy(t)


def _check_targets(input: Tensor, target: Tensor, ignore_index: int, weight: Tensor | None) -> None:
    """Class-index targets in torch's order: batch size (a 0-d target counts as 0), dtype,
    batch and spatial shape, the class weight's length, values in [0, C) or ignore_index."""
    batch = target.shape[0] if target.dim() else 0
    if batch != input.shape[0]:
        raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target batch_size ({batch}).")
    if target.dtype.name not in ("int64", "uint8"):
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got {target.dtype.scalar_name}")
    if target.dim() == 0:
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    if target.shape != input.shape[:1] + input.shape[2:]:
        raise RuntimeError(f"Expected target size {list(input.shape[:1] + input.shape[2:])}, got "
                           f"{list(target.shape)}")
    _check_weight(input, weight)
    t = _targets(target)
    be = backends.backend_of(t)
    if not be.computes:  # the values are not there to check (as in PyTorch on meta)
        return
    bad = be.loss.first_bad_target(t, input.shape[1], ignore_index)
    if bad != ignore_index:
        raise IndexError(f"Target {bad} is out of bounds.")


def _index_reduce(loss: Tensor, input: Tensor, target: Tensor, weight: Tensor | None, ignore_index: int,
                  reduction: str) -> Tensor:
    """Reduce class-index losses: the mean divides by the summed weights of the counted targets."""
    if reduction != "mean":
        return _reduce(loss, reduction)
    w = ce.class_weights(None if weight is None else weight._data, input.shape[1])
    t = _targets(target)
    be = backends.backend_of(t)
    if not be.computes:  # a 0-d result whose divisor depends on the values
        return loss.sum()
    return loss.sum() / be.loss.target_weight_sum(t, w, ignore_index)


def _check_weight(input: Tensor, weight: Tensor | None) -> None:
    if weight is not None and weight.shape != (input.shape[1],):
        raise RuntimeError(f"weight tensor should be defined either for all {input.shape[1]} classes or no "
                           f"classes but got weight tensor of shape: {list(weight.shape)}")


def _unbatched(loss: Tensor, unbatched: bool, reduction: str) -> Tensor:
    """The unreduced loss of an unbatched (C,) input is 0-d, as torch's."""
    return loss.squeeze(0) if unbatched and reduction == "none" else loss


def _batched(input: Tensor, target: Tensor):
    """Unbatched (C,) input: add the batch dim to input and target."""
    if input.dim() == 1:
        return input.unsqueeze(0), target.unsqueeze(0)
    return input, target


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
                  ignore_index: int = -100, reduce=None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy of logits ``input`` (N, C, ...) against class indices (N, ...)
    or class probabilities (input's shape), with class ``weight``, ``ignore_index`` and
    ``label_smoothing``; one fused, max-shifted kernel, finite for logits of any size."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    check_reduction(reduction)
    if label_smoothing > 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    label_smoothing = max(label_smoothing, 0.0)  # torch smooths only when it is positive
    is_indices = target.shape != input.shape  # torch's rule: the shapes decide, then the dtype
    if not is_indices and not target.dtype.is_floating_point:
        raise RuntimeError(f"Expected floating point type for target with class probabilities, got "
                           f"{target.dtype.scalar_name}")
    unbatched = input.dim() == 1
    input, target = _batched(input, target)
    if is_indices:
        _check_targets(input, target, ignore_index, weight)
        loss = ce.cross_entropy(input, target, weight, ignore_index=ignore_index,
                                label_smoothing=label_smoothing)
        return _unbatched(_index_reduce(loss, input, target, weight, ignore_index, reduction), unbatched,
                          reduction)
    if ignore_index >= 0:
        raise RuntimeError("ignore_index is not supported for floating point target")
    _check_weight(input, weight)
    loss = ce.cross_entropy(input, target, weight, label_smoothing=label_smoothing)
    return _unbatched(_reduce(loss, reduction), unbatched, reduction)


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
             ignore_index: int = -100, reduce=None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities ``input`` (N, C, ...) at class indices."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    check_reduction(reduction)
    unbatched = input.dim() == 1
    input, target = _batched(input, target)
    _check_targets(input, target, ignore_index, weight)
    q = ce.target_distribution(input, target, weight, ignore_index, 0.0)
    # only the target classes count (as torch's gather): a -inf log-probability of another
    # class, or a zero total weight in the mean's backward, must not make NaN there
    picked = q if weight is None else ce.target_distribution(input, target, None, ignore_index, 0.0)
    loss = -ew.where(picked != 0, input * q, 0.0).sum(dim=1)
    return _unbatched(_index_reduce(loss, input, target, weight, ignore_index, reduction), unbatched, reduction)


def _check_same_size(input: Tensor, target: Tensor) -> None:
    if target.shape != input.shape:
        warnings.warn(
            f"Using a target size ({size_repr(target.shape)}) that is different to the input size "
            f"({size_repr(input.shape)}). This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size.", stacklevel=3)




def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
             weight: Tensor | None = None) -> Tensor:
    """Mean squared error."""
    _check_same_size(input, target)
    loss = ew.square(input - target)
    return _reduce(loss if weight is None else loss * weight, legacy_reduction(size_average, reduce, reduction))


def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
            weight: Tensor | None = None) -> Tensor:
    """Mean absolute error."""
    _check_same_size(input, target)
    loss = ew.abs(input - target)
    return _reduce(loss if weight is None else loss * weight, legacy_reduction(size_average, reduce, reduction))


def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
                   beta: float = 1.0) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (the L1 loss when beta is 0)."""
    _check_same_size(input, target)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    diff = input - target
    loss = ew.abs(diff) if beta == 0 else _smooth_l1(diff, beta=beta)
    return _reduce(loss, legacy_reduction(size_average, reduce, reduction))


def _smooth_l1_forward(diff, beta: float):
    d = ew.abs(Tensor._make(diff))
    q = ew.clamp_max(d, beta)
    return ew.where(d < beta, q * q * (0.5 / beta), d - 0.5 * beta)._data


# the elementwise loss of a difference as one op, so that its gradient is PyTorch's
# clamp(d / beta, -1, 1): finite at |d| = inf, NaN where d is NaN (inf - inf)
_smooth_l1 = Op("smooth_l1", ("self",), _smooth_l1_forward,
                (lambda grad, self, beta: grad * ew.clamp(self / beta, -1.0, 1.0),),
                meta=lambda diff, beta: MetaArray(diff.shape, diff.dtype))


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    """0.5 d^2 where |d| < delta, else delta * (|d| - 0.5 delta)."""
    _check_same_size(input, target)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    loss = _smooth_l1(input - target, beta=delta) * delta  # huber is delta * smooth_l1 with beta = delta
    return _reduce(loss if weight is None else loss * weight, reduction)


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
                         reduce=None, reduction: str = "mean") -> Tensor:
    """-(y log x + (1 - y) log(1 - x)) of probabilities x, the logs clamped at -100 (as PyTorch)."""
    if target.shape != input.shape:
        raise ValueError(
            f"Using a target size ({size_repr(target.shape)}) that is different to the input size "
            f"({size_repr(input.shape)}) is deprecated. Please ensure they have the same size.")
    if input.numel() and input.device.type != "meta" and not bool(((input >= 0) & (input <= 1)).all()):
        raise RuntimeError("all elements of input should be between 0 and 1")
    loss = _bce(input, target)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, legacy_reduction(size_average, reduce, reduction))


def _bce_forward(input, target):
    x, y = Tensor._make(input), Tensor._make(target)
    with no_grad():
        loss = -(y * ew.clamp_min(ew.log(x), -100.0) + (1 - y) * ew.clamp_min(ew.log(1 - x), -100.0))
    return loss._data


# the elementwise loss as one op, so its gradient is PyTorch's finite one at x = 0 and 1:
# (x - y) / max(x (1 - x), 1e-12), and d/dy = log(1 - x) - log(x) with the logs clamped
_bce = Op("binary_cross_entropy", ("input", "target"), _bce_forward, (
    lambda grad, input, target: grad * (input - target) / ew.clamp_min((1 - input) * input, 1e-12),
    lambda grad, input: grad * (ew.clamp_min(ew.log(1 - input), -100.0) - ew.clamp_min(ew.log(input), -100.0)),
), meta=lambda input, target: MetaArray(input.shape, input.dtype))


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     size_average=None, reduce=None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """Sigmoid + binary cross-entropy, stably: (1 - y) x + (1 + (pw - 1) y) softplus(-x)."""
    if target.shape != input.shape:
        raise ValueError(f"Target size ({size_repr(target.shape)}) must be the same as input size "
                         f"({size_repr(input.shape)})")
    log_sig = ew.softplus(-input, 1.0, 20.0)
    if pos_weight is not None:
        log_sig = log_sig * ((pos_weight - 1) * target + 1)
    loss = (1 - target) * input + log_sig
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, legacy_reduction(size_average, reduce, reduction))


def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
           log_target: bool = False) -> Tensor:
    """KL(target || exp(input)) pointwise: target * (log target - input), 0 where target is 0."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    check_reduction(reduction)
    if log_target:
        loss = ew.exp(target) * (target - input)
    else:
        loss = target * ew.log(ew.where(target > 0, target, 1.0)) - target * input
    if reduction == "batchmean":
        return loss.sum() / (input.shape[0] if input.dim() else 1)
    if reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the support "
                      "size.'batchmean' divides only by the batch size, and aligns with the KL div math "
                      "definition.'mean' will be changed to behave the same as 'batchmean' in the next "
                      "major release.", stacklevel=2)
    return _reduce(loss, reduction)
