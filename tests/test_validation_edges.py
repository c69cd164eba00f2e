"""Regressions found by the fuzz suite: edge inputs where autodiff's outcome differed from
torch's (values past vmath's exact range, bool operands torch rejects with its own wording,
result dtypes, empty products of mixed dtypes). Each case is ``fn(lib)`` written once for
both libraries; the outcome (exception type and message, or value) must agree."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import autodiff as ad

HUGE = [1e30, -1e30, 3e38, 1e5, 3e4, 1e7, 1e13, 1e20, 123456789.0, float("nan"), float("inf"), 0.5, -0.0]

value_cases = {}
error_cases = {}


def value(f):
    value_cases[f.__name__] = f
    return f


def error(f):
    error_cases[f.__name__] = f
    return f


@value
def sin_huge_f32(m):
    return m.sin(m.tensor(HUGE))


@value
def cos_huge_f32(m):
    return m.cos(m.tensor(HUGE))


@value
def sin_huge_f64(m):
    return m.sin(m.tensor(HUGE + [1e300], dtype=m.float64))


@value
def cos_huge_f64(m):
    return m.cos(m.tensor(HUGE + [1e300], dtype=m.float64))


@value
def sin_huge_inplace(m):
    x = m.tensor(HUGE)
    x.sin_()
    return x


@value
def cos_huge_strided_view(m):
    x = m.tensor(HUGE * 4).reshape(4, len(HUGE)).t()[::2]
    return m.cos(x)


@value
def sin_huge_large_tensor(m):  # the parallel kernels
    return m.sin(m.tensor(np.tile(np.array(HUGE, np.float32), 20000)))


@value
def sin_huge_grad(m):
    x = m.tensor(HUGE, requires_grad=True)
    m.sin(x).sum().backward()
    return x.grad


@value
def square_bool(m):
    return m.square(m.tensor([True, False]))


@value
def matmul_empty_batched_mixed_dtypes(m):
    return m.matmul(m.ones(2, 2), m.ones(2, 2, 0, dtype=m.float64))


@value
def matmul_k0_batched_mixed_dtypes(m):
    x = m.ones(2, 2, 0, dtype=m.float64, requires_grad=True)
    y = m.ones(2, 0, 2, requires_grad=True)
    z = m.matmul(x, y)
    z.sum().backward()
    return z, x.grad, y.grad


@error
def bool_minus_float(m):
    return m.tensor([True, False]) - m.tensor([1.0, 2.0])


@error
def float_minus_bool(m):
    return m.tensor([1.0]) - m.tensor([True])


@error
def bool_minus_bool(m):
    return m.tensor([True]) - m.tensor([True])


@error
def bool_minus_number(m):
    return m.tensor([True]) - 1


@error
def number_minus_bool(m):
    return 1 - m.tensor([True])


@error
def float_minus_python_bool(m):
    return m.tensor([1.0]) - True


@error
def bool_sub_inplace(m):
    return m.tensor([1.0]).sub_(m.tensor([True]))


@error
def neg_bool(m):
    return -m.tensor([True])


@error
def pow_bool_bool(m):
    return m.tensor([True]) ** m.tensor([True])


@error
def pow_python_bool_base(m):
    return True ** m.tensor([True])


@error
def matmul_mixed_dtypes_2d_empty(m):  # torch's 2-D product checks dtypes even when empty
    return m.matmul(m.ones(2, 0), m.ones(0, 3, dtype=m.float64))


@value
def cat_only_skipped_empty_tensors(m):  # no dim check, dtypes promote
    return m.cat([m.ones(0), m.ones(0, dtype=m.float64)], dim=3)


@value
def cat_skipped_tensor_promotes(m):
    x = m.ones(2, 3, requires_grad=True)
    y = m.cat([m.ones(0, dtype=m.float64), x], 1)
    y.sum().backward()
    return y, x.grad


@error
def cat_empty_list(m):
    return m.cat([])


@error
def cat_zero_dim_position(m):
    return m.cat([m.ones(0), m.tensor(1.0)])


@error
def cat_size_mismatch_numbering(m):
    return m.cat([m.ones(2, 3), m.ones(0), m.ones(3, 3)], 1)


def _F(m):
    return m.nn.functional


@value
def nll_loss_ignores_other_classes(m):  # -inf log-probabilities of other classes
    x = m.tensor([[float("-inf"), 0.5, -1.0]], requires_grad=True)
    loss = _F(m).nll_loss(x, m.tensor([1]))
    loss.backward()
    return loss, x.grad


@value
def nll_loss_zero_total_weight(m):
    x = m.tensor([[0.5, -1.0]], requires_grad=True)
    loss = _F(m).nll_loss(x, m.tensor([0]), weight=m.tensor([0.0, 1.0]))
    loss.backward()
    return loss, x.grad


@value
def cross_entropy_probabilities_empty_batch(m):
    return _F(m).cross_entropy(m.ones(0, 3), m.ones(0, 3))


@value
def cross_entropy_negative_label_smoothing(m):
    return _F(m).cross_entropy(m.tensor([[1.0, 2.0, 0.5]]), m.tensor([1]), label_smoothing=-0.1)


@error
def nll_loss_weight_length(m):
    return _F(m).nll_loss(m.ones(2, 3), m.tensor([0, 1]), weight=m.ones(2))


@error
def cross_entropy_int32_target(m):
    return _F(m).cross_entropy(m.ones(2, 3), m.ones(2, dtype=m.int32))


@error
def cross_entropy_int_probabilities(m):
    return _F(m).cross_entropy(m.ones(2, 3), m.ones(2, 3, dtype=m.int64))


@error
def cross_entropy_0d_float_target(m):
    return _F(m).cross_entropy(m.ones(1, 1), m.tensor(0.0))


@error
def nll_loss_0d_target_empty_batch(m):
    return _F(m).nll_loss(m.ones(0, 1), m.tensor(0))


@error
def stack_dim_checked_before_shapes(m):
    return m.stack([m.ones(0), m.ones(1, 0)], 2)


@error
def embedding_padding_idx_checked_first(m):
    return _F(m).embedding(m.tensor(0.0), m.ones(1, 1), padding_idx=1)


@error
def cross_entropy_probabilities_ignore_index(m):
    return _F(m).cross_entropy(m.ones(2, 3), m.ones(2, 3) / 3, ignore_index=0)


@value
def cat_skipped_tensor_gets_empty_grad(m):
    x = m.ones(0, requires_grad=True)
    y = m.cat([x, m.ones(2, 2)], 1)
    y.sum().backward()
    return y, x.grad


@value
def nll_loss_unbatched_none_is_0d(m):
    return _F(m).nll_loss(m.tensor([-0.5, -1.0]), m.tensor(1), reduction="none")


@value
def cross_entropy_unbatched_none_is_0d(m):
    return _F(m).cross_entropy(m.tensor([0.5, -1.0]), m.tensor(1), reduction="none")


@value
def embedding_max_norm_no_indices(m):
    return _F(m).embedding(m.ones(0, dtype=m.int64), m.ones(3, 2), max_norm=1.0)


@value
def embedding_max_norm_expanded_weight_within_norm(m):
    w = m.zeros(1, 1).expand(1, 2)
    return _F(m).embedding(m.tensor([0]), w, max_norm=1.0)


@value
def embedding_max_norm_huge_row(m):  # torch's 2-element norm overflows to inf: the row becomes 0
    w = m.tensor([[1e30, 0.0], [0.5, 0.5]], requires_grad=True)
    out = _F(m).embedding(m.tensor([0, 1]), w, max_norm=1.0)
    return out, w.detach()


def _numpy(x):
    if isinstance(x, tuple):
        return [_numpy(t) for t in x]
    return np.asarray(x.detach().numpy())


def _outcome(lib, fn):
    try:
        return "ok", fn(lib)
    except Exception as e:  # noqa: BLE001 - the exception type is what is compared
        return type(e).__name__, str(e)


@value
def avg_pool2d_of_an_inf_window(m):
    x = m.tensor([[[[float("inf"), 1.0], [2.0, 3.0]]]])
    return m.nn.functional.avg_pool2d(x, 1)


# ---- clamp: both bounds numbers or both tensors ------------------------------------------
@error
def clamp_number_min_tensor_max(m):
    return m.clamp(m.ones(2), min=0.0, max=m.ones(2))


@error
def clamp_inplace_tensor_min_number_max(m):
    return m.ones(2).clamp_(m.zeros(2), 1.0)


@error
def clamp_number_min_zero_dim_tensor_max_that_needs_grad(m):
    return m.clamp(m.ones(2), min=0.0, max=m.tensor(1.0, requires_grad=True))


@value
def clamp_number_min_zero_dim_tensor_max(m):
    """A 0-d tensor that needs no grad binds as a number, NaN bound included."""
    x = m.tensor([0.0, 2.0])
    return (m.clamp(x, min=0.5, max=m.tensor(1.0)), m.clamp(x, min=float("nan"), max=m.tensor(1.0)),
            x.clone().clamp_(m.tensor(1), 1.5))


@value
def cross_entropy_every_target_ignored_with_an_inf_logit(m):
    """The mean is 0/0; the ignored rows' gradient is 0 * softmax, NaN in the inf logit's row."""
    x = m.tensor([[float("inf"), 0.0], [1.0, 2.0]], requires_grad=True)
    loss = m.nn.functional.cross_entropy(x, m.tensor([0, 0]), ignore_index=0)
    loss.backward()
    return loss, x.grad


# ---- integer division by zero: torch's RuntimeError, not Numba's silent 0 ----------------
@error
def integer_remainder_by_a_zero_tensor_element(m):
    return m.tensor([1, 2]) % m.tensor([0, 1])


@error
def integer_floor_divide_by_zero(m):
    return m.tensor([[3, 4]]).t() // 0


@error
def integer_inplace_remainder_by_zero(m):
    x = m.tensor([3, 4])
    x %= 0
    return x


@value
def float_remainder_and_floor_divide_by_zero(m):
    x = m.tensor([3.0, -4.0, 0.0])
    return x % 0, x // 0.0, x % m.tensor([0.0, 2.0, -0.0])


@pytest.mark.parametrize("name", sorted(value_cases))
def test_values_match_torch(name):
    ours, ref = _numpy(value_cases[name](ad)), _numpy(value_cases[name](torch))
    for a, b in zip(ours if isinstance(ours, list) else [ours], ref if isinstance(ref, list) else [ref]):
        assert a.dtype == b.dtype and a.shape == b.shape, (a, b)
        np.testing.assert_allclose(a, b, rtol=2e-6, atol=2e-6 if a.dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("name", sorted(error_cases))
def test_errors_match_torch(name):
    ours, ref = _outcome(ad, error_cases[name]), _outcome(torch, error_cases[name])
    assert ref[0] != "ok", ref
    assert ours[0] == ref[0], (ours, ref)
    if ref[0] in ("RuntimeError", "NotImplementedError") and "dtype" not in ref[1]:
        assert ours[1] == ref[1]  # torch's wording
