"""Sorting indices, NaN order, errors and grad_fn names against torch; random sampling by
its statistics and by seeding (autodiff's streams are its own, so not torch's values)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import autodiff as ad

NAN = float("nan")


def _pair(values):
    return ad.tensor(values), torch.tensor(values)


@pytest.mark.parametrize("call", [
    lambda m, x: m.sort(x, descending=True, stable=True),
    lambda m, x: m.sort(x, dim=0, stable=True),
    lambda m, x: m.kthvalue(x, 2, 0),
    lambda m, x: m.median(x, 1, keepdim=True),
    lambda m, x: (m.argsort(x, dim=0, descending=True, stable=True),),
])
def test_values_and_indices_match_torch_with_ties_and_nan(call):
    rows = [[3.0, 1.0, NAN, 1.0], [2.0, 2.0, 0.5, -1.0], [NAN, 4.0, 4.0, 0.0]]
    ours, theirs = call(ad, ad.tensor(rows)), call(torch, torch.tensor(rows))
    for a, t in zip(ours, theirs):
        np.testing.assert_array_equal(a.numpy(), t.numpy())


@pytest.mark.parametrize("k, dim, largest", [(2, 0, True), (3, 1, False), (4, 1, True)])
def test_topk_values_match_torch_and_indices_point_at_them(k, dim, largest):
    # torch leaves the order of tied indices unspecified; ours is the stable one
    rows = [[3.0, 1.0, NAN, 1.0], [2.0, 2.0, 0.5, -1.0], [NAN, 4.0, 4.0, 0.0]]
    ours = ad.topk(ad.tensor(rows), k, dim, largest)
    theirs = torch.topk(torch.tensor(rows), k, dim, largest)
    np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
    picked = np.take_along_axis(np.array(rows), ours.indices.numpy(), dim)
    np.testing.assert_array_equal(picked, ours.values.numpy())


def test_integer_sort_and_median_nan():
    a, t = _pair([5, -2, 7, 7, 0])
    for x, y in zip(a.sort(descending=True), t.sort(descending=True)):
        np.testing.assert_array_equal(x.numpy(), y.numpy())
    a, t = _pair([1.0, NAN, 2.0, NAN])
    assert np.isnan(a.median().item()) and np.isnan(t.median().item())
    assert a.median(0).indices.item() == t.median(0).indices.item()


def test_zero_dim_and_grad_fn_names():
    a = ad.tensor(3.0, requires_grad=True)
    assert a.sort().values.item() == 3.0 and a.topk(1).indices.item() == 0
    x = ad.randn(3, 4, requires_grad=True)
    tx = torch.randn(3, 4, requires_grad=True)
    for f in (lambda m, v: m.sort(v).values, lambda m, v: m.topk(v, 2).values,
              lambda m, v: m.kthvalue(v, 2).values, lambda m, v: m.median(v, 1).values,
              lambda m, v: m.median(v), lambda m, v: m.diag_embed(v)):
        assert type(f(ad, x).grad_fn).__name__ == type(f(torch, tx).grad_fn).__name__


@pytest.mark.parametrize("call", [
    lambda m: m.ones(3, 4).topk(5),
    lambda m: m.ones(3, 4).kthvalue(5),
    lambda m: m.ones(3, 4).kthvalue(0),
    lambda m: m.ones(3, 4).sort(dim=3),
    lambda m: m.empty(2, 0).median(1),
    lambda m: m.diag(m.ones(2, 2, 2)),
    lambda m: m.trace(m.ones(2, 2, 2)),
    lambda m: m.multinomial(m.tensor([0.5, 0.5]), 3),
    lambda m: m.multinomial(m.tensor([-0.5, 0.5]), 1),
    lambda m: m.multinomial(m.tensor([0.0, 0.0]), 1, True),
    lambda m: m.multinomial(m.ones(2, 2, 2), 1),
    lambda m: m.multinomial(m.ones(2), 0),
    lambda m: m.bernoulli(m.tensor([1.5])),
    lambda m: m.ones(3).bernoulli_(1.5),
    lambda m: m.ones(3).uniform_(2, 1),
    lambda m: m.ones(3).normal_(0, -1),
    lambda m: m.ones(3).exponential_(-1),
    lambda m: m.ones(3, dtype=m.int64).normal_(),
    lambda m: m.ones(3, dtype=m.int64).exponential_(),
])
def test_errors_match_torch(call):
    with pytest.raises(Exception) as theirs:
        call(torch)
    with pytest.raises(type(theirs.value)) as ours:
        call(ad)
    assert str(ours.value).split("(")[0].strip() == str(theirs.value).split("(")[0].strip()


def test_triangle_indices_match_torch():
    for row, col, off in [(3, 4, 1), (3, 4, -1), (4, 2, 0), (0, 3, 0), (3, 3, 5)]:
        np.testing.assert_array_equal(ad.triu_indices(row, col, off).numpy(),
                                      torch.triu_indices(row, col, off).numpy())
        np.testing.assert_array_equal(ad.tril_indices(row, col, off).numpy(),
                                      torch.tril_indices(row, col, off).numpy())
        meta = ad.triu_indices(row, col, off, device="meta")
        assert meta.device == ad.device("meta") and meta.shape == torch.triu_indices(row, col, off).shape


def test_multinomial_frequencies_and_zero_weights():
    ad.manual_seed(0)
    w = ad.tensor([[0.1, 0.0, 0.6, 0.3], [1.0, 1.0, 0.0, 2.0]], dtype=ad.float64)
    draws = ad.multinomial(w, 20000, replacement=True).numpy()
    for row, weights in zip(draws, w.numpy()):
        freq = np.bincount(row, minlength=4) / row.size
        np.testing.assert_allclose(freq, weights / weights.sum(), atol=0.015)
    once = ad.multinomial(w, 3).numpy()
    assert once.shape == (2, 3)
    assert all(len(set(r)) == 3 for r in once) and 1 not in once[0] and 2 not in once[1]
    # first draw without replacement follows the weights
    first = np.array([ad.multinomial(w[0], 2)[0].item() for _ in range(4000)])
    np.testing.assert_allclose(np.bincount(first, minlength=4) / first.size, [0.1, 0, 0.6, 0.3], atol=0.03)


def test_seeded_draws_repeat_and_have_the_right_moments():
    def draw():
        ad.manual_seed(5)
        return (ad.randperm(50), ad.empty(20000).normal_(2.0, 0.5), ad.empty(20000).uniform_(-1.0, 3.0),
                ad.empty(20000).exponential_(4.0), ad.empty(20000).bernoulli_(0.3),
                ad.bernoulli(ad.full((20000,), 0.7, dtype=ad.float64)))
    first, second = draw(), draw()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    perm, normal, uniform, expo, bern, bern2 = (t.numpy() for t in first)
    assert sorted(perm.tolist()) == list(range(50)) and perm.dtype == np.int64
    assert abs(normal.mean() - 2.0) < 0.02 and abs(normal.std() - 0.5) < 0.02
    assert uniform.min() >= -1.0 and uniform.max() < 3.0 and abs(uniform.mean() - 1.0) < 0.05
    assert abs(expo.mean() - 0.25) < 0.01 and expo.min() >= 0
    assert set(np.unique(bern)) <= {0.0, 1.0} and abs(bern.mean() - 0.3) < 0.02
    assert bern2.dtype == np.float64 and abs(bern2.mean() - 0.7) < 0.02
    assert ad.randperm(4, dtype=ad.float32).dtype == ad.float32


def test_in_place_fills_follow_autograd_rules():
    leaf = ad.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        leaf.normal_()
    with ad.no_grad():
        leaf.uniform_()
    x = ad.ones(3, requires_grad=True)
    y = x * 2
    version = y._version
    y.normal_()
    assert y._version > version
    (y * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.detach().numpy())  # nothing through y


@pytest.mark.parametrize("shape, k", [((5, 100), 3), ((3, 64), 8), ((2, 1000), 32), ((2, 40), 20)])
def test_long_rows_with_ties_and_nan_sort_and_select_like_torch(shape, k):
    # rows longer than the insertion-sort runs, many ties, a NaN; small k takes the selection path
    x = np.round(np.random.default_rng(1).standard_normal(shape), 1).astype(np.float32)
    x[0, 5] = NAN
    for descending in (True, False):
        ours = ad.from_numpy(x).sort(descending=descending)
        theirs = torch.from_numpy(x).sort(descending=descending, stable=True)
        np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
        top = ad.from_numpy(x).topk(k, largest=descending)
        np.testing.assert_array_equal(top.indices.numpy(), ours.indices.numpy()[:, :k])
        np.testing.assert_array_equal(top.values.numpy(), torch.from_numpy(x).topk(k, largest=descending).values.numpy())
