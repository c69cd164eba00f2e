"""Writes through views: every in-place op, with a scalar or a (broadcast) tensor value,
into a transposed, sliced, selected or permuted view; the whole base (and the gradients
through the write) must be torch's."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from .budget import examples
from .cases import Case, TensorSpec
from .check import differential
from .strategies import shapes, tensors

INPLACE = ["add_", "sub_", "mul_", "div_", "clamp_min_", "clamp_max_", "pow_", "copy_", "fill_", "zero_",
           "setitem", "init.constant_", "masked_fill_"]
SCALAR_ONLY = {"fill_", "init.constant_"}


@st.composite
def view_steps(draw, shape):
    """Steps from ``shape`` to a view of it, and the view's shape."""
    steps, cur = [], list(shape)
    for _ in range(draw(st.integers(0, 2))):
        kind = draw(st.sampled_from(["T", "slice", "select", "permute"]))
        if kind == "T" and len(cur) >= 2:
            steps.append(("T",))
            cur[-1], cur[-2] = cur[-2], cur[-1]
        elif kind == "slice" and cur:
            d = draw(st.integers(0, len(cur) - 1))
            start, step = draw(st.integers(0, 2)), draw(st.integers(1, 3))
            stop = draw(st.integers(start, max(cur[d], start)))
            steps.append(("slice", d, start, stop, step))
            cur[d] = len(range(start, min(stop, cur[d]), step))
        elif kind == "select" and cur and all(cur):
            d = draw(st.integers(0, len(cur) - 1))
            steps.append(("select", d, draw(st.integers(0, cur[d] - 1))))
            del cur[d]
        elif kind == "permute" and len(cur) >= 2:
            perm = draw(st.permutations(range(len(cur))))
            steps.append(("permute", tuple(perm)))
            cur = [cur[p] for p in perm]
    return tuple(steps), tuple(cur)


@st.composite
def inplace_cases(draw):
    dtype = draw(st.sampled_from(["float32", "float32", "float64", "int64"]))
    shape = draw(shapes(min_dims=1, max_dims=3, min_side=1))
    grad = dtype != "int64" and draw(st.booleans())
    base = draw(tensors(shape, dtype, views=False, grad=grad))
    steps, vshape = draw(view_steps(shape))
    op = draw(st.sampled_from(INPLACE))
    scalar = st.one_of(st.integers(-3, 3), st.floats(-3, 3, width=32), st.sampled_from([0.0, 2.5, float("nan")]))
    if op == "zero_":
        value = None
    elif op in SCALAR_ONLY or draw(st.booleans()):
        value = draw(scalar)
    else:
        k = draw(st.integers(0, len(vshape)))
        vdtype = draw(st.sampled_from([dtype, dtype, "float32", "int64"]))
        value = draw(tensors(vshape[k:] if draw(st.integers(0, 3)) else vshape, vdtype,
                             grad=vdtype != "int64" and draw(st.booleans())))
    if op == "masked_fill_":
        mask = draw(tensors(vshape, "bool", views=False))
        value = draw(scalar)
        return Case("inplace_masked", (base, steps, mask, value), seed=draw(seeds))
    return Case("inplace", (base, steps, op, value), seed=draw(seeds))


seeds = st.integers(0, 2**16)


@examples(80)
@given(case=inplace_cases())
def test_inplace_writes_through_views_match_torch(worker, case):
    differential(worker, case, "inplace")


def test_scalar_writes_reach_non_contiguous_views(worker):
    """The reported cases: ``b[:, 1:3] = 0``, ``zero_()``/``fill_()`` on transposed and sliced views."""
    import numpy as np

    base = TensorSpec(np.ones((3, 4), np.float32))
    for steps, op, value in [((("slice", 1, 1, 3, 1),), "setitem", 0), ((("T",),), "zero_", None),
                             ((("slice", 1, 0, 4, 2),), "fill_", 5.0), ((("T",),), "init.constant_", 2.0)]:
        differential(worker, Case("inplace", (base, steps, op, value)), "inplace")
