"""Loss modules against torch (forward and gradients, float32 and float64, every
reduction), cross-entropy's stability at huge logits, and the errors users see."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import autodiff as ad
from autodiff import nn

R = np.random.default_rng(0)
TOL = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-10, atol=1e-12)}
W5 = [0.5, 1.0, 2.0, 0.3, 1.5]


def _pair(kind, shape, dtype):
    if kind == "index":
        return R.integers(0, shape[1], (shape[0],) + shape[2:])
    if kind == "prob":
        p = R.random(shape)
        return (p / p.sum(1, keepdims=True)).astype(dtype)
    if kind == "unit":
        return R.uniform(0.05, 0.95, shape).astype(dtype)
    return R.standard_normal(shape).astype(dtype)


CASES = [  # (name, make(lib, dtype), input kind, target kind, shape)
    ("CrossEntropyLoss", lambda m, d: m.nn.CrossEntropyLoss(), "normal", "index", (4, 5)),
    ("CrossEntropyLoss_weight_ignore_smooth", lambda m, d: m.nn.CrossEntropyLoss(
        weight=m.tensor(W5, dtype=d), ignore_index=1, label_smoothing=0.1), "normal", "index", (6, 5)),
    ("CrossEntropyLoss_spatial", lambda m, d: m.nn.CrossEntropyLoss(), "normal", "index", (2, 5, 3, 2)),
    ("CrossEntropyLoss_probs", lambda m, d: m.nn.CrossEntropyLoss(label_smoothing=0.2), "normal", "prob", (4, 5)),
    # above kernels.cpu.loss.PARALLEL_MIN logits: the parallel kernels and threaded softmax
    ("CrossEntropyLoss_large_ignore_smooth", lambda m, d: m.nn.CrossEntropyLoss(ignore_index=3, label_smoothing=0.1),
     "normal", "index", (300, 256)),
    ("CrossEntropyLoss_large_spatial", lambda m, d: m.nn.CrossEntropyLoss(), "normal", "index", (16, 64, 8, 10)),
    ("CrossEntropyLoss_large_spatial_probs", lambda m, d: m.nn.CrossEntropyLoss(label_smoothing=0.05), "normal",
     "prob", (16, 64, 8, 10)),
    ("NLLLoss", lambda m, d: m.nn.NLLLoss(weight=m.tensor(W5, dtype=d)), "normal", "index", (4, 5)),
    ("MSELoss", lambda m, d: m.nn.MSELoss(), "normal", "normal", (3, 4)),
    ("L1Loss", lambda m, d: m.nn.L1Loss(), "normal", "normal", (3, 4)),
    ("SmoothL1Loss", lambda m, d: m.nn.SmoothL1Loss(beta=0.5), "normal", "normal", (3, 4)),
    ("HuberLoss", lambda m, d: m.nn.HuberLoss(delta=0.5), "normal", "normal", (3, 4)),
    ("BCELoss", lambda m, d: m.nn.BCELoss(weight=m.tensor([1.0, 2.0, 0.5, 1.0], dtype=d)), "unit", "unit", (3, 4)),
    ("BCEWithLogitsLoss", lambda m, d: m.nn.BCEWithLogitsLoss(pos_weight=m.tensor([1.0, 2.0, 0.5, 3.0], dtype=d)),
     "normal", "unit", (3, 4)),
    ("KLDivLoss", lambda m, d: m.nn.KLDivLoss(reduction="batchmean"), "normal", "unit", (3, 4)),
    ("KLDivLoss_log_target", lambda m, d: m.nn.KLDivLoss(reduction="sum", log_target=True), "normal", "normal",
     (3, 4)),
]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, make, in_kind, target_kind, shape", CASES, ids=[c[0] for c in CASES])
def test_loss_matches_torch(name, make, in_kind, target_kind, shape, dtype, reduction):
    adt = ad.float32 if dtype == np.float32 else ad.float64
    thd = torch.float32 if dtype == np.float32 else torch.float64
    ours, theirs = make(ad, adt), make(torch, thd)
    if name.startswith("KLDiv") and reduction != "sum":
        reduction = "batchmean"
    ours.reduction = theirs.reduction = reduction
    x = _pair(in_kind, shape, dtype)
    t = _pair(target_kind, shape, dtype)
    grad_target = target_kind in ("normal", "unit", "prob")
    a, b = ad.from_numpy(x.copy()).requires_grad_(), torch.from_numpy(x.copy()).requires_grad_()
    at = ad.from_numpy(t.copy()).requires_grad_(grad_target)
    bt = torch.from_numpy(t.copy()).requires_grad_(grad_target)
    out, ref = ours(a, at), theirs(b, bt)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), **TOL[dtype])
    seed = R.standard_normal(tuple(ref.shape)).astype(dtype)
    out.backward(ad.from_numpy(seed))
    ref.backward(torch.from_numpy(seed))
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), **TOL[dtype])
    if grad_target:
        np.testing.assert_allclose(at.grad.numpy(), bt.grad.numpy(), **TOL[dtype])


@pytest.mark.parametrize("dtype", [ad.float32, ad.float64])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_is_finite_at_huge_logits(dtype, smoothing):
    x = ad.tensor([[1e4, -1e4, 0.0], [-1e4, 1e4, 5.0], [1e4, 1e4, -1e4]], dtype=dtype, requires_grad=True)
    target = ad.tensor([1, 1, 0])
    loss = nn.functional.cross_entropy(x, target, label_smoothing=smoothing)
    loss.backward()
    ref_x = torch.tensor(x.detach().numpy(), requires_grad=True)
    ref = torch.nn.functional.cross_entropy(ref_x, torch.tensor([1, 1, 0]), label_smoothing=smoothing)
    ref.backward()
    assert np.isfinite(loss.item()) and np.all(np.isfinite(x.grad.numpy()))
    np.testing.assert_allclose(loss.item(), ref.item(), rtol=1e-5)
    np.testing.assert_allclose(x.grad.numpy(), ref_x.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_cross_entropy_grad_fn_and_unbatched_input():
    x = ad.randn(5, requires_grad=True)
    loss = nn.functional.cross_entropy(x, ad.tensor(2))
    ref = torch.nn.functional.cross_entropy(torch.tensor(x.detach().numpy()), torch.tensor(2))
    np.testing.assert_allclose(loss.item(), ref.item(), rtol=1e-6)


def test_cross_entropy_errors_match_torch():
    x = ad.randn(3, 4)
    with pytest.raises(IndexError, match="Target 4 is out of bounds."):
        nn.functional.cross_entropy(x, ad.tensor([0, 4, 1]))
    with pytest.raises(ValueError, match=r"Expected input batch_size \(3\) to match target batch_size \(2\)."):
        nn.functional.cross_entropy(x, ad.tensor([0, 1]))
    with pytest.raises(ValueError, match="bogus is not a valid value for reduction"):
        nn.functional.cross_entropy(x, ad.tensor([0, 1, 2]), reduction="bogus")


def test_all_ignored_mean_is_nan_as_torch():
    loss = nn.functional.cross_entropy(ad.randn(2, 3), ad.tensor([-100, -100]))
    assert np.isnan(loss.item())


def test_bce_rejects_out_of_range_inputs():
    with pytest.raises(RuntimeError, match="all elements of input should be between 0 and 1"):
        nn.functional.binary_cross_entropy(ad.tensor([0.5, 1.5]), ad.tensor([0.0, 1.0]))


def test_huber_loss_rejects_non_positive_delta_as_torch():
    for lib in (ad, torch):
        with pytest.raises(RuntimeError, match="huber_loss does not support non-positive values for delta"):
            lib.nn.functional.huber_loss(lib.ones(2), lib.zeros(2), delta=0.0)
