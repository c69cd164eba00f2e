"""Layers against torch from identical weights (forward and all gradients, float32 and
float64), BatchNorm running statistics, dropout masks, initialisation, reprs, and a
digits model that learns."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import autodiff as ad
from autodiff import nn
from nn_compare import compare

R = np.random.default_rng(0)
LAYERS = [
    ("Linear", lambda m: m.nn.Linear(4, 3), [(5, 4)]),
    ("Linear_nobias_3d", lambda m: m.nn.Linear(4, 3, bias=False), [(2, 5, 4)]),
    ("Bilinear", lambda m: m.nn.Bilinear(3, 2, 4), [(5, 3), (5, 2)]),
    ("Conv2d", lambda m: m.nn.Conv2d(3, 4, 3, stride=2, padding=1), [(2, 3, 7, 6)]),
    ("Conv2d_groups", lambda m: m.nn.Conv2d(4, 6, (2, 3), groups=2, dilation=(2, 1), bias=False), [(2, 4, 6, 5)]),
    ("Conv2d_same", lambda m: m.nn.Conv2d(2, 3, 3, padding="same"), [(1, 2, 5, 5)]),
    ("Conv1d", lambda m: m.nn.Conv1d(3, 5, 3, padding=1), [(2, 3, 8)]),
    ("MaxPool2d", lambda m: m.nn.MaxPool2d(2), [(2, 3, 6, 6)]),
    ("AvgPool2d", lambda m: m.nn.AvgPool2d(3, stride=2, padding=1), [(2, 3, 7, 6)]),
    ("AdaptiveAvgPool2d", lambda m: m.nn.AdaptiveAvgPool2d((2, 3)), [(2, 3, 5, 7)]),
    ("LayerNorm", lambda m: m.nn.LayerNorm((3, 4)), [(2, 3, 4)]),
    ("BatchNorm1d", lambda m: m.nn.BatchNorm1d(4), [(6, 4)]),
    ("BatchNorm2d", lambda m: m.nn.BatchNorm2d(3), [(2, 3, 4, 4)]),
    ("Flatten", lambda m: m.nn.Flatten(), [(2, 3, 4)]),
    ("Unflatten", lambda m: m.nn.Unflatten(1, (2, 3)), [(4, 6)]),
    ("Identity", lambda m: m.nn.Identity(7), [(3, 2)]),
    ("ReLU", lambda m: m.nn.ReLU(), [(3, 4)]),
    ("LeakyReLU", lambda m: m.nn.LeakyReLU(0.1), [(3, 4)]),
    ("ELU", lambda m: m.nn.ELU(0.5), [(3, 4)]),
    ("GELU", lambda m: m.nn.GELU(), [(3, 4)]),
    ("GELU_tanh", lambda m: m.nn.GELU("tanh"), [(3, 4)]),
    ("SiLU", lambda m: m.nn.SiLU(), [(3, 4)]),
    ("Tanh", lambda m: m.nn.Tanh(), [(3, 4)]),
    ("Sigmoid", lambda m: m.nn.Sigmoid(), [(3, 4)]),
    ("Softplus", lambda m: m.nn.Softplus(2.0, 1.0), [(3, 4)]),
    ("Softmax", lambda m: m.nn.Softmax(1), [(3, 4)]),
    ("LogSoftmax", lambda m: m.nn.LogSoftmax(-1), [(3, 4)]),
    ("Sequential_cnn", lambda m: m.nn.Sequential(
        m.nn.Conv2d(1, 4, 3, padding=1), m.nn.ReLU(), m.nn.MaxPool2d(2), m.nn.Flatten(), m.nn.Linear(36, 5)),
     [(3, 1, 6, 6)]),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, make, shapes", LAYERS, ids=[layer[0] for layer in LAYERS])
def test_layer_matches_torch(name, make, shapes, dtype):
    inputs = [R.standard_normal(s).astype(dtype) for s in shapes]
    compare(make(ad), make(torch), *inputs, dtype=dtype)


def test_embedding_matches_torch_with_padding_idx():
    idx = np.array([[1, 2, 4], [2, 0, 1]])
    compare(nn.Embedding(5, 3, padding_idx=2), torch.nn.Embedding(5, 3, padding_idx=2), idx)



@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_embedding_is_one_op_as_torchs_for_indices_of_any_shape(dtype):
    idx = np.array([[[1, 4], [4, 0]], [[3, 3], [1, 2]]])
    for padding_idx in (None, 4):
        compare(nn.Embedding(5, 3, padding_idx=padding_idx), torch.nn.Embedding(5, 3, padding_idx=padding_idx),
                idx, dtype=dtype)
    w = ad.randn(5, 3, dtype=ad.float64, requires_grad=True)
    y = nn.functional.embedding(ad.tensor(idx), w)
    assert type(y.grad_fn).__name__ == "EmbeddingBackward0" and y.shape == (2, 2, 2, 3)
    assert ad.autograd.gradgradcheck(lambda w: nn.functional.embedding(ad.tensor(idx), w, padding_idx=1) ** 2, (w,))


def test_embedding_refuses_indices_out_of_range_and_a_weight_not_2d():
    w = ad.ones(5, 3)
    for bad in ([1, 5], [-1, 0]):
        with pytest.raises(IndexError, match="index out of range in self"):
            nn.functional.embedding(ad.tensor(bad), w)
    with pytest.raises(RuntimeError, match="'weight' must be 2-D"):
        nn.functional.embedding(ad.tensor([0]), ad.ones(5))

def test_embedding_padding_row_starts_at_zero():
    assert np.all(nn.Embedding(4, 3, padding_idx=1).weight.detach().numpy()[1] == 0)


@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm_running_stats_follow_torch(momentum):
    ours, theirs = nn.BatchNorm2d(3, momentum=momentum).double(), torch.nn.BatchNorm2d(3, momentum=momentum).double()
    for step in range(3):
        x = R.standard_normal((4, 3, 2, 2)) * (step + 1) + step
        ours(ad.from_numpy(x))
        theirs(torch.from_numpy(x))
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_allclose(getattr(ours, name).numpy(), getattr(theirs, name).numpy(), rtol=1e-12)
    ours.eval()
    theirs.eval()
    x = R.standard_normal((2, 3, 2, 2))
    np.testing.assert_allclose(ours(ad.from_numpy(x)).detach().numpy(),
                               theirs(torch.from_numpy(x)).detach().numpy(), rtol=1e-12)
    before = ours.running_mean.numpy().copy()
    ours(ad.from_numpy(x))
    np.testing.assert_array_equal(ours.running_mean.numpy(), before)  # eval does not update


def test_batchnorm_rejects_wrong_rank_and_single_values():
    with pytest.raises(ValueError, match="expected 4D input"):
        nn.BatchNorm2d(3)(ad.randn(2, 3))
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        nn.BatchNorm1d(3)(ad.randn(1, 3))


def test_dropout_mask_repeats_with_manual_seed_and_scales():
    x = ad.ones(1000)
    ad.manual_seed(3)
    a = nn.functional.dropout(x, 0.3)
    ad.manual_seed(3)
    b = nn.functional.dropout(x, 0.3)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_allclose(np.unique(a.numpy()), [0.0, 1 / 0.7], rtol=1e-6)
    assert 0.2 < (a.numpy() == 0).mean() < 0.4
    layer = nn.Dropout(0.3).eval()
    assert layer(x) is x
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
        nn.Dropout(1.5)


def test_dropout_gradient_uses_the_same_mask():
    x = ad.ones(50, requires_grad=True)
    y = nn.functional.dropout(x, 0.5)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.detach().numpy())


def test_default_initialisation_bounds():
    ad.manual_seed(0)
    lin, conv = nn.Linear(100, 50), nn.Conv2d(4, 8, 3)
    assert np.abs(lin.weight.detach().numpy()).max() <= 1 / np.sqrt(100)
    assert np.abs(lin.bias.detach().numpy()).max() <= 1 / np.sqrt(100)
    assert np.abs(conv.weight.detach().numpy()).max() <= 1 / np.sqrt(36)
    assert np.abs(lin.weight.detach().numpy()).max() > 0.8 / np.sqrt(100)  # uniform fills the range


def test_lazy_linear_becomes_linear():
    layer = nn.LazyLinear(3)
    out = layer(ad.randn(2, 5))
    assert type(layer) is nn.Linear and out.shape == (2, 3) and layer.weight.shape == (3, 5)


REPRS = [
    lambda m: m.nn.Linear(4, 3), lambda m: m.nn.Bilinear(2, 3, 4, bias=False),
    lambda m: m.nn.Conv2d(1, 16, 3, padding=1), lambda m: m.nn.Conv2d(4, 8, (3, 2), stride=2, groups=2, bias=False),
    lambda m: m.nn.Conv1d(2, 4, 5, dilation=2), lambda m: m.nn.MaxPool2d(2), lambda m: m.nn.AvgPool2d(3, 1, 1),
    lambda m: m.nn.AdaptiveAvgPool2d((2, 3)), lambda m: m.nn.LayerNorm(5), lambda m: m.nn.LayerNorm(5, bias=False), lambda m: m.nn.BatchNorm2d(3),
    lambda m: m.nn.BatchNorm1d(4, momentum=None, affine=False), lambda m: m.nn.Dropout(0.2),
    lambda m: m.nn.Embedding(10, 3, padding_idx=0), lambda m: m.nn.Flatten(), lambda m: m.nn.Unflatten(1, (2, 5)),
    lambda m: m.nn.ReLU(), lambda m: m.nn.ReLU(inplace=True), lambda m: m.nn.LeakyReLU(0.2), lambda m: m.nn.ELU(),
    lambda m: m.nn.GELU(), lambda m: m.nn.Softplus(), lambda m: m.nn.Softmax(dim=1), lambda m: m.nn.LogSoftmax(1),
    lambda m: m.nn.Identity(), lambda m: m.nn.CrossEntropyLoss(), lambda m: m.nn.Sequential(m.nn.Linear(2, 2), m.nn.Tanh()),
]


@pytest.mark.parametrize("make", REPRS)
def test_repr_matches_torch(make):
    assert repr(make(ad)) == repr(make(torch))


def test_small_digits_model_learns():
    from sklearn.datasets import load_digits

    digits = load_digits()
    order = np.random.default_rng(0).permutation(len(digits.target))  # the file is sorted by writer
    x = (digits.images[order] / 16.0).astype(np.float32)[:, None]
    y = digits.target[order].astype(np.int64)
    ad.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(8 * 16, 10))
    opt = ad.optim.Adam(model.parameters(), lr=5e-3)
    xt, yt = ad.from_numpy(x[:1400]), ad.from_numpy(y[:1400])
    for _ in range(4):
        for i in range(0, 1400, 50):
            opt.zero_grad()
            nn.functional.cross_entropy(model(xt[i:i + 50]), yt[i:i + 50]).backward()
            opt.step()
    with ad.no_grad():
        pred = model(ad.from_numpy(x[1400:])).argmax(dim=1).numpy()
    assert (pred == y[1400:]).mean() > 0.9
