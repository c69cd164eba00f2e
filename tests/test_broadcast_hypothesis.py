"""Property tests: elementwise kernels over random shapes, strides and broadcasts."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import autodiff as ad

SETTINGS = settings(max_examples=60, deadline=None)


@st.composite
def strided_arrays(draw, shape, dtype=np.float64):
    """An array of ``shape`` that may be a strided (step or transposed) view of a bigger one."""
    step = draw(st.sampled_from([1, 1, 2, 3]))
    transpose = draw(st.booleans()) and len(shape) >= 2
    base_shape = tuple(reversed(shape)) if transpose else shape
    base_shape = base_shape[:-1] + (base_shape[-1] * step,) if base_shape else base_shape
    base = draw(hnp.arrays(dtype, base_shape, elements=st.floats(-10, 10, width=64)))
    view = base[..., ::step] if base_shape else base
    return view.T if transpose else view


@st.composite
def broadcast_pairs(draw):
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=4, max_side=4))
    a = draw(strided_arrays(shapes.input_shapes[0]))
    b = draw(strided_arrays(shapes.input_shapes[1]))
    return a, b


@SETTINGS
@given(broadcast_pairs(), st.sampled_from(["add", "sub", "mul", "maximum", "minimum", "lt"]))
def test_binary_ops_match_numpy(pair, name):
    a, b = pair
    ours = getattr(ad, name)(ad.from_numpy(a), ad.from_numpy(b))
    ref = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "maximum": np.maximum,
           "minimum": np.minimum, "lt": np.less}[name](a, b)
    assert ours.shape == ref.shape
    np.testing.assert_array_equal(ours.numpy(), ref)


@SETTINGS
@given(broadcast_pairs())
def test_broadcast_gradients_sum_over_expanded_dims(pair):
    a, b = pair
    ta = ad.from_numpy(a.copy()).requires_grad_()
    tb = ad.from_numpy(b.copy()).requires_grad_()
    (ta * tb).sum().backward()
    full = np.broadcast_shapes(a.shape, b.shape)
    expected_a = np.broadcast_to(b, full)
    # reduce the broadcast gradient back to a's shape
    lead = len(full) - a.ndim
    ga = expected_a.sum(axis=tuple(range(lead))) if lead else expected_a
    ga = ga.sum(axis=tuple(i for i, n in enumerate(a.shape) if n == 1 and ga.shape[i] != 1), keepdims=True)
    assert ta.grad.shape == a.shape and tb.grad.shape == b.shape
    np.testing.assert_allclose(ta.grad.numpy(), ga.reshape(a.shape), rtol=1e-10, atol=1e-10)


@SETTINGS
@given(hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5).flatmap(strided_arrays))
def test_unary_ops_keep_layout_semantics(a):
    t = ad.from_numpy(a)
    np.testing.assert_allclose(t.tanh().numpy(), np.tanh(a), rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(t.abs().numpy(), np.abs(a))
    out = ad.from_numpy(a.copy())
    out.mul_(2.0)
    np.testing.assert_array_equal(out.numpy(), a * 2)
