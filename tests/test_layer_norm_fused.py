"""The fused layer_norm (kernels/cpu/norm.py) against torch: values, gradients of input,
weight and bias, float32/float64, with and without affine parameters, a non-contiguous
input, the threaded path, and second-order gradients."""

import numpy as np
import pytest
import torch

import autodiff as ad
from autodiff.autograd import gradcheck, gradgradcheck

F, TF = ad.nn.functional, torch.nn.functional
CASES = [((4, 8), (8,)), ((2, 3, 4, 5), (4, 5)), ((8,), (8,)), ((600, 256), (256,))]  # the last: threaded


def _pair(a: np.ndarray):
    return ad.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,normalized", CASES)
@pytest.mark.parametrize("affine", ["both", "weight", "none"])
def test_values_and_gradients_match_torch(dtype, shape, normalized, affine):
    rs = np.random.RandomState(0)
    x = (rs.randn(*shape) * 3 + 5).astype(dtype)
    (X, tX), (W, tW), (B, tB) = _pair(x), _pair(rs.randn(*normalized).astype(dtype)), \
        _pair(rs.randn(*normalized).astype(dtype))
    ours = F.layer_norm(X, normalized, W if affine != "none" else None, B if affine == "both" else None, eps=1e-4)
    theirs = TF.layer_norm(tX, normalized, tW if affine != "none" else None, tB if affine == "both" else None,
                           eps=1e-4)
    assert type(ours.grad_fn).__name__ == type(theirs.grad_fn).__name__ == "NativeLayerNormBackward0"
    g = rs.randn(*shape).astype(dtype)
    ours.backward(ad.tensor(g))
    theirs.backward(torch.tensor(g))
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), **tol)
    np.testing.assert_allclose(X.grad.numpy(), tX.grad.numpy(), **tol)
    for mine, ref, used in ((W, tW, affine != "none"), (B, tB, affine == "both")):
        if used:
            np.testing.assert_allclose(mine.grad.numpy(), ref.grad.numpy(), **tol)
        else:
            assert mine.grad is None


def test_non_contiguous_input_and_broadcast_gradient():
    rs = np.random.RandomState(1)
    x = rs.randn(6, 5)
    X, tX = _pair(x)
    ours = F.layer_norm(X.t(), (6,))
    theirs = TF.layer_norm(tX.t(), (6,))
    ours.sum().backward()  # a broadcast (stride 0) upstream gradient
    theirs.sum().backward()
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(X.grad.numpy(), tX.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_gradcheck_and_gradgradcheck():
    rs = np.random.RandomState(2)
    x, w, b = (ad.tensor(rs.randn(*s), requires_grad=True) for s in ((3, 4), (4,), (4,)))

    def fn(x, w, b):
        return F.layer_norm(x, (4,), w, b)
    assert gradcheck(fn, (x, w, b))
    assert gradgradcheck(fn, (x, w, b))


def test_second_order_matches_torch():
    rs = np.random.RandomState(3)
    x, w = rs.randn(3, 5), rs.randn(5)
    (X, tX), (W, tW) = _pair(x), _pair(w)
    outs = []
    for lib, a, b in ((ad, X, W), (torch, tX, tW)):
        y = lib.nn.functional.layer_norm(a, (5,), b)
        gx, = lib.autograd.grad((y * y * y).sum(), a, create_graph=True)
        outs.append(lib.autograd.grad((gx * gx).sum(), (a, b)))
    for mine, ref in zip(*outs):
        np.testing.assert_allclose(mine.numpy(), ref.numpy(), rtol=1e-8, atol=1e-10)
