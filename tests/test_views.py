"""Views: storage sharing, version counters, view() errors, reshape copying only when it
must, and in-place writes through views (CopySlices) matched against torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import autodiff as ad

VIEWS = {
    "view": lambda x: x.view(4, 6), "reshape": lambda x: x.reshape(-1), "flatten": lambda x: x.flatten(1),
    "unflatten": lambda x: x.unflatten(1, (3, 2)), "squeeze": lambda x: x[None].squeeze(0),
    "unsqueeze": lambda x: x.unsqueeze(1), "transpose": lambda x: x.transpose(0, 1), "t": lambda x: x.t(),
    "T": lambda x: x.T, "mT": lambda x: x.mT, "permute": lambda x: x.permute(1, 0),
    "expand": lambda x: x[:, :1].expand(4, 3), "expand_as": lambda x: x[:1].expand_as(x),
    "broadcast_to": lambda x: ad.broadcast_to(x[0], (2, 6)), "as_strided": lambda x: x.as_strided((2, 2), (1, 2)),
    "narrow": lambda x: x.narrow(1, 2, 3), "unfold": lambda x: x.unfold(1, 2, 2), "diagonal": lambda x: x.diagonal(),
    "split": lambda x: x.split(2, 1)[1], "chunk": lambda x: x.chunk(2)[1], "unbind": lambda x: x.unbind(1)[3],
    "movedim": lambda x: x.movedim(0, 1), "getitem": lambda x: x[1:, None, ::2], "select": lambda x: x[2],
    "contiguous": lambda x: x.contiguous(),
}


@pytest.mark.parametrize("name", VIEWS)
def test_views_share_storage_and_version_counter(name):
    x = ad.arange(24.0).reshape(4, 6)
    v = VIEWS[name](x)
    assert np.shares_memory(v.numpy(), x.numpy())
    before = x._version
    x.add_(1)
    assert v._version == x._version == before + 1
    if v.numpy().flags.writeable:
        v.mul_(2)
        assert x._version == before + 2
        np.testing.assert_allclose(VIEWS[name](x).numpy(), v.numpy())


def test_view_raises_when_strides_do_not_allow_it():
    x = ad.zeros(4, 6).t()
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        x.view(24)
    with pytest.raises(RuntimeError, match="invalid for input of size"):
        ad.zeros(4).view(3)


def test_reshape_copies_only_when_it_must():
    x = ad.zeros(4, 6)
    assert np.shares_memory(x.reshape(3, 8).numpy(), x.numpy())
    assert not np.shares_memory(x.t().reshape(24).numpy(), x.numpy())


def test_view_errors():
    x = ad.zeros(2, 3)
    with pytest.raises(RuntimeError, match="exceeds dimension size"):
        x.narrow(0, 1, 5)
    with pytest.raises(RuntimeError, match="t\\(\\) expects a tensor with <= 2 dimensions"):
        ad.zeros(2, 2, 2).t()
    with pytest.raises(RuntimeError, match="out of bounds for storage"):
        x.as_strided((3, 3), (3, 1))
    with pytest.raises(ValueError, match="step must be greater than zero"):
        x[::-1]


def _write(y, w, case):
    if case == "select_mul":
        y[0].mul_(w[0])
    elif case == "slice_setitem":
        y[1:, 1:3] = w
    elif case == "view_add":
        y.view(-1).add_(w[1])
    elif case == "transposed_slice":
        y.t()[1:3, 0].mul_(w)
    elif case == "nested_views":
        y[1:][0].unsqueeze(0).copy_(w.sum())


@pytest.mark.parametrize("case", ["select_mul", "slice_setitem", "view_add", "transposed_slice", "nested_views"])
def test_inplace_through_views_matches_torch(case):
    grads = []
    for m in (ad, torch):
        x = m.arange(12.0).reshape(3, 4).requires_grad_()
        w = m.tensor([5.0, 6.0], requires_grad=True)
        y = x * 1
        _write(y, w, case)
        (y * y).sum().backward()
        grads.append((x.grad.numpy(), w.grad.numpy(), y.detach().numpy()))
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b)


def test_write_into_view_of_plain_tensor_makes_it_require_grad():
    x = ad.zeros(3)
    w = ad.tensor([1.0, 2.0], requires_grad=True)
    x[1:] = w
    assert type(x.grad_fn).__name__ == "CopySlices" and not x.is_leaf
    (x * x).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [2.0, 4.0])


def test_double_backward_through_view_write():
    x = ad.tensor([1.0, 2.0, 3.0], dtype=ad.float64, requires_grad=True)

    def f(a):
        y = a * a
        y[1:].mul_(a[:2])
        return y

    assert ad.autograd.gradcheck(f, (x,))
    assert ad.autograd.gradgradcheck(f, (x,))


def test_view_of_leaf_in_place_raises():
    w = ad.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
        w[0].add_(1)


def test_detach_is_not_a_differentiable_view():
    x = ad.ones(3, requires_grad=True)
    y = x * 2
    d = y.detach()
    d.zero_()
    assert d._base is None and y._version == 1


def test_write_through_one_view_updates_other_views_gradients():
    grads = []
    for lib in (ad, torch):
        x = lib.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
        y = x * 1
        a = y[:2]  # a view that exists before the write below
        b = y[1:3]
        b.mul_(10)
        (a * lib.tensor([1.0, 100.0])).sum().backward()
        grads.append(x.grad.tolist())
    assert grads[0] == grads[1] == [1.0, 1000.0, 0.0, 0.0]


def test_as_strided_of_overlapping_memory_with_grad_is_refused_not_wrong():
    e = (ad.ones(1, requires_grad=True) * 1).expand(3)
    with pytest.raises(NotImplementedError, match="overlap in memory"):
        ad.as_strided(e, (3,), (0,))
