"""Embedding lookup: rows of a weight matrix selected by integer indices."""

from __future__ import annotations

from ...autograd.grad_mode import no_grad
from ...ops import elementwise as ew
from ...ops import indexing as ix
from ...tensor import Tensor


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None, max_norm: float | None = None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """``weight[input]``: shape ``input.shape + (embedding_dim,)``. Rows equal to
    ``padding_idx`` get no gradient; ``max_norm`` renormalises the looked-up rows of
    ``weight`` in place first (as PyTorch)."""
    num = weight.shape[0]
    if padding_idx is not None:  # checked first, as torch
        if not -num <= padding_idx < num:
            raise AssertionError("Padding_idx must be within num_embeddings")
        padding_idx %= num
    if input.dtype.is_floating_point:
        raise RuntimeError(
            "Expected tensor for argument #1 'indices' to have one of the following scalar types: Long, Int; "
            f"but got {input.dtype} instead (while checking arguments for embedding)")
    if scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding: scale_grad_by_freq and sparse gradients are not supported")
    if weight.dim() != 2:
        raise RuntimeError("'weight' must be 2-D")
    if max_norm is not None and input.numel():
        _renorm_(weight, input.reshape(-1), max_norm, norm_type)
    return ix.embedding(weight, input, padding_idx=padding_idx)


def _renorm_(weight: Tensor, flat: Tensor, max_norm: float, norm_type: float) -> None:
    """Scale the rows of ``weight`` indexed by ``flat`` whose norm exceeds max_norm down to it."""
    with no_grad():
        rows = ix.index_select(weight, 0, flat)
        norms = rows.norm(p=norm_type, dim=1, keepdim=True)
        over = norms > max_norm
        if not over.any().item():  # nothing to write (so a read-only, expanded weight is fine)
            return
        scale = ew.where(over, max_norm / (norms + 1e-7), 1.0)
        weight.index_copy_(0, flat, rows * scale)
