"""Indexing semantics: gradients of setitem to target and value, leaf errors, repeated
indices accumulating, IndexError messages and bad masks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import autodiff as ad


def _compare(fn):
    grads = []
    for m in (ad, torch):
        x = m.arange(12.0).reshape(3, 4).requires_grad_()
        w = m.tensor([5.0, 6.0], requires_grad=True)
        y = x * 1
        out = fn(m, y, w)
        (out * out).sum().backward()
        grads.append((out.detach().numpy(), x.grad.numpy(),
                      None if w.grad is None else w.grad.numpy()))
    for a, b in zip(*grads):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a, b)


def _set(key, value):
    def fn(m, y, w):
        y[key(m)] = value(w)
        return y
    return fn


@pytest.mark.parametrize("fn", [
    _set(lambda m: (slice(1, None), slice(1, 3)), lambda w: w),
    _set(lambda m: ([0, 2, 0], 1), lambda w: w[0] * 3),
    _set(lambda m: (m.tensor([2, 0]), m.tensor([1, 3])), lambda w: w),
    _set(lambda m: (slice(None), [1, 2]), lambda w: w),
    _set(lambda m: (0, Ellipsis), lambda w: w.sum()),
    lambda m, y, w: y[[0, 0, 2], 1:] * w.sum(),
    lambda m, y, w: y[y.detach() > 5] * w[0],
])
def test_indexing_gradients_match_torch(fn):
    _compare(fn)


def test_setitem_with_mask_and_number():
    _compare(_set(lambda m: (m.arange(12).reshape(3, 4) > 6), lambda w: 0.0))


def test_repeated_indices_accumulate():
    x = ad.ones(4, requires_grad=True)
    x[[0, 0, 3, 0]].sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 0.0, 0.0, 1.0])
    y = ad.zeros(3).index_add(0, ad.tensor([1, 1, 2]), ad.ones(3))
    np.testing.assert_allclose(y.numpy(), [0.0, 2.0, 1.0])


def test_setitem_bumps_version_and_leaf_errors():
    x = ad.zeros(3)
    x[0] = 1.0
    x[[1]] = 2.0
    assert x._version == 2 and x.tolist() == [1.0, 2.0, 0.0]
    w = ad.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
        w[0] = 1.0
    with pytest.raises(RuntimeError, match="^a leaf Variable that requires grad"):
        w[[0]] = 1.0


@pytest.mark.parametrize("key, message", [
    (5, "index 5 is out of bounds for dimension 0 with size 3"),
    (-4, "index -4 is out of bounds for dimension 0 with size 3"),
    ((0, 4), "index 4 is out of bounds for dimension 1 with size 4"),
    (([0, 3],), "index 3 is out of bounds for dimension 0 with size 3"),
    ((slice(None), [-5]), "index -5 is out of bounds for dimension 1 with size 4"),
    ((0, 0, 0), "too many indices for tensor of dimension 2"),
])
def test_out_of_range_indices_raise_index_error(key, message):
    x = ad.zeros(3, 4)
    with pytest.raises(IndexError, match=message):
        x[key]
    with pytest.raises(IndexError, match=message):
        x[key] = 1.0


# gather and scatter (and take_along_dim, a gather) raise RuntimeError, as torch does; the
# index_* ops IndexError (torch's type for those depends on its kernel path)
@pytest.mark.parametrize("call, error", [
    (lambda x, i: ad.index_select(x, 1, i), IndexError), (lambda x, i: ad.gather(x, 1, i.view(1, -1)), RuntimeError),
    (lambda x, i: ad.scatter_add(x, 1, i.view(1, -1), x[:1, :1]), RuntimeError),
    (lambda x, i: ad.scatter(x, 1, i.view(1, -1), 0.0), RuntimeError),
    (lambda x, i: x.index_add(1, i, x[:, :1]), IndexError), (lambda x, i: x.index_copy(1, i, x[:, :1]), IndexError),
    (lambda x, i: ad.take_along_dim(x, i.view(1, -1), 1), RuntimeError),
])
@pytest.mark.parametrize("bad", [4, -1])
def test_index_ops_validate_before_the_kernel(call, error, bad):
    x = ad.zeros(3, 4)
    with pytest.raises(error, match=f"index {bad} is out of bounds for dimension 1 with size 4"):
        call(x, ad.tensor([bad]))


def test_bool_mask_of_wrong_shape():
    x = ad.zeros(3, 4)
    with pytest.raises(IndexError, match="The shape of the mask \\[4\\] at index 0 does not match"):
        x[ad.ones(4, dtype=ad.bool)]
    with pytest.raises(RuntimeError, match="must match the size"):
        x.masked_fill(ad.ones(2, 4, dtype=ad.bool), 1.0)


def test_one_hot_and_errors():
    import autodiff.nn.functional as F

    out = F.one_hot(ad.tensor([[0, 2], [1, 1]]), 3)
    assert out.dtype is ad.int64
    np.testing.assert_array_equal(out.numpy(), torch.nn.functional.one_hot(torch.tensor([[0, 2], [1, 1]]), 3))
    with pytest.raises(RuntimeError, match="smaller than num_classes"):
        F.one_hot(ad.tensor([3]), 3)
    with pytest.raises(RuntimeError, match="non-negative"):
        F.one_hot(ad.tensor([-1]))


NONZERO_CASES = {
    "2d_with_nan": lambda m: m.tensor([[0, 1.5, 0], [float("nan"), 0, -2]]),
    "0d_true": lambda m: m.tensor(3.0),
    "0d_false": lambda m: m.tensor(0.0),
    "empty": lambda m: m.zeros(2, 0, 3),
    "bool": lambda m: m.tensor([True, False, True]),
    "3d_int": lambda m: (m.arange(24).reshape(2, 3, 4) - 7).clamp(min=0),
    "transposed": lambda m: m.tensor([[0.0, 1.0, 0.0, 2.0], [3.0, 0.0, 0.0, 4.0], [0.0, 0.0, 5.0, 0.0]]).t(),
}


@pytest.mark.parametrize("case", sorted(NONZERO_CASES))
def test_nonzero_argwhere_count_nonzero_match_torch(case):
    a, t = NONZERO_CASES[case](ad), NONZERO_CASES[case](torch)
    for ours, ref in [(ad.nonzero(a), torch.nonzero(t)), (a.nonzero(), t.nonzero()),
                      (a.argwhere(), t.argwhere()), (ad.argwhere(a), torch.argwhere(t))]:
        assert ours.dtype is ad.int64 and ours.shape == tuple(ref.shape)
        assert ours.tolist() == ref.tolist()
    ours, ref = a.nonzero(as_tuple=True), t.nonzero(as_tuple=True)
    assert len(ours) == len(ref) and [o.tolist() for o in ours] == [r.tolist() for r in ref]
    for dim in ([None] + list(range(-t.dim(), t.dim())) + ([(0, -1)] if t.dim() > 1 else [])):
        ours, ref = ad.count_nonzero(a, dim), torch.count_nonzero(t, dim)
        assert ours.dtype is ad.int64 and ours.shape == tuple(ref.shape) and ours.tolist() == ref.tolist()
        assert a.count_nonzero(dim).tolist() == ref.tolist()
