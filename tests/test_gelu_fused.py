"""GELU's fused backward (the ``gelu_backward`` op, one kernel) against torch: first and
second-order gradients, float32/float64, contiguous and broadcast upstream gradients."""

import numpy as np
import pytest
import torch

import autodiff as ad
from autodiff.autograd import gradcheck, gradgradcheck


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [7, 200_000])  # serial and threaded kernels
def test_gradient_matches_torch(dtype, n):
    x = (np.random.RandomState(0).randn(n) * 3).astype(dtype)
    X, tX = ad.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    g = np.random.RandomState(1).randn(n).astype(dtype)
    ad.nn.functional.gelu(X).backward(ad.tensor(g))
    torch.nn.functional.gelu(tX).backward(torch.tensor(g))
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(X.grad.numpy(), tX.grad.numpy(), rtol=tol, atol=tol)
    ours = ad.ops.elementwise.gelu_backward(ad.tensor(g), ad.tensor(x))
    theirs = torch.ops.aten.gelu_backward(torch.tensor(g), torch.tensor(x))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=tol, atol=tol)


def test_second_order_matches_torch():
    x = np.random.RandomState(2).randn(3, 4)
    X, tX = ad.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    outs = []
    for lib, a in ((ad, X), (torch, tX)):
        gx, = lib.autograd.grad(lib.nn.functional.gelu(a).sum(), a, create_graph=True)  # broadcast grad
        outs.append(lib.autograd.grad((gx * gx * a).sum(), a)[0])
    np.testing.assert_allclose(outs[0].numpy(), outs[1].numpy(), rtol=1e-10, atol=1e-12)


def test_gradcheck_and_gradgradcheck_of_the_backward_op():
    rs = np.random.RandomState(3)
    g, x = (ad.tensor(rs.randn(5), requires_grad=True) for _ in range(2))
    fn = ad.ops.elementwise.gelu_backward
    assert gradcheck(fn, (g, x))
    assert gradgradcheck(fn, (g, x))
