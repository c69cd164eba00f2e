"""Hypothesis strategies for the fuzz suite: dtypes, shapes (0-d, empty, broadcast), values
with the edges of every domain (0, -0, +-1, +-inf, NaN, tiny and huge), and tensors that
reach the op as transposed, sliced, expanded or permuted views."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from .cases import TensorSpec

SPECIAL = [0.0, -0.0, 1.0, -1.0, 0.5, 2.0, np.inf, -np.inf, np.nan, 1e-30, 1e30, -3.0]
# without the magnitudes whose square overflows float32 (see layer_norm in docs/robustness.md)
NO_HUGE = [v for v in SPECIAL if not abs(v) == 1e30]
FLOAT_DTYPES = ["float32", "float64"]


def floats(special: bool = True, huge: bool = True):
    moderate = st.floats(-3, 3, allow_nan=False, width=32)
    return st.one_of(moderate, st.sampled_from(SPECIAL if huge else NO_HUGE)) if special else moderate


def elements(dtype: str, special: bool = True, lo: int = -4, hi: int = 4, huge: bool = True):
    if dtype in FLOAT_DTYPES:
        return floats(special, huge)
    if dtype == "bool":
        return st.booleans()
    return st.integers(lo, hi)


def shapes(min_dims: int = 0, max_dims: int = 4, min_side: int = 0, max_side: int = 4):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


@st.composite
def tensors(draw, shape, dtype: str, special: bool = True, grad: bool | None = None, views: bool = True,
            lo: int = -4, hi: int = 4, huge: bool = True):
    """A TensorSpec whose operand has ``shape`` and ``dtype``, maybe reached through a view."""
    shape = tuple(shape)
    kind = draw(st.sampled_from(["plain", "plain", "T", "slice", "expand", "permute"])) if views else "plain"
    if kind == "T" and len(shape) < 2:
        kind = "plain"
    if kind == "expand" and not any(n != 1 for n in shape):
        kind = "plain"
    if kind == "permute" and len(shape) < 2:
        kind = "plain"
    base, view = shape, ()
    if kind == "T":
        base = shape[:-2] + (shape[-1], shape[-2])
        view = (("T",),)
    elif kind == "slice":
        dim = draw(st.integers(0, max(len(shape) - 1, 0))) if shape else None
        if dim is None:
            kind = "plain"
        else:
            step, start = draw(st.sampled_from([(2, 0), (2, 1), (1, 1), (3, 2)]))
            base = shape[:dim] + (start + shape[dim] * step,) + shape[dim + 1:]
            view = (("slice", dim, start, start + shape[dim] * step, step),)
    elif kind == "expand":
        dims = [i for i, n in enumerate(shape) if n != 1]
        d = draw(st.sampled_from(dims))
        base = shape[:d] + (1,) + shape[d + 1:]
        view = (("expand", shape),)
    elif kind == "permute":
        perm = draw(st.permutations(range(len(shape))))
        # base.permute(perm) has shape[i] = base[perm[i]]
        base = tuple(shape[int(np.where(np.array(perm) == j)[0][0])] for j in range(len(shape)))
        view = (("permute", tuple(perm)),)
    data = draw(hnp.arrays(np.dtype(dtype), base, elements=elements(dtype, special, lo, hi, huge)))
    requires = draw(st.booleans()) if grad is None else grad
    return TensorSpec(data, view, requires and dtype in FLOAT_DTYPES)


def dtypes(floats_only: bool = False):
    if floats_only:
        return st.sampled_from(["float32", "float32", "float64"])
    return st.sampled_from(["float32", "float32", "float32", "float64", "int64", "bool"])
