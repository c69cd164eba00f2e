"""``scaled_dot_product_attention`` as one fused op (the backend's ``attention`` kernels).

``softmax(q k^T * scale + mask) v`` over the last two dims; leading dims broadcast. The
fused path saves only the operands, the output and the per-row log-sum-exp, and its
backward recomputes the probabilities tile by tile, so no ``L x S`` matrix per head is
held between forward and backward. Its node is named as torch's CPU flash kernel's,
``ScaledDotProductFlashAttentionForCpuBackward0``.

Higher-order gradients: when the backward itself is recorded (``create_graph=True``), the
node computes the gradients with differentiable autodiff ops instead of the kernel
(``_math_vjp``: the probabilities recomputed with matmul and softmax, then the same
formulas), so double backward works; that path does hold the probabilities.

Where the fused kernel does not apply, the op is composed of differentiable ops
(``_math_attention``): a floating ``attn_mask`` that requires grad (its gradient is the
score gradient, a full ``L x S`` matrix anyway) and ``dropout_p > 0`` (the dropout mask on
the probabilities comes from the global generator, as ``F.dropout``).

Masks: boolean (True = take part) or float (added to the scores), broadcast to
``(..., L, S)``; ``is_causal`` keeps the top-left lower triangle (key ``j <= i``) and, as in
torch, excludes a mask. A row with no key left gets a zero output, as in torch.
"""

from __future__ import annotations

import math

import numpy as np

from .. import dtypes, factories
from ..autograd.function import Function, FunctionCtx
from ..autograd.grad_mode import is_grad_enabled
from ..backends import backend_of
from ..backends.meta import MetaArray
from ..tensor import Tensor


def _batch_shape(query: Tensor, key: Tensor, value: Tensor) -> tuple:
    shapes = [t.shape[:-2] for t in (query, key, value)]
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        raise RuntimeError(f"scaled_dot_product_attention: the batch dims of query {list(query.shape)}, "
                           f"key {list(key.shape)} and value {list(value.shape)} do not broadcast") from None


def _check(query: Tensor, key: Tensor, value: Tensor, attn_mask, dropout_p: float) -> tuple:
    """Validate the operands; return the broadcast batch shape."""
    if query.dim() < 2 or key.dim() < 2 or value.dim() < 2:
        raise RuntimeError(f"Expected query, key, and value to all be  at least 2 dimensional, but got "
                           f"query.dim: {query.dim()} key.dim: {key.dim()} and value.dim: {value.dim()} instead.")
    if not (query.dtype is key.dtype is value.dtype):
        raise RuntimeError(f"Expected query, key, and value to have the same dtype, but got query.dtype: "
                           f"{_c_name(query.dtype)} key.dtype: {_c_name(key.dtype)} and value.dtype: "
                           f"{_c_name(value.dtype)} instead.")
    if not query.dtype.is_floating_point:
        raise RuntimeError(f"scaled_dot_product_attention: expected a floating query, got {query.dtype}")
    if query.shape[-1] != key.shape[-1]:
        raise RuntimeError(f"scaled_dot_product_attention: query's last dim {query.shape[-1]} must equal "
                           f"key's {key.shape[-1]} (query {list(query.shape)}, key {list(key.shape)})")
    if key.shape[-2] != value.shape[-2]:
        raise RuntimeError(f"scaled_dot_product_attention: key and value must have the same sequence "
                           f"length, got key {list(key.shape)} and value {list(value.shape)}")
    if not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {dropout_p}")
    batch = _batch_shape(query, key, value)
    if attn_mask is not None:
        if attn_mask.dtype is not dtypes.bool and attn_mask.dtype is not query.dtype:
            raise RuntimeError(
                f"Expected attn_mask dtype to be bool or float or to match query dtype, but got "
                f"attn_mask.dtype: {_c_name(attn_mask.dtype)} and  query.dtype: {_c_name(query.dtype)} instead.")
        scores = batch + (query.shape[-2], key.shape[-2])
        _broadcast_to_scores(attn_mask.shape, scores)
    return batch


def _broadcast_to_scores(mask_shape: tuple, scores: tuple) -> None:
    if len(mask_shape) > len(scores):
        raise RuntimeError(f"scaled_dot_product_attention: attn_mask of shape {list(mask_shape)} has more "
                           f"dims than the scores {list(scores)}")
    for i in range(1, len(mask_shape) + 1):
        if mask_shape[-i] not in (1, scores[-i]):
            raise RuntimeError(f"The size of tensor a ({scores[-i]}) must match the size of tensor b "
                               f"({mask_shape[-i]}) at non-singleton dimension {len(scores) - i}")


def _c_name(d: dtypes.dtype) -> str:
    return {"float32": "float", "float64": "double", "int64": "long int", "int32": "int"}.get(d.name, d.name)


def _additive(attn_mask: Tensor | None, dtype: dtypes.dtype) -> Tensor | None:
    """A boolean mask as 0 (take part) / -inf (masked out) in ``dtype``; a float mask as is."""
    if attn_mask is None or attn_mask.dtype is not dtypes.bool:
        return attn_mask
    return factories.zeros(attn_mask.shape, dtype=dtype, device=attn_mask.device).masked_fill(~attn_mask, -math.inf)


def _as4d(data: np.ndarray, batch: tuple) -> np.ndarray:
    """``data`` broadcast to ``batch + data.shape[-2:]`` as an (A, B, T, D) array (a view
    unless more than two batch dims must be merged)."""
    x = np.broadcast_to(data, batch + data.shape[-2:])
    if len(batch) == 0:
        return x.reshape((1, 1) + x.shape)
    if len(batch) == 1:
        return x[None]
    if len(batch) == 2:
        return x
    return x.reshape((-1, batch[-1]) + x.shape[-2:])


class _FlashAttention(Function):
    """The fused op; inputs (query, key, value, additive mask or None)."""

    profile_name = "autodiff::scaled_dot_product_attention"

    @staticmethod
    def forward(ctx, query, key, value, mask, is_causal, scale, batch):
        ctx.params = (is_causal, scale, batch)
        if not backend_of(query._data).computes:  # meta: the result's metadata only
            ctx.save_for_backward(query, key, value, mask, None)
            return Tensor._make(MetaArray(attention_shape(query.shape, value.shape, batch),
                                          query._data.dtype))
        q, k, v = (_as4d(t._data, batch) for t in (query, key, value))
        m = None if mask is None else _as4d(mask._data, batch)
        be = backend_of(q)
        out, lse = be.attention.forward(q, k, v, m, is_causal, scale, empty=be.empty)
        ctx.lse = lse
        result = Tensor._make(out.reshape(batch + out.shape[2:]))
        ctx.save_for_backward(query, key, value, mask, result)
        return result

    @staticmethod
    def backward(ctx, grad):
        query, key, value, mask, result = ctx.saved_tensors
        is_causal, scale, batch = ctx.params
        if is_grad_enabled():  # create_graph: differentiable ops, so the gradients have gradients
            return _math_vjp(grad, query, key, value, mask, is_causal, scale) + (None,) * 4
        if not backend_of(query._data).computes:  # meta: gradients shaped as the broadcast operands
            return tuple(Tensor._make(MetaArray(batch + t.shape[-2:], query._data.dtype))
                         for t in (query, key, value)) + (None,) * 4
        q, k, v, o, g = (_as4d(t._data, batch) for t in (query, key, value, result, grad))
        m = None if mask is None else _as4d(mask._data, batch)
        be = backend_of(q)
        dq, dk, dv = be.attention.backward(q, k, v, m, is_causal, scale, o, ctx.lse, g, empty=be.empty)
        grads = tuple(Tensor._make(d.reshape(batch + d.shape[2:])) for d in (dq, dk, dv))
        return grads + (None,) * 4


_FlashAttention._backward_cls = type("ScaledDotProductFlashAttentionForCpuBackward0", (FunctionCtx,),
                                     {"__slots__": (), "_fn": _FlashAttention})


def attention_shape(query: tuple, value: tuple, batch: tuple) -> tuple:
    """The metadata rule: the shape of attention's result, ``batch + (L, Ev)``."""
    return tuple(batch) + (query[-2], value[-1])


def _probabilities(query: Tensor, key: Tensor, mask: Tensor | None, is_causal: bool, scale: float) -> Tensor:
    """softmax(q k^T * scale + mask) with differentiable ops; rows with no key left are 0."""
    s = query.matmul(key.transpose(-2, -1)) * scale
    if mask is not None:
        s = s + mask
    if is_causal:
        L, S = s.shape[-2:]
        s = s.masked_fill(factories.ones(L, S, dtype=dtypes.bool, device=s.device).triu(1), -math.inf)
    dead = s.amax(dim=-1, keepdim=True) == -math.inf
    return s.masked_fill(dead, 0.0).softmax(-1).masked_fill(dead, 0.0)


def _math_attention(query, key, value, mask, dropout_p, is_causal, scale) -> Tensor:
    p = _probabilities(query, key, mask, is_causal, scale)
    if dropout_p > 0.0:
        from ..nn.functions.dropout import dropout

        p = dropout(p, dropout_p)
    return p.matmul(value)


def _math_vjp(grad, query, key, value, mask, is_causal, scale) -> tuple:
    """(d query, d key, d value) of attention, with differentiable ops."""
    p = _probabilities(query, key, mask, is_causal, scale)
    d_value = p.transpose(-2, -1).matmul(grad)
    dp = grad.matmul(value.transpose(-2, -1))
    ds = p * (dp - (dp * p).sum(dim=-1, keepdim=True)) * scale
    return ds.matmul(key), ds.transpose(-2, -1).matmul(query), d_value


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None = None,
                                 dropout_p: float = 0.0, is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """softmax(query @ key^T * scale + mask) @ value, fused (see the module docstring)."""
    if enable_gqa and min(query.dim(), key.dim(), value.dim()) >= 3:
        query, key, value = _repeat_kv_heads(query, key, value)
    batch = _check(query, key, value, attn_mask, dropout_p)
    if is_causal and attn_mask is not None:
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set when is_causal=True")
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else float(scale)
    mask = _additive(attn_mask, query.dtype)
    if dropout_p > 0.0 or (mask is not None and mask.requires_grad and is_grad_enabled()):
        return _math_attention(query, key, value, mask, dropout_p, is_causal, scale)
    if query.numel() == 0 or key.numel() == 0 or value.numel() == 0:
        return _math_attention(query, key, value, mask, 0.0, is_causal, scale)
    return _FlashAttention.apply(query, key, value, mask, bool(is_causal), scale, batch)


def _repeat_kv_heads(query: Tensor, key: Tensor, value: Tensor) -> tuple:
    """Grouped-query attention: each key/value head serves ``Hq / Hkv`` query heads (dim -3)."""
    hq, hk, hv = query.shape[-3], key.shape[-3], value.shape[-3]
    if hq % hk or hq % hv:
        raise RuntimeError(f"scaled_dot_product_attention: enable_gqa needs the query heads ({hq}) to be a "
                           f"multiple of the key ({hk}) and value ({hv}) heads")
    key = key.unsqueeze(-3).expand(*key.shape[:-2], hq // hk, *key.shape[-2:]).reshape(
        *key.shape[:-3], hq, *key.shape[-2:])
    value = value.unsqueeze(-3).expand(*value.shape[:-2], hq // hv, *value.shape[-2:]).reshape(
        *value.shape[:-3], hq, *value.shape[-2:])
    return query, key, value
