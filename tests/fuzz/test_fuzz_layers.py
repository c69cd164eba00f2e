"""Differential fuzzing of joining (cat, stack), class losses (cross_entropy, nll_loss),
embedding and dropout against torch: shapes that do or do not fit, empty and 0-d tensors,
mixed dtypes, dims in and out of range, targets and indices in and out of range, and every
parameter at and past its limits. Same contract as test_fuzz_ops: torch's outcome class."""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from .cases import Case, TensorSpec
from .check import install_family_tests
from .strategies import dtypes, shapes, tensors

seeds = st.integers(0, 2**16)


@st.composite
def join_cases(draw):
    op = draw(st.sampled_from(["cat", "stack"]))
    base = list(draw(shapes(max_dims=3, max_side=3)))
    n = len(base)
    dim = draw(st.integers(-n - 1, n) if draw(st.integers(0, 5)) else st.integers(-n - 3, n + 2))
    dtype = draw(dtypes())
    specs = []
    for _ in range(draw(st.sampled_from([0, 1, 2, 2, 3]))):
        shape = list(base)
        if op == "cat" and -n <= dim < n:
            shape[dim] = draw(st.integers(0, 3))
        variant = draw(st.integers(0, 11))
        if variant == 0 and n:
            shape[draw(st.integers(0, n - 1))] += 1  # does not fit
        elif variant == 1:
            shape = [0]  # torch's cat skips a legacy empty 1-D tensor
        elif variant == 2:
            shape = shape[:-1]  # another rank
        kind = draw(dtypes()) if draw(st.integers(0, 4)) == 0 else dtype
        specs.append(draw(tensors(tuple(shape), kind)))
    return Case(f"join.{op}", (specs, dim), seed=draw(seeds))


@st.composite
def class_loss_cases(draw):
    op = draw(st.sampled_from(["cross_entropy", "nll_loss"]))
    dtype = draw(st.sampled_from(["float32", "float32", "float64"]))
    C, N = draw(st.integers(1, 4)), draw(st.integers(0, 3))
    layout = draw(st.sampled_from(["NC", "NC", "NCd", "C"]))
    d = draw(st.integers(1, 3))
    ishape, tshape = {"NC": ((N, C), (N,)), "NCd": ((N, C, d), (N, d)), "C": ((C,), ())}[layout]
    if draw(st.integers(0, 9)) == 0:
        tshape = tshape + (1,) if draw(st.booleans()) else tshape[1:]
    x = draw(tensors(ishape, dtype, grad=True, lo=-3, hi=3))
    ignore_index = draw(st.sampled_from([-100, -100, -100, 0, 1, C, -1]))
    kwargs = {"ignore_index": ignore_index, "reduction": draw(st.sampled_from(["mean", "sum", "none"]))}
    if op == "cross_entropy":
        kwargs["label_smoothing"] = draw(st.sampled_from([0.0, 0.0, 0.1, 1.0, -0.1, 1.5]))
    if op == "cross_entropy" and draw(st.integers(0, 3)) == 0:  # class probabilities
        unit = st.one_of(st.sampled_from([0.0, 1.0, 0.5]), st.floats(0, 1, width=32))
        y = TensorSpec(draw(hnp.arrays(dtype, ishape if draw(st.integers(0, 7)) else tshape, elements=unit)))
    else:
        valid = st.integers(0, C - 1)
        bad = st.sampled_from([-1, C, C + 1, ignore_index])
        y = draw(tensors(tshape, "int64", views=False, lo=0, hi=C - 1)) if draw(st.booleans()) else \
            TensorSpec(draw(hnp.arrays("int64", tshape, elements=st.one_of(valid, valid, valid, bad))))
    weight = None
    if draw(st.integers(0, 2)) == 0:
        wlen = C if draw(st.integers(0, 6)) else C + 1
        weight = TensorSpec(draw(hnp.arrays(dtype, (wlen,), elements=st.sampled_from([0.0, 0.5, 1.0, 2.0]))))
    kwargs["weight"] = weight
    return Case(f"loss.{op}", (x, y), kwargs, seed=draw(seeds))


@st.composite
def embedding_cases(draw):
    num, dim = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    dtype = draw(st.sampled_from(["float32", "float32", "float64"]))
    weight = draw(tensors((num, dim), dtype, grad=True, views=draw(st.booleans())))
    ishape = draw(shapes(max_dims=2, max_side=3))
    valid = st.integers(0, num - 1)
    index = st.one_of(valid, valid, valid, st.sampled_from([-1, num, -num - 1]))
    idtype = draw(st.sampled_from(["int64", "int64", "int32", "float32"]))
    indices = TensorSpec(draw(hnp.arrays("int64", ishape, elements=index)).astype(idtype))
    kwargs = {}
    if draw(st.booleans()):
        kwargs["padding_idx"] = draw(st.integers(-num - 1, num))
    if draw(st.integers(0, 2)) == 0:
        kwargs["max_norm"] = draw(st.sampled_from([1.0, 0.5, 2.0]))
        kwargs["norm_type"] = draw(st.sampled_from([2.0, 1.0]))
    return Case("nn.embedding", (indices, weight), kwargs, seed=draw(seeds))


@st.composite
def dropout_cases(draw):
    x = draw(tensors(draw(shapes(max_dims=3)), draw(dtypes(floats_only=True))))
    p = draw(st.sampled_from([0.0, 0.5, 1.0, 0.2, -0.1, 1.1]))
    return Case("nn.dropout", (x, p, draw(st.booleans()), draw(st.booleans())), seed=draw(seeds))


FAMILIES = {
    "join": (join_cases, 40), "class_loss": (class_loss_cases, 40), "embedding": (embedding_cases, 25),
    "dropout": (dropout_cases, 15),
}


install_family_tests(FAMILIES, globals())
