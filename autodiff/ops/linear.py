"""``linear(input, weight, bias) = input @ weight.T + bias`` as one op (PyTorch's addmm).

Its gradients are linear maps of the same form, so the rules use ``linear`` itself and
any order of gradient works: d input = ``grad @ W`` = linear(grad, W.T);
d weight = ``grad.T @ input`` = linear(grad.T, input.T); d bias = grad summed over rows.
Leading dims of ``input`` are flattened into the rows (a view where the strides allow).
"""

from __future__ import annotations


from .. import backends
from ..backends import backend_of
from ..backends.meta import MetaArray

from .op import Op


def _check(input, weight, bias) -> None:
    if input.dtype != weight.dtype or (bias is not None and bias.dtype != input.dtype):
        raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got {input.dtype} and {weight.dtype}")


def _meta(input, weight, bias) -> MetaArray:
    _check(input, weight, bias)
    return MetaArray(input.shape[:-1] + (weight.shape[0],), input.dtype)


def _forward(input, weight, bias):
    be = backend_of(input)
    _check(input, weight, bias)
    lead = input.shape[:-1]
    x = input.reshape(-1, input.shape[-1]) if input.ndim != 2 else input
    out = be.empty((x.shape[0], weight.shape[0]), input.dtype)
    has_bias = bias is not None
    b = bias if has_bias and bias.flags.c_contiguous else (backends.copy(bias) if has_bias else out[0])
    be.linear.linear(x, weight, b, has_bias, out)
    return out.reshape(lead + (weight.shape[0],))


def _grad_weight(grad, input):
    g = grad.reshape(-1, grad.shape[-1])
    x = input.reshape(-1, input.shape[-1])
    return linear(g.t(), x.t(), None)


linear = Op("linear", ("input", "weight", "bias"), _forward, (
    lambda grad, weight: linear(grad, weight.t(), None),
    _grad_weight,
    lambda grad: grad.reshape(-1, grad.shape[-1]).sum(dim=0),
), node_name="AddmmBackward0", meta=_meta)
