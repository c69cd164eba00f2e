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
