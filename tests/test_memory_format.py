"""``channels_last`` against torch: strides of to/contiguous/clone/empty_like, the
is_contiguous checks, and convolution, pooling and gradients on channels-last inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import autodiff as ad


def _pair(shape=(2, 3, 4, 5)):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    return ad.from_numpy(x.copy()), torch.from_numpy(x.copy())


@pytest.mark.parametrize("make", [
    lambda m, x: x.to(memory_format=m.channels_last),
    lambda m, x: x.contiguous(memory_format=m.channels_last),
    lambda m, x: x.to(memory_format=m.channels_last).contiguous(),
    lambda m, x: x.to(memory_format=m.channels_last).clone(),
    lambda m, x: x.to(memory_format=m.channels_last).clone(memory_format=m.contiguous_format),
    lambda m, x: m.zeros_like(x.to(memory_format=m.channels_last)),
    lambda m, x: m.ones_like(x, memory_format=m.channels_last),
    lambda m, x: m.full_like(x.to(memory_format=m.channels_last), 2.0, memory_format=m.contiguous_format),
    lambda m, x: x[:, :1].to(memory_format=m.channels_last),
    lambda m, x: x.to(m.float64, memory_format=m.channels_last),
])
def test_layouts_match_torch(make):
    a, t = _pair()
    out, ref = make(ad, a), make(torch, t)
    assert out.stride() == ref.stride()
    for fmt in ("contiguous_format", "channels_last"):
        assert out.is_contiguous(memory_format=getattr(ad, fmt)) == ref.is_contiguous(
            memory_format=getattr(torch, fmt))
    np.testing.assert_array_equal(out.numpy(), ref.numpy())


def test_empty_like_keeps_channels_last():
    a, t = _pair()
    out = ad.empty_like(a.to(memory_format=ad.channels_last))
    ref = torch.empty_like(t.to(memory_format=torch.channels_last))
    assert out.stride() == ref.stride() and out.is_contiguous(memory_format=ad.channels_last)


def test_size_one_dims_and_errors_match_torch():
    for shape in [(1, 3, 1, 1), (2, 1, 4, 4), (2, 3, 1, 5)]:
        a, t = _pair(shape)
        assert a.is_contiguous(memory_format=ad.channels_last) == t.is_contiguous(memory_format=torch.channels_last)
    with pytest.raises(RuntimeError, match="required rank 4 tensor to use channels_last format"):
        ad.ones(2, 3).contiguous(memory_format=ad.channels_last)
    with pytest.raises(RuntimeError, match="required rank 4 tensor to use channels_last format"):
        torch.ones(2, 3).contiguous(memory_format=torch.channels_last)


def test_conv_pool_and_gradients_on_channels_last_input():
    a, t = _pair((2, 3, 6, 6))
    a.requires_grad_()
    t.requires_grad_()
    conv = ad.nn.Conv2d(3, 4, 3, padding=1)
    tconv = torch.nn.Conv2d(3, 4, 3, padding=1)
    with ad.no_grad():
        conv.weight.copy_(ad.from_numpy(tconv.weight.detach().numpy().copy()))
        conv.bias.copy_(ad.from_numpy(tconv.bias.detach().numpy().copy()))
    out = ad.nn.functional.max_pool2d(conv(a.to(memory_format=ad.channels_last)).relu(), 2)
    ref = torch.nn.functional.max_pool2d(tconv(t.to(memory_format=torch.channels_last)).relu(), 2)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-5, atol=1e-6)
    out.sum().backward()
    ref.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(conv.weight.grad.numpy(), tconv.weight.grad.numpy(), rtol=1e-4, atol=1e-5)


# ---- layers return torch's memory format for channels_last inputs ---------------------------

LAYERS_CL = [
    ("conv2d", lambda f, m, x: f.conv2d(x, m.ones(4, 3, 3, 3) * 0.1, m.ones(4), padding=1, stride=(1, 2))),
    ("conv2d_groups", lambda f, m, x: f.conv2d(x, m.ones(3, 1, 2, 2) * 0.1, groups=3)),
    ("max_pool2d", lambda f, m, x: f.max_pool2d(x, 2)),
    ("max_pool2d_indices", lambda f, m, x: f.max_pool2d(x, 2, return_indices=True)[1]),
    ("avg_pool2d", lambda f, m, x: f.avg_pool2d(x, 3, 2, 1)),
    ("adaptive_avg_pool2d", lambda f, m, x: f.adaptive_avg_pool2d(x, (3, 2))),
]


@pytest.mark.parametrize("name, f", LAYERS_CL, ids=[c[0] for c in LAYERS_CL])
def test_layers_on_channels_last_inputs_keep_the_format_like_torch(name, f):
    import torch.nn.functional as TF

    import autodiff.nn.functional as F

    x = np.random.default_rng(3).standard_normal((2, 3, 8, 7)).astype(np.float32)
    ours = ad.tensor(x).to(memory_format=ad.channels_last).requires_grad_()
    theirs = torch.tensor(x).to(memory_format=torch.channels_last).requires_grad_()
    out, ref = f(F, ad, ours), f(TF, torch, theirs)
    assert out.stride() == ref.stride() and out.is_contiguous(memory_format=ad.channels_last)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-5, atol=1e-6)
    if out.dtype.is_floating_point:
        (out * out).sum().backward()
        (ref * ref).sum().backward()
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-5, atol=1e-5)


def test_module_to_channels_last_converts_4d_parameters_like_torch():
    ours, theirs = ad.nn.Conv2d(3, 4, 3), torch.nn.Conv2d(3, 4, 3)
    ours.to(memory_format=ad.channels_last)
    theirs.to(memory_format=torch.channels_last)
    assert ours.weight.stride() == theirs.weight.stride() and isinstance(ours.weight, ad.nn.Parameter)
    assert ours.bias.stride() == theirs.bias.stride()
    x = np.random.default_rng(4).standard_normal((2, 3, 6, 6)).astype(np.float32)
    assert ours(ad.tensor(x)).stride() == theirs(torch.tensor(x)).stride()


# ---- conv2d reads channels_last inputs in place (NHWC im2col) -------------------------------

CONV_CL_CASES = [  # (N, C, H, W), out_channels, kernel, stride, padding, dilation, groups
    ((2, 4, 7, 9), 6, 3, 1, 1, 1, 1),
    ((3, 6, 8, 5), 4, (2, 3), (2, 1), (1, 2), (1, 2), 2),
    ((1, 3, 6, 6), 3, 3, 2, 0, 1, 3),
    ((2, 5, 5, 7), 3, 1, 1, 0, 1, 1),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("weight_cl", [False, True])
@pytest.mark.parametrize("shape, out_ch, k, stride, padding, dilation, groups", CONV_CL_CASES)
def test_conv2d_on_channels_last_input_matches_torch(shape, out_ch, k, stride, padding, dilation, groups,
                                                     weight_cl, dtype):
    rng = np.random.default_rng(5)
    ks = (k, k) if isinstance(k, int) else k
    x = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal((out_ch, shape[1] // groups) + ks).astype(dtype)
    b = rng.standard_normal(out_ch).astype(dtype)
    results = []
    for m in (ad, torch):
        xt = m.tensor(x).to(memory_format=m.channels_last).requires_grad_()
        wt = m.tensor(w)
        wt = (wt.to(memory_format=m.channels_last) if weight_cl else wt).requires_grad_()
        bt = m.tensor(b).requires_grad_()
        y = m.nn.functional.conv2d(xt, wt, bt, stride=stride, padding=padding, dilation=dilation, groups=groups)
        g = m.tensor(np.random.default_rng(6).standard_normal(tuple(y.shape)).astype(dtype))
        grads = m.autograd.grad(y, (xt, wt, bt), g.to(memory_format=m.channels_last))
        results.append((y, grads))
    (y, grads), (ref, ref_grads) = results
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == "float32" else dict(rtol=1e-10, atol=1e-10)
    assert y.stride() == ref.stride()
    np.testing.assert_allclose(y.detach().numpy(), ref.detach().numpy(), **tol)
    for got, want in zip(grads, ref_grads):  # strides of size-1 dimensions are arbitrary
        assert [st for st, n in zip(got.stride(), got.shape) if n > 1] == \
            [st for st, n in zip(want.stride(), want.shape) if n > 1]
        np.testing.assert_allclose(got.numpy(), want.numpy(), **tol)


def test_conv2d_channels_last_makes_no_copy_of_the_input(monkeypatch):
    from autodiff.backends.cpu import CPUBackend

    x = ad.randn(2, 8, 9, 9).to(memory_format=ad.channels_last).requires_grad_()
    w = ad.randn(4, 8, 3, 3).requires_grad_()
    copied = []
    real = CPUBackend.copy

    def counting_copy(src, np_dtype=None):
        copied.append(src.size)
        return real(src, np_dtype)

    monkeypatch.setattr(CPUBackend, "copy", staticmethod(counting_copy))
    y = ad.nn.functional.conv2d(x, w, padding=1)
    gx, gw = ad.autograd.grad(y, (x, w), ad.ones_like(y))  # ones_like keeps channels_last
    assert copied and x.numel() not in copied  # the (small) weight is reordered, the input is not
    assert y.is_contiguous(memory_format=ad.channels_last) and gx.is_contiguous(memory_format=ad.channels_last)
    ref = torch.nn.functional.conv2d(torch.from_numpy(x.detach().numpy()), torch.from_numpy(w.detach().numpy()),
                                     padding=1)
    np.testing.assert_allclose(y.detach().numpy(), ref.numpy(), rtol=1e-4, atol=1e-4)


def test_conv2d_meta_reports_channels_last_strides_like_torch():
    x = ad.empty(2, 3, 8, 7, device="meta").to(memory_format=ad.channels_last)
    tx = torch.empty(2, 3, 8, 7, device="meta").to(memory_format=torch.channels_last)
    y = ad.nn.functional.conv2d(x, ad.empty(4, 3, 3, 3, device="meta"), padding=1)
    ref = torch.nn.functional.conv2d(tx, torch.empty(4, 3, 3, 3, device="meta"), padding=1)
    assert y.shape == ref.shape and y.stride() == ref.stride()


# ---- pooling reads and writes channels_last arrays in place ----------------------------------

POOL_CL_CASES = [
    ("max", lambda f, x: f.max_pool2d(x, 2)),
    ("max_pad_dil_ceil", lambda f, x: f.max_pool2d(x, (3, 2), stride=(2, 1), padding=1, dilation=(1, 2),
                                                   ceil_mode=True)),
    ("avg", lambda f, x: f.avg_pool2d(x, 3, 2, 1)),
    ("avg_ceil_nopad_count", lambda f, x: f.avg_pool2d(x, (2, 3), stride=2, padding=(1, 1), ceil_mode=True,
                                                       count_include_pad=False)),
    ("avg_divisor", lambda f, x: f.avg_pool2d(x, 2, divisor_override=3)),
    ("adaptive", lambda f, x: f.adaptive_avg_pool2d(x, (3, 4))),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name, pool", POOL_CL_CASES, ids=[c[0] for c in POOL_CL_CASES])
def test_pooling_on_channels_last_input_matches_torch(name, pool, dtype):
    x = np.random.default_rng(7).standard_normal((2, 5, 7, 9)).astype(dtype)
    results = []
    for m in (ad, torch):
        xt = m.tensor(x).to(memory_format=m.channels_last).requires_grad_()
        y = pool(m.nn.functional, xt)
        g = m.tensor(np.random.default_rng(8).standard_normal(tuple(y.shape)).astype(dtype))
        g = g.to(memory_format=m.channels_last).requires_grad_()
        (gx,) = m.autograd.grad(y, xt, g, create_graph=True)
        (ggx,) = m.autograd.grad((gx * gx).sum(), g)  # the backward's backward, on the NHWC arrays too
        results.append((y, gx, ggx))
    for k, (got, want) in enumerate(zip(*results)):
        if k < 2:  # the double backward's layout is torch's kernel's choice (NCHW for max, NHWC for avg)
            assert got.stride() == want.stride()
        np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-5, atol=1e-5)


def test_max_pool2d_channels_last_indices_match_torch():
    x = np.random.default_rng(9).standard_normal((2, 4, 6, 5)).astype(np.float32)
    x[0, 1, :2, :2] = np.nan  # NaN wins, as in torch
    x[1, 2, 2:4, 2:4] = 1.5   # ties keep the first
    out, idx = ad.nn.functional.max_pool2d(ad.tensor(x).to(memory_format=ad.channels_last), 2, return_indices=True)
    ref, ridx = torch.nn.functional.max_pool2d(torch.tensor(x).to(memory_format=torch.channels_last), 2,
                                               return_indices=True)
    assert out.stride() == ref.stride() and idx.stride() == ridx.stride()
    np.testing.assert_array_equal(idx.numpy(), ridx.numpy())
    np.testing.assert_array_equal(out.numpy(), ref.numpy())


def test_pooling_channels_last_makes_no_copy(monkeypatch):
    from autodiff.backends.cpu import CPUBackend

    x = ad.randn(2, 6, 8, 8).to(memory_format=ad.channels_last).requires_grad_()
    copied = []
    real = CPUBackend.copy

    def counting_copy(src, np_dtype=None):
        copied.append(src.shape)
        return real(src, np_dtype)

    monkeypatch.setattr(CPUBackend, "copy", staticmethod(counting_copy))
    for pool in (lambda t: ad.nn.functional.max_pool2d(t, 2), lambda t: ad.nn.functional.avg_pool2d(t, 3, 1, 1),
                 lambda t: ad.nn.functional.adaptive_avg_pool2d(t, 3)):
        y = pool(x)
        (gx,) = ad.autograd.grad(y, x, ad.ones_like(y))
        assert y.is_contiguous(memory_format=ad.channels_last) and gx.is_contiguous(memory_format=ad.channels_last)
    assert copied == []


def test_pooling_meta_reports_channels_last_strides_like_torch():
    x = ad.empty(2, 3, 8, 7, device="meta").to(memory_format=ad.channels_last)
    tx = torch.empty(2, 3, 8, 7, device="meta").to(memory_format=torch.channels_last)
    for name, pool in POOL_CL_CASES:
        y, ref = pool(ad.nn.functional, x), pool(torch.nn.functional, tx)
        assert y.shape == ref.shape and y.stride() == ref.stride(), name


def test_conv_transpose2d_on_channels_last_input_matches_torch():
    rng = np.random.default_rng(10)
    x, w, b = (rng.standard_normal(s).astype(np.float64) for s in ((2, 4, 5, 6), (4, 3, 3, 3), (3,)))
    g = rng.standard_normal((2, 3, 10, 12))
    results = []
    for m in (ad, torch):
        xt = m.tensor(x).to(memory_format=m.channels_last).requires_grad_()
        wt = m.tensor(w).requires_grad_()
        y = m.nn.functional.conv_transpose2d(xt, wt, m.tensor(b), stride=2, padding=1, output_padding=1)
        results.append((y, *m.autograd.grad(y, (xt, wt), m.tensor(g).to(memory_format=m.channels_last))))
    for got, want in zip(*results):
        assert got.stride() == want.stride()
        np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-10, atol=1e-10)
