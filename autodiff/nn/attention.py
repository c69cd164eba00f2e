"""``MultiheadAttention``, as torch's: the same parameters (``in_proj_weight`` packed
``[W_q; W_k; W_v]``, or ``q_proj_weight``/``k_proj_weight``/``v_proj_weight`` when key or
value have their own sizes; ``in_proj_bias``; ``out_proj``; ``bias_k``/``bias_v``), the same
masks and the same outputs.

Masks follow torch's MultiheadAttention convention: a boolean ``True`` masks a position out
(the opposite of ``scaled_dot_product_attention``'s), a float mask is added to the scores.
``attn_mask`` is ``(L, S)`` or ``(N * num_heads, L, S)``; ``key_padding_mask`` is ``(N, S)``.
Both become one additive float mask. With ``need_weights=False`` the heads go through the
fused ``scaled_dot_product_attention``; with ``need_weights=True`` the probabilities are
needed anyway, so they are computed with matmul and softmax and returned (averaged over
the heads when ``average_attn_weights``).
"""

from __future__ import annotations

import math

from .. import dtypes, factories
from ..ops.attention import scaled_dot_product_attention
from ..ops.joining import cat, pad
from ..tensor import Tensor
from . import functional as F
from . import init
from .linear import Linear
from .module import Module
from .parameter import Parameter


def _as_additive(mask: Tensor | None, dtype, name: str) -> Tensor | None:
    """A boolean mask (True = masked out) as -inf / 0 in ``dtype``; a float mask as is."""
    if mask is None:
        return None
    if mask.dtype is dtypes.bool:
        return factories.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(mask, -math.inf)
    if not mask.dtype.is_floating_point:
        raise AssertionError(f"only bool and floating types of {name} are supported")
    return mask.to(dtype)


def multi_head_attention(module: "MultiheadAttention", query: Tensor, key: Tensor, value: Tensor,
                         key_padding_mask: Tensor | None, need_weights: bool, attn_mask: Tensor | None,
                         average_attn_weights: bool) -> tuple:
    """Attention on batch-first ``(N, L, E)`` query and ``(N, S, *)`` key and value."""
    m = module
    N, L, E = query.shape
    S = key.shape[1]
    H, D = m.num_heads, m.head_dim
    if m._qkv_same_embed_dim:
        w_q, w_k, w_v = m.in_proj_weight.chunk(3)
    else:
        w_q, w_k, w_v = m.q_proj_weight, m.k_proj_weight, m.v_proj_weight
    b_q = b_k = b_v = None
    if m.in_proj_bias is not None:
        b_q, b_k, b_v = m.in_proj_bias.chunk(3)
    if m._qkv_same_embed_dim and query is key and key is value:
        q, k, v = F.linear(query, m.in_proj_weight, m.in_proj_bias).chunk(3, dim=-1)
    else:
        q, k, v = F.linear(query, w_q, b_q), F.linear(key, w_k, b_k), F.linear(value, w_v, b_v)
    attn_mask = _as_additive(attn_mask, q.dtype, "attn_mask")
    key_padding_mask = _as_additive(key_padding_mask, q.dtype, "key_padding_mask")
    if attn_mask is not None:
        want = [(L, S), (N * H, L, S)]
        if tuple(attn_mask.shape) not in want:
            which = "2D" if attn_mask.dim() == 2 else "3D"
            good = want[0] if attn_mask.dim() == 2 else want[1]
            raise RuntimeError(f"The shape of the {which} attn_mask is {tuple(attn_mask.shape)}, but should "
                               f"be {good}.")
    if m.bias_k is not None:
        k = cat([k, m.bias_k.expand(N, 1, E)], dim=1)
        v = cat([v, m.bias_v.expand(N, 1, E)], dim=1)
        attn_mask = None if attn_mask is None else pad(attn_mask, (0, 1))
        key_padding_mask = None if key_padding_mask is None else pad(key_padding_mask, (0, 1))
    q = q.reshape(N, L, H, D).transpose(1, 2)
    k = k.reshape(N, k.shape[1], H, D).transpose(1, 2)
    v = v.reshape(N, v.shape[1], H, D).transpose(1, 2)
    if m.add_zero_attn:
        k = cat([k, factories.zeros((N, H, 1, D), dtype=k.dtype)], dim=2)
        v = cat([v, factories.zeros((N, H, 1, D), dtype=v.dtype)], dim=2)
        attn_mask = None if attn_mask is None else pad(attn_mask, (0, 1))
        key_padding_mask = None if key_padding_mask is None else pad(key_padding_mask, (0, 1))
    S = k.shape[2]
    mask = None
    if attn_mask is not None:
        mask = attn_mask.reshape(N, H, L, S) if attn_mask.dim() == 3 else attn_mask
    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (N, S):
            raise AssertionError(f"expecting key_padding_mask shape of {(N, S)}, but got "
                                 f"{tuple(key_padding_mask.shape)}")
        kp = key_padding_mask.reshape(N, 1, 1, S)
        mask = kp if mask is None else mask + kp
    p = m.dropout if m.training else 0.0
    if need_weights:
        scores = q.matmul(k.transpose(-2, -1)) * (1.0 / math.sqrt(D))
        if mask is not None:
            scores = scores + mask
        weights = scores.softmax(-1)
        if p > 0.0:  # as torch, the returned weights are the dropped-out ones
            weights = F.dropout(weights, p)
        out = weights.matmul(v)
        weights = weights.mean(dim=1) if average_attn_weights else weights
    else:
        out = scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
        weights = None
    out = out.transpose(1, 2).reshape(N, L, E)
    return F.linear(out, m.out_proj.weight, m.out_proj.bias), weights


class NonDynamicallyQuantizableLinear(Linear):
    """torch's name for MultiheadAttention's output projection (a plain Linear)."""


class MultiheadAttention(Module):
    """Attention over ``num_heads`` heads of ``embed_dim // num_heads`` features (see the module docstring)."""

    __constants__ = ["batch_first"]

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
                 vdim: int | None = None, batch_first: bool = False, device=None, dtype=None) -> None:
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got embed_dim={embed_dim} "
                             f"and num_heads={num_heads} instead")
        super().__init__()
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads, self.dropout, self.batch_first = num_heads, dropout, batch_first
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != embed_dim:
            raise AssertionError("embed_dim must be divisible by num_heads")
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(factories.empty((3 * embed_dim, embed_dim), dtype=dtype))
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        else:
            self.q_proj_weight = Parameter(factories.empty((embed_dim, embed_dim), dtype=dtype))
            self.k_proj_weight = Parameter(factories.empty((embed_dim, self.kdim), dtype=dtype))
            self.v_proj_weight = Parameter(factories.empty((embed_dim, self.vdim), dtype=dtype))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(factories.empty(3 * embed_dim, dtype=dtype))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias, dtype=dtype)
        if add_bias_kv:
            self.bias_k = Parameter(factories.empty((1, 1, embed_dim), dtype=dtype))
            self.bias_v = Parameter(factories.empty((1, 1, embed_dim), dtype=dtype))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Tensor | None = None,
                need_weights: bool = True, attn_mask: Tensor | None = None, average_attn_weights: bool = True,
                is_causal: bool = False) -> tuple:
        """(attn_output, attn_weights or None); sequence-first unless ``batch_first``."""
        if is_causal and attn_mask is None:
            raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the Transformer "
                               "module method `generate_square_subsequent_mask` to create this mask.")
        unbatched = query.dim() == 2
        if unbatched:
            query, key, value = query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        elif not self.batch_first:
            same = query is key and key is value
            query = query.transpose(0, 1)
            key, value = (query, query) if same else (key.transpose(0, 1), value.transpose(0, 1))
        if query.dim() != 3:
            raise AssertionError(f"query should be unbatched 2D or batched 3D tensor but received "
                                 f"{query.dim()}-D query tensor")
        if query.shape[-1] != self.embed_dim:
            raise AssertionError(f"was expecting embedding dimension of {self.embed_dim}, but got "
                                 f"{query.shape[-1]}")
        out, weights = multi_head_attention(self, query, key, value, key_padding_mask, need_weights,
                                            attn_mask, average_attn_weights)
        if unbatched:
            return out.squeeze(0), None if weights is None else weights.squeeze(0)
        return (out if self.batch_first else out.transpose(0, 1)), weights

    def extra_repr(self) -> str:
        return ""
