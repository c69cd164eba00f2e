"""Ops called as torch's signatures allow: operands by keyword (``torch.mul(input=x,
other=y)``) and add/sub's ``alpha``, in the function, method and in-place forms, against
torch (values, dtypes, gradients, error types and messages)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import autodiff as ad

CALLS = [
    "L.mul(x, other=y)", "L.mul(input=x, other=y)", "L.maximum(x, other=y)", "L.exp(input=x)",
    "L.sum(input=x, dim=0)", "L.where(x > 1, input=x, other=y)",
    "L.where(condition=x > 1, input=x, other=y)", "x.mul(other=y)",
    "L.add(x, y, alpha=2.5)", "L.sub(x, y, alpha=-3)", "L.add(x, other=y, alpha=2)",
    "L.sub(x, 2, alpha=3)", "L.add(2, x, alpha=2)", "L.add(i, i, alpha=3)", "L.add(b, b, alpha=2)",
    "L.add(b, b, alpha=False)", "x.add(y, alpha=0.5)", "x.sub(y, alpha=2)",
    "x.clone().add_(y, alpha=2)", "x.clone().sub_(y, alpha=-1)",
    "L.pow(x, exponent=2)", "L.pow(input=x, exponent=y)", "x.pow(exponent=3)",
]

ERRORS = [
    "L.add(i, i, alpha=2.5)", "L.add(i, i, alpha=True)", "L.mul(x, y, other=y)",
]


def _operands(L):
    return {"L": L, "x": L.tensor([1.0, 2.0, 3.0]), "y": L.tensor([0.5, -1.0, 4.0]),
            "i": L.tensor([1, 2]), "b": L.tensor([True, False])}


@pytest.mark.parametrize("call", CALLS)
def test_call_matches_torch(call):
    expected = eval(call, _operands(torch))
    got = eval(call, _operands(ad))
    assert str(got.dtype).split(".")[-1] == str(expected.dtype).split(".")[-1]
    np.testing.assert_array_equal(got.numpy(), expected.numpy())


@pytest.mark.parametrize("call", ERRORS)
def test_bad_call_raises_torchs_error(call):
    with pytest.raises(Exception) as expected:
        eval(call, _operands(torch))
    with pytest.raises(expected.type) as got:
        eval(call, _operands(ad))
    if expected.type is RuntimeError:
        assert str(got.value) == str(expected.value)


def test_alpha_gradients_match_torch():
    grads = []
    for L in (torch, ad):
        x = L.tensor([1.0, 2.0], dtype=L.float64, requires_grad=True)
        y = L.tensor([3.0, -5.0], dtype=L.float64, requires_grad=True)
        (L.sub(x, y, alpha=2.5) * x + L.add(x, other=y, alpha=-3) * y).sum().backward()
        grads.append((x.grad.numpy(), y.grad.numpy()))
    for got, expected in zip(grads[1], grads[0]):
        np.testing.assert_allclose(got, expected)
    x = ad.tensor([1.0, 2.0], dtype=ad.float64, requires_grad=True)
    y = ad.tensor([3.0, -5.0], dtype=ad.float64, requires_grad=True)
    assert ad.autograd.gradcheck(lambda a, b: ad.sub(a, b, alpha=1.5), (x, y))
    assert ad.autograd.gradgradcheck(lambda a, b: ad.add(a, b, alpha=-2) * a, (x, y))


def test_alpha_on_meta_keeps_shape_and_dtype():
    x, y = ad.ones(2, 3, device="meta"), ad.ones(3, device="meta", dtype=ad.float64)
    out = ad.add(x, y, alpha=2)
    assert out.device.type == "meta" and out.shape == (2, 3) and out.dtype is ad.float64
