"""The layers added for PyTorch programs in the wild, against torch from identical weights:
transposed convolutions, resizing, group and instance normalisation, channel dropout and
Embedding options, RMSNorm; plus their initialisation, reprs and errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from nn_compare import compare

import autodiff as ad
from autodiff import nn

R = np.random.default_rng(0)
LAYERS = [
    ("ConvTranspose2d", lambda m: m.nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1),
     [(2, 3, 4, 5)]),
    ("ConvTranspose2d_groups", lambda m: m.nn.ConvTranspose2d(4, 6, (2, 3), groups=2, dilation=(1, 2), bias=False),
     [(1, 4, 3, 3)]),
    ("ConvTranspose1d", lambda m: m.nn.ConvTranspose1d(2, 3, 4, stride=2, padding=1), [(2, 2, 5)]),
    ("Upsample_nearest", lambda m: m.nn.Upsample(scale_factor=2), [(2, 3, 3, 4)]),
    ("Upsample_bilinear", lambda m: m.nn.Upsample(size=(5, 7), mode="bilinear"), [(1, 2, 3, 4)]),
    ("UpsamplingBilinear2d", lambda m: m.nn.UpsamplingBilinear2d(scale_factor=2), [(1, 2, 3, 3)]),
    ("UpsamplingNearest2d", lambda m: m.nn.UpsamplingNearest2d(size=5), [(1, 2, 3, 3)]),
    ("PixelShuffle", lambda m: m.nn.PixelShuffle(3), [(2, 9, 2, 2)]),
    ("PixelUnshuffle", lambda m: m.nn.PixelUnshuffle(2), [(2, 1, 4, 6)]),
    ("GroupNorm", lambda m: m.nn.GroupNorm(2, 6), [(3, 6, 2, 2)]),
    ("GroupNorm_no_affine", lambda m: m.nn.GroupNorm(3, 3, affine=False), [(2, 3, 5)]),
    ("InstanceNorm2d_affine", lambda m: m.nn.InstanceNorm2d(3, affine=True), [(2, 3, 4, 4)]),
    ("InstanceNorm2d_unbatched", lambda m: m.nn.InstanceNorm2d(3), [(3, 4, 4)]),
    ("InstanceNorm1d_tracked", lambda m: m.nn.InstanceNorm1d(4, affine=True, track_running_stats=True), [(2, 4, 6)]),
    ("RMSNorm", lambda m: m.nn.RMSNorm(6), [(3, 4, 6)]),
    ("RMSNorm_2d_eps_no_affine", lambda m: m.nn.RMSNorm((4, 6), eps=1e-3, elementwise_affine=False), [(3, 4, 6)]),
    ("DCGAN_generator_block", lambda m: m.nn.Sequential(
        m.nn.ConvTranspose2d(8, 4, 4, 1, 0, bias=False), m.nn.BatchNorm2d(4), m.nn.ReLU(),
        m.nn.ConvTranspose2d(4, 1, 4, 2, 1, bias=False), m.nn.Tanh()), [(2, 8, 1, 1)]),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, make, shapes", LAYERS, ids=[layer[0] for layer in LAYERS])
def test_layer_matches_torch(name, make, shapes, dtype):
    inputs = [R.standard_normal(s).astype(dtype) for s in shapes]
    compare(make(ad), make(torch), *inputs, dtype=dtype)


def test_conv_transpose_output_size_and_init():
    ours, theirs = nn.ConvTranspose2d(4, 3, 3, stride=2), torch.nn.ConvTranspose2d(4, 3, 3, stride=2)
    assert ours.weight.shape == tuple(theirs.weight.shape) and ours.bias.shape == (3,)
    x = R.standard_normal((1, 4, 5, 5)).astype(np.float32)
    from nn_compare import copy_weights

    copy_weights(ours, theirs)
    a = ours(ad.from_numpy(x), output_size=[12, 12])
    t = theirs(torch.from_numpy(x), output_size=[12, 12])
    np.testing.assert_allclose(a.detach().numpy(), t.detach().numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="valid sizes range from"):
        ours(ad.from_numpy(x), output_size=[14, 14])
    # the default init has torch's bounds: weights within 1/sqrt(fan_in), fan_in = out/groups * k
    bound = 1 / np.sqrt(3 * 9)
    assert np.abs(ours.weight.detach().numpy()).max() <= bound + 1e-7


def test_instance_norm_running_stats_follow_torch():
    ours = nn.InstanceNorm2d(3, track_running_stats=True).double()
    theirs = torch.nn.InstanceNorm2d(3, track_running_stats=True).double()
    for step in range(3):
        x = R.standard_normal((4, 3, 3, 2)) * (step + 1) + step
        ours(ad.from_numpy(x))
        theirs(torch.from_numpy(x))
    for name in ("running_mean", "running_var"):
        np.testing.assert_allclose(getattr(ours, name).numpy(), getattr(theirs, name).numpy(), rtol=1e-12)
    ours.eval()
    theirs.eval()
    x = R.standard_normal((2, 3, 3, 2))
    np.testing.assert_allclose(ours(ad.from_numpy(x)).numpy(), theirs(torch.from_numpy(x)).numpy(), rtol=1e-12)
    assert list(ours.state_dict()) == list(theirs.state_dict())


@pytest.mark.parametrize("cls, shape", [("Dropout1d", (4, 6, 5)), ("Dropout2d", (4, 6, 3, 3)),
                                        ("Dropout2d", (6, 3, 3)), ("Dropout3d", (2, 6, 2, 2, 2))])
def test_channel_dropout_zeroes_whole_channels(cls, shape):
    ad.manual_seed(0)
    layer = getattr(nn, cls)(0.4)
    x = ad.ones(*shape)
    y = layer(x).numpy()
    channels = y.reshape(-1, int(np.prod(shape[-int(cls[-2]):])))
    assert set(np.unique(channels)) <= {np.float32(0.0), np.float32(1 / 0.6)}
    assert all(len(set(row)) == 1 for row in channels)  # one draw per channel
    assert 0 < (channels[:, 0] == 0).sum() < len(channels)
    layer.eval()
    assert layer(x) is x


def test_channel_dropout_errors_and_reprs_match_torch():
    with pytest.raises(RuntimeError) as theirs:
        torch.nn.functional.dropout1d(torch.ones(2, 3, 4, 5))
    with pytest.raises(RuntimeError) as ours:
        nn.functional.dropout1d(ad.ones(2, 3, 4, 5))
    assert str(ours.value) == str(theirs.value)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        nn.functional.dropout2d(ad.ones(2, 3))
    assert "deprecated" in str(caught[0].message)
    for make in (lambda m: m.nn.Dropout2d(0.3), lambda m: m.nn.GroupNorm(2, 4), lambda m: m.nn.GroupNorm(2, 4, affine=False),
                 lambda m: m.nn.InstanceNorm2d(3, affine=True), lambda m: m.nn.InstanceNorm1d(4),
                 lambda m: m.nn.ConvTranspose2d(4, 2, 3, stride=2, output_padding=1),
                 lambda m: m.nn.ConvTranspose1d(2, 4, 3, bias=False), lambda m: m.nn.PixelShuffle(2),
                 lambda m: m.nn.PixelUnshuffle(3), lambda m: m.nn.Upsample(scale_factor=2, mode="bilinear")):
        assert repr(make(ad)) == repr(make(torch))


@pytest.mark.parametrize("call", [
    lambda m, F: F.conv_transpose2d(m.ones(1, 4, 5, 5), m.ones(4, 3, 3, 3), output_padding=1),
    lambda m, F: F.conv_transpose2d(m.ones(1, 4, 5, 5), m.ones(3, 3, 3, 3)),
    lambda m, F: F.conv_transpose2d(m.ones(5, 5), m.ones(4, 3, 3, 3)),
    lambda m, F: F.conv_transpose2d(m.ones(1, 4, 5, 5), m.ones(4, 3, 3, 3), groups=3),
    lambda m, F: F.pixel_shuffle(m.ones(1, 5, 2, 2), 2),
    lambda m, F: F.pixel_unshuffle(m.ones(1, 1, 3, 3), 2),
    lambda m, F: F.interpolate(m.ones(1, 1, 2, 2), size=3, scale_factor=2),
    lambda m, F: F.interpolate(m.ones(1, 1, 2, 2), mode="bilinear"),
    lambda m, F: F.interpolate(m.ones(1, 2, 2), scale_factor=2, mode="bilinear"),
    lambda m, F: F.interpolate(m.ones(1, 1, 2, 2), scale_factor=2, align_corners=True),
    lambda m, F: F.group_norm(m.ones(1, 4, 5, 5), 3),
    lambda m, F: m.nn.GroupNorm(3, 4),
    lambda m, F: m.nn.InstanceNorm2d(4)(m.ones(1, 4, 1, 1)),
])
def test_errors_match_torch(call):
    with pytest.raises(Exception) as theirs:
        call(torch, torch.nn.functional)
    with pytest.raises(type(theirs.value)) as ours:
        call(ad, ad.nn.functional)
    assert str(ours.value) == str(theirs.value).replace("torch.Size", "autodiff.Size")


@pytest.mark.parametrize("norm_type", [2.0, 1.0])
def test_embedding_max_norm_renormalises_like_torch(norm_type):
    idx = np.array([[1, 2, 4], [2, 0, 1]])
    ours = nn.Embedding(5, 3, padding_idx=0, max_norm=1.0, norm_type=norm_type)
    theirs = torch.nn.Embedding(5, 3, padding_idx=0, max_norm=1.0, norm_type=norm_type)
    with torch.no_grad():
        theirs.weight.mul_(3)
    compare(ours, theirs, idx, dtype=np.float64)
    np.testing.assert_allclose(ours.weight.detach().numpy(), theirs.weight.detach().numpy(), rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rms_norm_function_with_a_weight_reprs_and_errors_match_torch(dtype):
    x, w = R.standard_normal((2, 3, 5)).astype(dtype), R.standard_normal(5).astype(dtype)
    a, aw = ad.from_numpy(x).requires_grad_(), ad.from_numpy(w).requires_grad_()
    t, tw = torch.from_numpy(x).requires_grad_(), torch.from_numpy(w).requires_grad_()
    out, ref = ad.nn.functional.rms_norm(a, (5,), aw), torch.nn.functional.rms_norm(t, (5,), tw)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=tol, atol=tol)
    (out * out).sum().backward()
    (ref * ref).sum().backward()
    for ours, theirs in ((a, t), (aw, tw)):
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=tol * 10, atol=tol * 10)
    for size, normalized, weight in [((2, 3), (4,), None), ((2, 4), (4,), 3)]:  # bad input, bad weight
        outcomes = []
        for m in (ad, torch):
            try:
                m.nn.functional.rms_norm(m.ones(*size), normalized, None if weight is None else m.ones(weight))
            except RuntimeError as e:
                outcomes.append(str(e))
        assert len(outcomes) == 2 and outcomes[0] == outcomes[1], outcomes
    assert repr(nn.RMSNorm((4,), eps=1e-3)) == repr(torch.nn.RMSNorm((4,), eps=1e-3))
    assert repr(nn.RMSNorm(4, elementwise_affine=False)) == repr(torch.nn.RMSNorm(4, elementwise_affine=False))
    assert nn.RMSNorm(4, elementwise_affine=False).weight is None
