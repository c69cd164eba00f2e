"""Softmax cross-entropy as one fused op (see ``kernels/cpu/loss.py`` for the math).

``cross_entropy(self, target, weight)`` returns the unreduced loss, shape ``self.shape``
without the class dim 1; ``autodiff.nn.functional.cross_entropy`` reduces it. ``target``
holds class indices (int64, no class dim) or class probabilities (``self``'s shape,
differentiable). Its backward is ``cross_entropy_backward``, one kernel computing
``g * (softmax(x) * sum(q) - q)``; that op's own rules are written with differentiable
ops (softmax, sums) so higher-order gradients work.
"""

from __future__ import annotations

import math

import numpy as np

from .. import backends
from ..backends import backend_of
from ..backends.meta import MetaArray

from ..tensor import Tensor
from .op import Op


def _logits(x: np.ndarray) -> np.ndarray:
    """(N, C, d1, ...) as a C-contiguous (N, C, B) array."""
    x = x if x.flags.c_contiguous else backends.copy(x)
    return x.reshape(x.shape[0], x.shape[1], math.prod(x.shape[2:]))  # not -1: N or C may be 0


def class_weights(weight: np.ndarray | None, C: int) -> np.ndarray:
    """The per-class weights as float64 (ones when None)."""
    if weight is None:
        return np.ones(C)
    return weight if weight.dtype == np.float64 else backends.copy(weight, np.float64)


def _kernel(name: str, x: np.ndarray):
    """The serial or parallel variant of the backend's loss kernel, by the number of logits."""
    loss = backend_of(x).loss
    return getattr(loss, name + "_par" if x.size >= loss.PARALLEL_MIN else name)


def _is_indices(target: np.ndarray) -> bool:
    return target.dtype.kind in "iu"


def _forward(self, target, weight, ignore_index=-100, label_smoothing=0.0):
    x = _logits(self)
    N, C, B = x.shape
    w = class_weights(weight, C)
    out = backend_of(x).empty((N, B), self.dtype)
    if _is_indices(target):
        _kernel("cross_entropy_indices", x)(x, _contig_targets(target, N, B), w, ignore_index, label_smoothing, out)
    else:
        _kernel("cross_entropy_probs", x)(x, _logits(target), w, label_smoothing, out)
    return out.reshape(self.shape[:1] + self.shape[2:])


def _backward_forward(grad_output, self, target, weight, ignore_index=-100, label_smoothing=0.0):
    x = _logits(self)
    N, C, B = x.shape
    w = class_weights(weight, C)
    g = grad_output if grad_output.flags.c_contiguous else backends.copy(grad_output)
    g = g.reshape(N, B)
    out = backend_of(x).empty(x.shape, self.dtype)
    if _is_indices(target):
        _kernel("cross_entropy_indices_backward", x)(x, _contig_targets(target, N, B), w, ignore_index,
                                                     label_smoothing, g, out)
    else:
        _kernel("cross_entropy_probs_backward", x)(x, _logits(target), w, label_smoothing, g, out)
    return out.reshape(self.shape)


def _contig_targets(target: np.ndarray, N: int, B: int) -> np.ndarray:
    t = target if target.flags.c_contiguous and target.dtype == np.int64 else backends.copy(target, np.int64)
    return t.reshape(N, B)


def target_distribution(self: Tensor, target: Tensor, weight: Tensor | None, ignore_index: int,
                        label_smoothing: float) -> Tensor:
    """The weighted target distribution q, shaped like the logits ``self``: a constant for
    class indices, a differentiable function of the probabilities otherwise."""
    C = self.shape[1]
    bshape = (C,) + (1,) * (self.dim() - 2)
    if not _is_indices(target._data):
        q = target * (1 - label_smoothing) + label_smoothing / C
        return q if weight is None else q * weight.reshape(bshape).to(self.dtype)
    N, B = self.shape[0], int(np.prod(self.shape[2:], dtype=np.int64))
    be = backend_of(self._data)
    if not be.computes:  # built from the target values: on meta, its metadata only
        return Tensor._make(MetaArray(self.shape, self._data.dtype))
    out = be.empty((N, C, B), self._data.dtype)
    be.loss.target_distribution(_contig_targets(target._data, N, B),
                           class_weights(None if weight is None else weight._data, C),
                           ignore_index, label_smoothing, out)
    return Tensor._make(out.reshape(self.shape))


def _grad_target(grad, self, weight, label_smoothing=0.0):
    """d loss / d probabilities = -(1 - eps) * w * log_softmax(x) * g."""
    g = -(1 - label_smoothing) * grad.unsqueeze(1) * self.log_softmax(1)
    return g if weight is None else g * weight.reshape((-1,) + (1,) * (self.dim() - 2)).to(self.dtype)


cross_entropy = Op("cross_entropy", ("self", "target", "weight"), _forward, (
    lambda grad, self, target, weight, ignore_index=-100, label_smoothing=0.0: cross_entropy_backward(
        grad, self, target, weight, ignore_index=ignore_index, label_smoothing=label_smoothing),
    _grad_target,
), meta=lambda self, target, weight, ignore_index=-100, label_smoothing=0.0: MetaArray(
    self.shape[:1] + self.shape[2:], self.dtype))


def _bw_grad_self(grad, grad_output, self, target, weight, ignore_index=-100, label_smoothing=0.0):
    # d/dx <v, g * (p * s - q)> = softmax_backward(p, v * g * s)
    s = target_distribution(self, target, weight, ignore_index, label_smoothing).sum(dim=1, keepdim=True)
    p = self.softmax(1)
    u = p * grad * (grad_output.unsqueeze(1) * s)
    return u - p * u.sum(dim=1, keepdim=True)


def _bw_grad_output(grad, self, target, weight, ignore_index=-100, label_smoothing=0.0):
    q = target_distribution(self, target, weight, ignore_index, label_smoothing)
    return (grad * (self.softmax(1) * q.sum(dim=1, keepdim=True) - q)).sum(dim=1)


def _bw_grad_target(grad, grad_output, self, weight, label_smoothing=0.0):
    # q = w * ((1 - eps) * y + eps / C); d/dq <v, g * (p * sum(q) - q)> = g * (sum(v * p) - v)
    gq = grad_output.unsqueeze(1) * ((grad * self.softmax(1)).sum(dim=1, keepdim=True) - grad)
    gq = gq * (1 - label_smoothing)
    return gq if weight is None else gq * weight.reshape((-1,) + (1,) * (self.dim() - 2)).to(self.dtype)


cross_entropy_backward = Op("cross_entropy_backward", ("grad_output", "self", "target", "weight"),
                            _backward_forward, (_bw_grad_output, _bw_grad_self, _bw_grad_target),
                            meta=lambda grad_output, self, *rest, **params: MetaArray(self.shape, self.dtype))
