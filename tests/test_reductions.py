"""Reduction semantics beyond the op table: accuracy, stability, named tuples, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import autodiff as ad


def test_float32_sum_of_ten_million_tenths_is_accurate():
    x = ad.full((10_000_000,), 0.1, dtype=ad.float32)
    assert abs(x.sum().item() - 1e6) / 1e6 < 1e-5


@pytest.mark.parametrize("fn", ["softmax", "log_softmax", "logsumexp"])
def test_softmax_family_is_stable_for_huge_inputs(fn):
    values = np.array([[1e4, -1e4, 0.0, 1e4 - 1.0], [-1e4, -1e4 + 2.0, -1e4, -1e4]], np.float32)
    x = ad.tensor(values, requires_grad=True)
    y = getattr(x, fn)(dim=1)
    ref = getattr(torch.tensor(values), fn)(dim=1)
    assert np.isfinite(y.detach().numpy()).all()
    np.testing.assert_allclose(y.detach().numpy(), ref.numpy(), rtol=1e-5, atol=1e-6)
    (y * ad.tensor(np.arange(y.numel(), dtype=np.float32).reshape(y.shape))).sum().backward()
    assert np.isfinite(x.grad.numpy()).all()


def test_max_with_dim_returns_named_values_and_indices():
    x = ad.tensor([[1.0, 5.0, 5.0], [7.0, -1.0, 2.0]])
    out = x.max(dim=1)
    assert out.values.tolist() == [5.0, 7.0] and out.indices.tolist() == [1, 0]
    values, indices = ad.min(x, 0, keepdim=True)
    assert values.shape == (1, 3) and indices.tolist() == [[0, 1, 1]]
    assert indices.dtype is ad.int64 and not indices.requires_grad


def test_max_nan_propagates_and_argmax_picks_nan_like_torch():
    values = [1.0, float("nan"), 3.0]
    x, xt = ad.tensor(values), torch.tensor(values)
    assert np.isnan(x.max().item()) and np.isnan(x.amax(0).item())
    assert x.argmax().item() == xt.argmax().item()


def test_full_max_gradient_is_shared_among_ties():
    x = ad.tensor([3.0, 1.0, 3.0], requires_grad=True)
    x.max().backward()
    xt = torch.tensor([3.0, 1.0, 3.0], requires_grad=True)
    xt.max().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy())


def test_argmax_and_bool_reductions():
    x = ad.tensor([[1.0, 9.0], [4.0, 2.0]])
    assert x.argmax().item() == 1 and x.argmax(dim=0).tolist() == [1, 0]
    assert x.argmin(dim=1, keepdim=True).tolist() == [[0], [1]]
    b = x > 3
    assert b.any().item() and not b.all().item() and b.all(dim=0).tolist() == [False, False]
    assert ad.tensor([]).all().item() is True and ad.tensor([]).any().item() is False


def test_reduction_errors():
    with pytest.raises(RuntimeError, match="Expected reduction dim to be specified for input.numel\\(\\) == 0"):
        ad.tensor([]).max()
    with pytest.raises(IndexError, match="Expected reduction dim 0 to have non-zero size"):
        ad.zeros(0, 3).amax(dim=0)
    with pytest.raises(IndexError, match="Dimension out of range"):
        ad.zeros(2, 3).sum(dim=2)
    with pytest.raises(RuntimeError, match="mean\\(\\): could not infer output dtype"):
        ad.tensor([1, 2]).mean()


def test_integer_sums_promote_to_int64():
    assert ad.tensor([True, True, False]).sum().item() == 2
    assert ad.tensor([True, True]).sum().dtype is ad.int64
    assert ad.tensor([[1, 2], [3, 4]]).prod(dim=1).tolist() == [2, 12]
    assert ad.tensor([1.5, 2.5]).sum(dtype=ad.float64).dtype is ad.float64


@pytest.mark.parametrize("dims", [(0, 2), (1,), (0, 1, 2), (2, 0)])
def test_reductions_over_non_adjacent_dims(dims):
    values = np.random.default_rng(3).standard_normal((3, 4, 5))
    x = ad.tensor(values, requires_grad=True)
    xt = torch.tensor(values, requires_grad=True)
    y, yt = x.sum(dim=dims), xt.sum(dim=dims)
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=1e-12)
    (y * y).sum().backward()
    (yt * yt).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("name,args", [("sum", (1,)), ("mean", (1, True)), ("amax", (2,)), ("softmax", (1,)),
                                       ("log_softmax", (2,)), ("logsumexp", (1,)), ("cumsum", (1,)),
                                       ("prod", (1,)), ("var", (1,)), ("transpose", (0, 2))])
def test_positional_dims_reach_the_backward(name, args):
    """x.sum(1) as x.sum(dim=1): the backward rules read the dim given positionally."""
    values = np.random.default_rng(0).random((4, 3, 5))
    a, b = ad.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
    ya, yb = getattr(a, name)(*args), getattr(b, name)(*args)
    seed = np.random.default_rng(1).random(tuple(yb.shape))
    ya.backward(ad.tensor(seed))
    yb.backward(torch.tensor(seed))
    np.testing.assert_allclose(ya.detach().numpy(), yb.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10)


def test_positional_and_keyword_dim_together_is_a_type_error():
    x = ad.ones(2, 3)
    with pytest.raises(TypeError, match="multiple values for argument 'dim'"):
        x.sum(1, dim=0)
