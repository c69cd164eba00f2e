"""Generic tests over the op table (``op_table.py``): every op, every sample.

* forward matches torch in float32 and float64 (dtype included);
* gradients from ``backward`` match torch's;
* ``gradcheck`` and ``gradgradcheck`` pass in float64 (so ``create_graph=True`` works).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import autodiff as ad
from op_table import COMPARISONS, OPS, draw

TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-10, atol=1e-12)}


def _cases(ops):
    return [pytest.param(op, i, id=f"{op.name}-{i}") for op in ops for i in range(len(op.samples))]


def _operands(op, index, dtype, requires_grad):
    """Matching autodiff and torch operands for sample ``index`` of ``op``."""
    rng = np.random.default_rng(1000 + index)
    ours, theirs = [], []
    for spec in op.samples[index]:
        value = draw(spec, dtype, op, rng)
        if isinstance(value, np.ndarray):
            t = ad.from_numpy(value)
            tt = torch.from_numpy(value.copy())
            if requires_grad:
                t.requires_grad_()
                tt.requires_grad_()
            ours.append(t)
            theirs.append(tt)
        else:
            ours.append(value)
            theirs.append(value)
    return ours, theirs


def _assert_close(actual: ad.Tensor, expected: torch.Tensor, dtype) -> None:
    assert actual.shape == tuple(expected.shape), (actual.shape, expected.shape)
    assert str(actual.dtype).split(".")[1] == str(expected.dtype).split(".")[1]
    np.testing.assert_allclose(actual.detach().numpy(), expected.detach().numpy(), **TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op, index", _cases(OPS + COMPARISONS))
def test_forward_matches_torch(op, index, dtype):
    ours, theirs = _operands(op, index, dtype, requires_grad=False)
    _assert_close(op.fn(*ours), op.ref(*theirs), dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op, index", _cases(OPS))
def test_gradients_match_torch(op, index, dtype):
    ours, theirs = _operands(op, index, dtype, requires_grad=True)
    out, ref = op.fn(*ours), op.ref(*theirs)
    seed = np.random.default_rng(7).standard_normal(tuple(ref.shape)).astype(dtype)
    out.backward(ad.from_numpy(seed))
    ref.backward(torch.from_numpy(seed))
    for a, b in zip(ours, theirs):
        if isinstance(a, ad.Tensor):
            assert a.grad is not None
            _assert_close(a.grad, b.grad, dtype)


@pytest.mark.parametrize("op, index", _cases(OPS))
def test_gradcheck(op, index):
    ours, _ = _operands(op, index, np.float64, requires_grad=True)
    assert ad.autograd.gradcheck(op.fn, ours)


@pytest.mark.parametrize("op, index", _cases([o for o in OPS if o.gradgrad]))
def test_gradgradcheck(op, index):
    ours, _ = _operands(op, index, np.float64, requires_grad=True)
    assert ad.autograd.gradgradcheck(op.fn, ours)


def test_gradcheck_detects_a_wrong_backward():
    class WrongExp(ad.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, g):
            (y,) = ctx.saved_tensors
            return g * y * 1.01

    x = ad.randn(3, dtype=ad.float64, requires_grad=True)
    with pytest.raises(ad.autograd.GradcheckError):
        ad.autograd.gradcheck(WrongExp.apply, (x,))
    assert ad.autograd.gradcheck(WrongExp.apply, (x,), raise_exception=False) is False


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kw", [{}, {"nan": 1.5}, {"posinf": 7.0, "neginf": -8.0}])
def test_nan_to_num_function_method_in_place_and_gradient_match_torch(dtype, kw):
    values = [1.0, float("nan"), float("inf"), -float("inf"), -2.5, 3e38]
    ours = ad.tensor(values, dtype=getattr(ad, dtype), requires_grad=True)
    theirs = torch.tensor(values, dtype=getattr(torch, dtype), requires_grad=True)
    got, want = ad.nan_to_num(ours, **kw), torch.nan_to_num(theirs, **kw)
    assert got.tolist() == want.tolist()
    (got * ad.arange(6.0)).sum().backward()
    (want * torch.arange(6.0, dtype=want.dtype)).sum().backward()
    assert ours.grad.tolist() == theirs.grad.tolist()  # 0 where the input is not finite
    assert ours.detach().nan_to_num(**kw).tolist() == want.tolist()
    in_place = ad.tensor(values, dtype=getattr(ad, dtype))
    assert in_place.nan_to_num_(**kw) is in_place and in_place.tolist() == want.tolist()
    assert ad.nan_to_num(ad.tensor([3, -4])).tolist() == [3, -4]  # integers: nothing to replace
