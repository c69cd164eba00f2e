"""``linear(input, weight, bias) = input @ weight.T + bias`` as one op (PyTorch's addmm).

Its gradients are linear maps of the same form, so the rules use ``linear`` itself and
any order of gradient works: d input = ``grad @ W`` = linear(grad, W.T);
d weight = ``grad.T @ input`` = linear(grad.T, input.T); d bias = grad summed over rows.
Where no graph is recorded the rules run the same forwards on the arrays directly.
Leading dims of ``input`` are flattened into the rows (a view where the strides allow).
"""

from __future__ import annotations

import math

import numpy as np

from ..autograd.grad_mode import state as grad_state
from ..backends import backend_of
from ..backends.meta import MetaArray
from ..tensor import fresh
from .op import Op
from .reduction import sum  # noqa: A004


def _check(input, weight, bias) -> None:
    if input.dtype != weight.dtype or (bias is not None and bias.dtype != input.dtype):
        raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got {input.dtype} and {weight.dtype}")
    if weight.ndim != 2:
        raise RuntimeError(f"linear(): weight must be 2-D, got shape {list(weight.shape)}")
    if bias is not None:
        _check_bias(bias, (math.prod(input.shape[:-1]), weight.shape[0]))


def _meta(input, weight, bias) -> MetaArray:
    _check(input, weight, bias)
    return MetaArray(input.shape[:-1] + (weight.shape[0],), input.dtype)


def _forward(input, weight, bias):
    be = backend_of(input)
    _check(input, weight, bias)
    lead = input.shape[:-1]
    x = input.reshape(math.prod(lead), input.shape[-1]) if input.ndim != 2 else input
    out = be.empty((x.shape[0], weight.shape[0]), input.dtype)
    has_bias = bias is not None
    if has_bias:  # one row of out_features values, as the kernel reads it
        bias = bias.reshape(-1)
        if bias.shape[0] != weight.shape[0]:  # one value for every column: a writable row
            bias = be.copy(np.broadcast_to(bias, (weight.shape[0],)))
    if out.size == 0 or x.shape[1] == 0:  # nothing to multiply: the bias (or zeros) alone
        be.elementwise("copy", out.dtype, out, bias if has_bias else out.dtype.type(0))
        return out.reshape(lead + (weight.shape[0],))
    if input.dtype.kind != "f":  # BLAS is float only: the exact integer product
        be.matmul.matmul(x[None, None], weight.T[None, None], out[None, None])
        if has_bias:
            be.elementwise("add", out.dtype, out, out, bias)
        return out.reshape(lead + (weight.shape[0],))
    b = bias if has_bias and bias.flags.c_contiguous else (be.copy(bias) if has_bias else out[0])
    be.linear.linear(x, weight, b, has_bias, out)
    return out.reshape(lead + (weight.shape[0],))


def _check_bias(bias, out_shape: tuple) -> None:
    """torch's error for a bias that does not broadcast to one row of the (rows, out_features) result."""
    n = out_shape[1]
    if bias.ndim > 1 or math.prod(bias.shape) not in (1, n):
        raise RuntimeError(
            f"The expanded size of the tensor ({n}) must match the existing size ({bias.shape[-1]}) at "
            f"non-singleton dimension 1.  Target sizes: {list(out_shape)}.  Tensor sizes: "
            f"{list(bias.shape)} (linear(): bias must have out_features = {n} elements)")


# The gradient rules. In the usual backward no graph is recorded (grad mode is off), and
# then they compute on the arrays: the same kernels, without the view and op calls (their
# checks, nodes not made, tensors) around each of them, which cost ~35 us of Python per
# backward node. With create_graph they are written in ops, so every order of gradient works.

def _on_arrays(grad) -> bool:
    """Whether a rule may compute on the arrays: nothing is recorded and the backend computes."""
    return not grad_state.enabled and backend_of(grad._data).computes


def _rows(data):
    """``data`` (..., C), not empty, as a (rows, C) view; None where its strides allow none."""
    if not data.size:
        return None
    return backend_of(data).view(data, (data.size // data.shape[-1], data.shape[-1]))


def _grad_input(grad, weight):
    if _on_arrays(grad):
        return fresh(_forward(grad._data, weight._data.T, None))
    return linear(grad, weight.t(), None)


def _grad_weight(grad, input):
    if _on_arrays(grad):
        g, x = _rows(grad._data), _rows(input._data)
        if g is not None and x is not None:
            return fresh(_forward(g.T, x.T, None))
    g = grad.reshape(-1, grad.shape[-1])
    x = input.reshape(-1, input.shape[-1])
    return linear(g.t(), x.t(), None)


def _grad_bias(grad):
    if _on_arrays(grad):
        g = _rows(grad._data)
        if g is not None:
            return fresh(sum.forward(g, dim=0))
    return grad.reshape(-1, grad.shape[-1]).sum(dim=0)


linear = Op("linear", ("input", "weight", "bias"), _forward, (_grad_input, _grad_weight, _grad_bias),
            node_name="AddmmBackward0", meta=_meta)
