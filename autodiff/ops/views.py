"""View ops: results share the operand's storage and version counter (no kernel runs).

A shape-only view's backward reshapes the gradient back; ``expand``'s sums it back
over the expanded dimensions.
"""

from __future__ import annotations

import numpy as np

from .op import Op


def _view_forward(data: np.ndarray, shape: tuple) -> np.ndarray:
    """A view of ``data`` with ``shape`` or a RuntimeError naming why there is none."""
    shape = _infer_shape(shape, data.size)
    v = data.view()
    try:
        v.shape = shape
    except AttributeError:
        raise RuntimeError(
            f"view size is not compatible with input tensor's size and stride (at least one dimension "
            f"spans across two contiguous subspaces): input shape {list(data.shape)}, strides "
            f"{[s // data.itemsize for s in data.strides]}, requested shape {list(shape)}. "
            "Use .reshape(...) instead."
        ) from None
    return v


def _infer_shape(shape: tuple, numel: int) -> tuple:
    shape = tuple(int(s) for s in shape)
    if shape.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = 1
    for s in shape:
        if s != -1:
            if s < 0:
                raise RuntimeError(f"invalid shape dimension {s}")
            known *= s
    if -1 in shape:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    elif known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


def _expand_forward(data: np.ndarray, shape: tuple) -> np.ndarray:
    shape = tuple(int(s) for s in shape)
    if len(shape) < data.ndim:
        raise RuntimeError(
            f"expand: the number of sizes provided ({len(shape)}) must be greater or equal to the "
            f"number of dimensions in the tensor ({data.ndim})"
        )
    lead = len(shape) - data.ndim
    full = tuple(data.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(shape))
    for i, n in enumerate(data.shape):
        if n != 1 and n != full[lead + i]:
            raise RuntimeError(
                f"The expanded size of the tensor ({full[lead + i]}) must match the existing size ({n}) "
                f"at non-singleton dimension {lead + i}.  Target sizes: {list(shape)}.  "
                f"Tensor sizes: {list(data.shape)}"
            )
    return np.broadcast_to(data, full)


_reshape_back = (lambda grad, self_shape: grad.reshape(self_shape),)

view = Op("view", ("self",), _view_forward, _reshape_back, view=True)
expand = Op("expand", ("self",), _expand_forward,
            (lambda grad, self_shape: grad.sum_to_size(self_shape),), view=True)


def reshape(input, shape: tuple):
    """A view when the strides allow one, else a copy (as torch.reshape)."""
    shape = _infer_shape(shape, input.numel())
    data = input._data.view()
    try:
        data.shape = shape
    except AttributeError:
        return view(input.contiguous(), shape=shape)
    return view(input, shape=shape)


def unsqueeze(input, dim: int):
    dim = dim + input.dim() + 1 if dim < 0 else dim
    if not 0 <= dim <= input.dim():
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-input.dim() - 1}, {input.dim()}], "
            f"but got {dim})"
        )
    shape = input.shape
    return view(input, shape=shape[:dim] + (1,) + shape[dim:])


def squeeze(input, dim=None):
    shape = input.shape
    if dim is None:
        dims = {i for i, n in enumerate(shape) if n == 1}
    else:
        dims = {input._wrap_dim(d) for d in (dim if isinstance(dim, (tuple, list)) else (dim,))}
        dims = {d for d in dims if input.dim() and shape[d] == 1}
    return view(input, shape=tuple(n for i, n in enumerate(shape) if i not in dims))


def flatten(input, start_dim: int = 0, end_dim: int = -1):
    if input.dim() == 0:
        return reshape(input, (1,))
    s, e = input._wrap_dim(start_dim), input._wrap_dim(end_dim)
    shape = input.shape
    n = 1
    for k in shape[s:e + 1]:
        n *= k
    return reshape(input, shape[:s] + (n,) + shape[e + 1:])
