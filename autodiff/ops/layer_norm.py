"""``layer_norm`` as one fused op: the backend's ``norm`` kernels, one pass forward and one
backward (see ``kernels/cpu/norm.py``), instead of the composed formula's dozen ops.

The node is named as torch's, ``NativeLayerNormBackward0``; it keeps the input, weight
and the per-row mean and ``1/std`` of the forward. When the backward itself is recorded
(``create_graph=True``) it computes the gradients with differentiable autodiff ops
(``_math_vjp``: the statistics recomputed, then the same formulas), so higher orders work.
``layer_norm`` in ``nn/functions/normalization.py`` calls ``fused_layer_norm`` where it
applies (a backend with ``norm`` kernels, float32/float64, a non-empty input) and keeps the
composed formula otherwise.
"""

from __future__ import annotations

import math

from ..autograd.function import Function, FunctionCtx
from ..autograd.grad_mode import is_grad_enabled
from ..backends import backend_of
from ..tensor import Tensor
from . import elementwise as ew


def _rows(data, k: int):
    """``data`` as a C-contiguous (rows, normalized size) array (a copy where the layout needs one)."""
    n = math.prod(data.shape[data.ndim - k:])
    if not data.flags.c_contiguous:
        data = backend_of(data).copy(data)
    return data.reshape(-1, n)


class _LayerNorm(Function):
    """The fused op; inputs (input, weight or None, bias or None), parameters (k, eps)."""

    profile_name = "autodiff::layer_norm"

    @staticmethod
    def forward(ctx, input, weight, bias, k, eps):
        x = _rows(input._data, k)
        be = backend_of(x)
        R, N = x.shape
        out = be.empty((R, N), x.dtype)
        mean, rstd = be.empty(R, "float64"), be.empty(R, "float64")
        w = weight._data.reshape(N) if weight is not None else x[:0].reshape(0)
        b = bias._data.reshape(N) if bias is not None else x[:0].reshape(0)
        w, b = (a if a.flags.c_contiguous else be.copy(a) for a in (w, b))
        be.norm.layer_norm(x, w, b, weight is not None, bias is not None, eps, out, mean, rstd)
        ctx.params, ctx.stats = (k, eps), (mean, rstd)
        ctx.save_for_backward(input, weight, bias)
        return Tensor._make(out.reshape(input.shape))

    @staticmethod
    def backward(ctx, grad):
        input, weight, bias = ctx.saved_tensors
        k, eps = ctx.params
        if is_grad_enabled():  # create_graph: differentiable ops, so the gradients have gradients
            return _math_vjp(grad, input, weight, bias, k, eps) + (None, None)
        x, g = _rows(input._data, k), _rows(grad._data, k)
        be = backend_of(x)
        N = x.shape[1]
        w = _rows(weight._data, k).reshape(N) if weight is not None else x[:0].reshape(0)
        dx = be.empty(x.shape, x.dtype)
        dw, db = be.empty(N, x.dtype), be.empty(N, x.dtype)
        be.norm.layer_norm_backward(x, w, weight is not None, *ctx.stats, g, dx, dw, db)
        shape = input.shape[input.dim() - k:]
        return (Tensor._make(dx.reshape(input.shape)),
                Tensor._make(dw.reshape(shape)) if weight is not None else None,
                Tensor._make(db.reshape(shape)) if bias is not None else None, None, None)


_LayerNorm._backward_cls = type("NativeLayerNormBackward0", (FunctionCtx,), {"__slots__": (), "_fn": _LayerNorm})


def _math_vjp(grad: Tensor, input: Tensor, weight, bias, k: int, eps: float) -> tuple:
    """(d input, d weight, d bias) of layer_norm, with differentiable ops."""
    dims = tuple(range(input.dim() - k, input.dim()))
    centered = input - input.mean(dim=dims, keepdim=True)
    rstd = ew.rsqrt((centered * centered).mean(dim=dims, keepdim=True) + eps)
    xhat = centered * rstd
    gw = grad * weight if weight is not None else grad
    d_input = rstd * (gw - gw.mean(dim=dims, keepdim=True) - xhat * (gw * xhat).mean(dim=dims, keepdim=True))
    lead = tuple(range(input.dim() - k))

    def rows_sum(t: Tensor) -> Tensor:
        return t.sum(dim=lead) if lead else t

    return (d_input, rows_sum(grad * xhat) if weight is not None else None,
            rows_sum(grad) if bias is not None else None)


def fused_layer_norm(input: Tensor, weight: Tensor | None, bias: Tensor | None, k: int, eps: float):
    """layer_norm over the last ``k`` dims by the fused kernels, or None where they do not
    apply (then the caller composes it)."""
    be = backend_of(input._data)
    if getattr(be, "norm", None) is None or input.dtype.name not in ("float32", "float64") or input.numel() == 0:
        return None
    if any(t is not None and t.dtype != input.dtype for t in (weight, bias)):
        return None
    return _LayerNorm.apply(input, weight, bias, k, eps)
