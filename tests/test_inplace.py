"""In-place ops: results, version counters, and PyTorch's in-place autograd errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import autodiff as ad

INPLACE_UNARY = ["neg_", "abs_", "exp_", "log_", "log1p_", "expm1_", "sqrt_", "rsqrt_", "sin_",
                 "cos_", "tanh_", "sigmoid_", "relu_", "sign_", "floor_", "ceil_", "round_",
                 "square_", "zero_"]


@pytest.mark.parametrize("name", INPLACE_UNARY)
def test_inplace_unary_matches_torch(name):
    values = np.random.default_rng(0).uniform(0.1, 2.0, size=(3, 4)).astype(np.float32)
    x = ad.from_numpy(values.copy())
    xt = torch.from_numpy(values.copy())
    out = getattr(x, name)()
    getattr(xt, name)()
    assert out is x
    np.testing.assert_allclose(x.numpy(), xt.numpy(), rtol=2e-6, atol=1e-7)
    assert x._version == 1


@pytest.mark.parametrize("name, other", [("add_", 2.0), ("sub_", 0.5), ("mul_", -3.0), ("div_", 4.0),
                                         ("pow_", 2.0), ("clamp_min_", 0.5), ("clamp_max_", 0.5)])
def test_inplace_binary_with_scalars_and_tensors(name, other):
    values = np.arange(1, 7, dtype=np.float32).reshape(2, 3) / 3
    x, xt = ad.from_numpy(values.copy()), torch.from_numpy(values.copy())
    getattr(x, name)(other)
    getattr(xt, name)(other)
    np.testing.assert_allclose(x.numpy(), xt.numpy(), rtol=1e-6)
    row = ad.tensor([1.0, 2.0, 3.0])
    getattr(x, name)(row)
    getattr(xt, name)(torch.tensor([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(x.numpy(), xt.numpy(), rtol=1e-6)


def test_augmented_assignment_is_in_place():
    x = ad.ones(3)
    data = x.numpy()
    x += 1
    x *= ad.tensor([1.0, 2.0, 3.0])
    x -= 0.5
    x /= 2
    assert x.numpy() is data
    np.testing.assert_allclose(data, [0.75, 1.75, 2.75])
    assert x._version == 4


def test_fill_copy_clamp_and_add_alpha():
    x = ad.zeros(2, 3)
    x.fill_(2.5)
    np.testing.assert_allclose(x.numpy(), np.full((2, 3), 2.5))
    x.copy_(ad.tensor([1.0, -2.0, 3.0]))
    np.testing.assert_allclose(x.numpy(), [[1.0, -2.0, 3.0]] * 2)
    x.clamp_(-1.0, 2.0)
    np.testing.assert_allclose(x.numpy(), [[1.0, -1.0, 2.0]] * 2)
    x.add_(ad.ones(3), alpha=2)
    np.testing.assert_allclose(x.numpy(), [[3.0, 1.0, 4.0]] * 2)
    n = ad.zeros(2, dtype=ad.int64)
    n.copy_(ad.tensor([1.7, -2.2]))
    assert n.tolist() == [1, -2]


def test_inplace_on_leaf_requiring_grad_raises():
    w = ad.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place operation."):
        w.add_(1)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        w *= 2


def test_inplace_update_allowed_under_no_grad():
    w = ad.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    with ad.no_grad():
        w -= 0.1 * w.grad
    np.testing.assert_allclose(w.numpy(force=True), [0.8, 1.6], rtol=1e-6)
    assert w.is_leaf and w.requires_grad


def test_modified_saved_tensor_is_detected_with_versions():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    z = y.exp()  # saves its result
    z.add_(1)
    with pytest.raises(RuntimeError, match=r"modified by an inplace operation: \[autodiff.FloatTensor \[2\]\], "
                                           r"which is output 0 of Exp, is at version 1; expected version 0 instead"):
        z.sum().backward()

    a = ad.tensor([1.0, 2.0], requires_grad=True)
    b = a * 1
    c = b * b  # saves b as an input
    b.mul_(3)
    with pytest.raises(RuntimeError, match=r"is at version 1; expected version 0 instead"):
        c.sum().backward()


def test_inplace_on_unsaved_input_is_fine():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    z = y + 1  # add saves nothing
    y.mul_(2)
    z.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 1.0])


def test_inplace_op_joins_the_graph():
    x = ad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    y.mul_(x * 2)  # rules read the value before the write
    y.exp_()
    y.sum().backward()
    assert type(y.grad_fn).__name__ == "ExpBackward0"
    values = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(x.grad.numpy(), np.exp(4 * values ** 2) * 8 * values, rtol=1e-5)

    xt = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    a = ad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b, bt = a * 2, xt * 2
    b.mul_(3)
    bt.mul_(3)
    b.exp_()
    bt.exp_()
    b.sum().backward()
    bt.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), xt.grad.numpy(), rtol=1e-6)
    c = a * 2
    c.exp_()  # saves its result ...
    c.mul_(3)  # ... which this changes
    with pytest.raises(RuntimeError, match="output 0 of Exp, is at version 2; expected version 1"):
        c.sum().backward()


def test_inplace_makes_a_plain_tensor_require_grad():
    a = ad.zeros(2)
    w = ad.tensor([1.0, 2.0], requires_grad=True)
    a.add_(w * 3)
    assert a.requires_grad and not a.is_leaf
    a.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [3.0, 3.0])


def test_views_share_the_version_counter_and_storage():
    x = ad.zeros(2, 3)
    v = x.view(6)
    e = x[0] if hasattr(ad.Tensor, "__getitem__") else x.reshape(3, 2)
    v.add_(1)
    assert x._version == v._version == e._version == 1
    np.testing.assert_allclose(x.numpy(), np.ones((2, 3)))


def test_inplace_errors_for_dtype_and_shape():
    n = ad.tensor([1, 2])
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        n.mul_(1.5)
    x = ad.ones(3)
    with pytest.raises(RuntimeError, match=r"output with shape \[3\] doesn't match the broadcast shape \[2, 3\]"):
        x.add_(ad.ones(2, 3))
    e = ad.ones(1).expand(3)
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor refers to a single memory location"):
        e.add_(1)


def test_inplace_with_partially_overlapping_operand():
    x = ad.arange(6, dtype=ad.float32)
    tail = ad.from_numpy(x.numpy()[1:])
    head = ad.from_numpy(x.numpy()[:-1])
    tail.add_(head)  # reads the old values, as if head were copied first
    np.testing.assert_allclose(x.numpy(), [0, 1, 3, 5, 7, 9])
