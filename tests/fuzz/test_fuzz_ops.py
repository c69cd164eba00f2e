"""Differential fuzzing of ops against torch: generated shapes (0-d, empty, broadcast),
dtypes, views (transposed, sliced, expanded, permuted), values at the edges of every
domain, parameters in and out of range. Every case must give torch's outcome: the same
values and gradients within tolerance, or an exception of the same class. Cases run in a
worker process, so a crash fails the case instead of killing the session."""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from .cases import Case, TensorSpec
from .check import install_family_tests
from .ops import ACTIVATIONS, BINARY, FULL_REDUCTIONS, REDUCTIONS, UNARY
from .strategies import dtypes, shapes, tensors

seeds = st.integers(0, 2**16)


@st.composite
def unary_cases(draw):
    op = draw(st.sampled_from(UNARY))
    dtype = draw(dtypes())
    x = draw(tensors(draw(shapes()), dtype))
    return Case(f"unary.{op}", (x,), seed=draw(seeds))


@st.composite
def binary_cases(draw):
    op = draw(st.sampled_from(BINARY))
    if draw(st.integers(0, 9)) == 0:  # shapes that may not broadcast
        sa, sb = draw(shapes(max_dims=3)), draw(shapes(max_dims=3))
    else:
        sa, sb = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=4, max_side=4)).input_shapes
    a = draw(tensors(sa, draw(dtypes())))
    if draw(st.integers(0, 3)) == 0:
        b = draw(st.one_of(st.integers(-3, 3), st.floats(-3, 3, width=32), st.sampled_from([0.0, float("nan"),
                                                                                           float("inf")])))
    else:
        b = draw(tensors(sb, draw(dtypes())))
    args = (a, b) if draw(st.booleans()) or not isinstance(b, TensorSpec) else (b, a)
    return Case(f"binary.{op}", args, seed=draw(seeds))


@st.composite
def reduction_cases(draw):
    op = draw(st.sampled_from(REDUCTIONS))
    shape = draw(shapes(max_dims=3))
    n = len(shape)
    x = draw(tensors(shape, draw(dtypes())))
    dim = draw(st.integers(-n - 1, n))
    kwargs = {"dim": dim}
    if op in ("sum", "mean", "amax", "amin", "argmax", "logsumexp", "prod"):
        kwargs["keepdim"] = draw(st.booleans())
    return Case(f"reduce.{op}", (x,), kwargs, seed=draw(seeds))


@st.composite
def full_reduction_cases(draw):
    op = draw(st.sampled_from(FULL_REDUCTIONS))
    x = draw(tensors(draw(shapes(max_dims=3)), draw(dtypes())))
    return Case(f"full.{op}", (x,), seed=draw(seeds))


@st.composite
def view_cases(draw):
    shape = draw(shapes(max_dims=4))
    n = len(shape)
    x = draw(tensors(shape, draw(dtypes(floats_only=True))))
    op = draw(st.sampled_from(["transpose", "flatten", "squeeze", "unsqueeze", "narrow", "permute", "reshape"]))
    d = st.integers(-n - 1, n)
    if op in ("transpose", "flatten"):
        args = (draw(d), draw(d))
    elif op == "squeeze":
        args = (draw(d),)
    elif op == "unsqueeze":
        args = (draw(st.integers(-n - 2, n + 1)),)
    elif op == "narrow":
        args = (draw(d), draw(st.integers(-2, 4)), draw(st.integers(-1, 4)))
    elif op == "permute":
        args = tuple(draw(st.one_of(st.permutations(range(n)), st.lists(d, max_size=n + 1))))
    else:
        total = 1
        for s in shape:
            total *= s
        args = tuple(draw(st.one_of(st.just([-1]), st.lists(st.integers(-1, 6), max_size=3),
                                    st.just([total]))))
    return Case(f"view.{op}", (x,) + tuple(args), seed=draw(seeds))


@st.composite
def index_cases(draw):
    op = draw(st.sampled_from(["gather", "scatter", "scatter_add", "index_select", "index_add"]))
    shape = draw(shapes(min_dims=1, max_dims=3, min_side=1))
    n = len(shape)
    dtype = draw(dtypes(floats_only=True))
    x = draw(tensors(shape, dtype))
    dim = draw(st.integers(-n, n - 1) if draw(st.integers(0, 9)) else st.integers(-n - 1, n))
    size = shape[dim] if -n <= dim < n else 2
    bound = st.integers(-size - 1, size) if draw(st.integers(0, 4)) == 0 else st.integers(0, size - 1)
    if op in ("index_select", "index_add"):
        k = draw(st.integers(0, 4))
        index = TensorSpec(draw(hnp.arrays("int64", (k,), elements=bound)))
        if op == "index_select":
            return Case("index.index_select", (x, dim, index), seed=draw(seeds))
        src_shape = list(shape)
        if -n <= dim < n:
            src_shape[dim] = k
        if draw(st.integers(0, 5)) == 0:
            src_shape[0] += 1
        src = draw(tensors(tuple(src_shape), dtype))
        return Case("index.index_add", (x, dim, index, src), seed=draw(seeds))
    index_shape = tuple(draw(st.integers(0, s + (1 if draw(st.integers(0, 6)) == 0 else 0))) for s in shape)
    if draw(st.integers(0, 9)) == 0:
        index_shape = index_shape[:-1]
    index = TensorSpec(draw(hnp.arrays("int64", index_shape, elements=bound)))
    if op == "gather":
        return Case("index.gather", (x, dim, index), seed=draw(seeds))
    src_shape = tuple(s + draw(st.sampled_from([0, 0, 0, 0, 1, -1])) for s in index_shape)
    src_shape = tuple(max(s, 0) for s in src_shape)
    src = draw(tensors(src_shape, dtype, views=False))
    return Case(f"index.{op}", (x, dim, index, src), seed=draw(seeds))


def _param(lo: int, hi: int, bad_lo: int):
    return st.one_of(st.integers(lo, hi), st.integers(bad_lo, hi))


@st.composite
def nn_cases(draw):
    op = draw(st.sampled_from(["linear", "conv1d", "conv2d", "max_pool2d", "avg_pool2d", "layer_norm"]))
    dtype = draw(st.sampled_from(["float32", "float32", "float32", "float64", "int64"]))
    int_dtype = dtype == "int64"

    def t(shape, **k):
        return tensors(shape, dtype, lo=-3, hi=3, **k)

    off = st.sampled_from([0, 0, 0, 0, 0, 1, -1])
    if op == "linear":
        lead = draw(shapes(max_dims=2, max_side=3))
        fin, fout = draw(st.integers(0, 4)), draw(st.integers(1, 4))
        x = draw(t(lead + (fin,)))
        w = draw(t((fout, max(fin + draw(off), 0))))
        bias = draw(st.one_of(st.none(), t((max(fout + draw(off), 0),))))
        return Case("nn.linear", (x, w, bias), seed=draw(seeds))
    if op in ("conv1d", "conv2d"):
        k = 1 if op == "conv1d" else 2
        groups = draw(st.sampled_from([1, 1, 2, 0]))
        g = max(groups, 1)
        cin = g * draw(st.integers(1, 2))
        cout = g * draw(st.integers(1, 2))
        spatial = tuple(draw(st.integers(1, 6)) for _ in range(k))
        ks = tuple(draw(st.integers(1, 3)) for _ in range(k))
        x = draw(t((draw(st.integers(1, 2)), cin + draw(off)) + spatial))
        w = draw(t((cout, cin // g) + ks))
        bias = draw(st.one_of(st.none(), t((max(cout + draw(off), 0),))))
        kwargs = {"stride": draw(_param(1, 2, -1)), "padding": draw(_param(0, 2, -1)),
                      "dilation": draw(_param(1, 2, -1)), "groups": groups}
        return Case(f"nn.{op}", (x, w, bias), kwargs, seed=draw(seeds))
    if op in ("max_pool2d", "avg_pool2d"):
        x = draw(tensors((draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 6)),
                          draw(st.integers(1, 6))), "float32" if int_dtype else dtype))
        kwargs = {"kernel_size": draw(_param(1, 3, 0)), "stride": draw(st.one_of(st.none(), _param(1, 2, -1))),
                      "padding": draw(_param(0, 1, -1))}
        if op == "max_pool2d":
            kwargs["dilation"] = draw(_param(1, 2, 0))
        kwargs["ceil_mode"] = draw(st.booleans())
        return Case(f"nn.{op}", (x,), kwargs, seed=draw(seeds))
    shape = draw(shapes(min_dims=1, max_dims=3, min_side=1))
    x = draw(tensors(shape, "float32" if int_dtype else dtype, huge=False))  # see strategies.NO_HUGE
    k = draw(st.integers(1, len(shape)))
    normalized = list(shape[len(shape) - k:])
    if draw(st.integers(0, 6)) == 0:
        normalized[0] += 1
    wshape = tuple(normalized) if draw(st.integers(0, 6)) else tuple(normalized[:-1]) + (normalized[-1] + 1,)
    w = draw(st.one_of(st.none(), tensors(wshape, "float32" if int_dtype else dtype)))
    b = draw(st.one_of(st.none(), tensors(tuple(normalized), "float32" if int_dtype else dtype)))
    return Case("nn.layer_norm", (x, normalized, w, b), seed=draw(seeds))


@st.composite
def loss_cases(draw):
    op = draw(st.sampled_from(["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy"]))
    dtype = draw(dtypes(floats_only=True))
    shape = draw(shapes(max_dims=3))
    tshape = shape if draw(st.integers(0, 6)) else draw(shapes(max_dims=3))
    if op == "binary_cross_entropy":
        unit = st.one_of(st.sampled_from([0.0, 1.0, 0.5]), st.floats(0, 1, width=32))
        x = TensorSpec(draw(hnp.arrays(dtype, shape, elements=unit)), (), True)
        y = TensorSpec(draw(hnp.arrays(dtype, tshape, elements=unit)))
    else:
        x = draw(tensors(shape, dtype, grad=True))
        y = draw(tensors(tshape, dtype))
    kwargs = {"reduction": draw(st.sampled_from(["mean", "sum", "none"]))}
    if op == "smooth_l1_loss":
        kwargs["beta"] = draw(st.sampled_from([1.0, 0.5, 0.0]))
    if op == "huber_loss":
        kwargs["delta"] = draw(st.sampled_from([1.0, 0.5, 2.0]))
    return Case(f"loss.{op}", (x, y), kwargs, seed=draw(seeds))


@st.composite
def matmul_cases(draw):
    if draw(st.integers(0, 3)) == 0:
        eq, dims = draw(st.sampled_from([("ij,jk->ik", "ij,jk"), ("ijk,jk->i", "ijk,jk"), ("bij,bjk->bik", "bij,bjk"),
                                         ("i,i->", "i,i"), ("ij->ji", "ij"), ("ij,kj", "ij,kj")]))
        sizes = {c: draw(st.integers(1, 3)) for c in set(dims) if c != ","}
        operands = []
        for sub in dims.split(","):
            shape = tuple(sizes[c] + (1 if draw(st.integers(0, 12)) == 0 else 0) for c in sub)
            operands.append(draw(tensors(shape, "float32")))
        return Case("einsum", (eq,) + tuple(operands), seed=draw(seeds))
    na, nb = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    m, k, n = draw(st.integers(0, 3)), draw(st.integers(0, 3)), draw(st.integers(0, 3))
    batch = tuple(draw(st.integers(1, 2)) for _ in range(max(na, nb) - 2))
    sa = (batch[len(batch) - (na - 2):] if na > 2 else ()) + ((m, k) if na >= 2 else (k,))
    kb = k + (1 if draw(st.integers(0, 8)) == 0 else 0)
    sb = (batch[len(batch) - (nb - 2):] if nb > 2 else ()) + ((kb, n) if nb >= 2 else (kb,))
    da = draw(st.sampled_from(["float32", "float32", "float64", "int64"]))
    db = da if draw(st.integers(0, 4)) else draw(st.sampled_from(["float32", "float64", "int64"]))
    return Case("matmul", (draw(tensors(sa, da, special=False)), draw(tensors(sb, db, special=False))),
                seed=draw(seeds))


@st.composite
def clamp_cases(draw):
    shape = draw(shapes(max_dims=3))
    x = draw(tensors(shape, draw(dtypes(floats_only=True))))
    bound = st.one_of(st.none(), st.floats(-2, 2, width=32), st.just(float("nan")),
                      tensors(shape, "float32", grad=False, views=False))
    lo, hi = draw(bound), draw(bound)
    return Case("clamp", (x,), {"min": lo, "max": hi}, seed=draw(seeds))


@st.composite
def activation_cases(draw):
    op = draw(st.sampled_from(ACTIVATIONS))
    x = draw(tensors(draw(shapes(max_dims=3)), draw(dtypes(floats_only=True))))
    kwargs = {}
    if op == "leaky_relu":
        kwargs["negative_slope"] = draw(st.sampled_from([0.01, 0.2, -0.5]))
    if op == "elu":
        kwargs["alpha"] = draw(st.sampled_from([1.0, 0.5]))
    if op == "softplus":
        kwargs = {"beta": draw(st.sampled_from([1.0, 2.0])), "threshold": draw(st.sampled_from([20.0, 1.0]))}
    return Case(f"act.{op}", (x,), kwargs, seed=draw(seeds))


FAMILIES = {
    "unary": (unary_cases, 60), "binary": (binary_cases, 60), "reduce": (reduction_cases, 50),
    "full_reduce": (full_reduction_cases, 25), "view": (view_cases, 50), "index": (index_cases, 50),
    "nn": (nn_cases, 50), "loss": (loss_cases, 40), "matmul": (matmul_cases, 30),
    "clamp": (clamp_cases, 25), "activation": (activation_cases, 30),
}


install_family_tests(FAMILIES, globals())
