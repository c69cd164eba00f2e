"""How backward hands gradients to the leaves' ``.grad``: kept as they are where nothing
else can see them, copied where another leaf or the caller holds the same tensor."""

import numpy as np

import autodiff as ad


def test_a_gradient_two_leaves_receive_is_copied_for_each():
    a, b = ad.ones(3, requires_grad=True), ad.ones(3, requires_grad=True)
    (a + b).backward(ad.ones(3))  # AddBackward passes one gradient tensor to both leaves
    a.grad.add_(1.0)
    assert b.grad.tolist() == [1.0, 1.0, 1.0]


def test_the_callers_gradient_is_not_kept_as_grad():
    x = ad.ones(3, requires_grad=True)
    seed = ad.ones(3)
    (x * 1.0).backward(seed)  # MulBackward by 1.0: a new tensor, yet the same values
    y = ad.ones(3, requires_grad=True)
    y.backward(seed)  # y is the root: its gradient is the caller's tensor itself
    seed.add_(5.0)
    assert y.grad.tolist() == [1.0, 1.0, 1.0] and x.grad.tolist() == [1.0, 1.0, 1.0]


class _Handed(ad.autograd.Function):
    """The identity; its backward returns a fresh gradient and remembers it."""

    returned = []

    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, grad):
        g = grad * 2.0
        _Handed.returned.append(g)
        return g


def test_a_gradient_one_leaf_alone_receives_is_kept_without_a_copy():
    # Many gradients are made and freed before the leaf's arrives, so a new tensor may sit
    # at the address of a freed one: that must not make it look delivered twice.
    for _ in range(20):
        x = ad.ones(8, requires_grad=True)
        h = _Handed.apply(x)
        for _ in range(30):
            h = (h * 1.0 + 0.0).tanh()
        h.sum().backward()
        assert np.shares_memory(x.grad.numpy(), _Handed.returned[-1].numpy())
    np.testing.assert_allclose(x.grad.numpy(), _Handed.returned[-1].numpy())
