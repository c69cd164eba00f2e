"""Regressions: each input that used to crash, return garbage or be accepted where torch
raises, run under autodiff and torch; the outcome class (value, or exception type) must agree.

Each case is ``fn(lib)`` written once for both libraries (their APIs are the same)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as TF

import autodiff as ad
import autodiff.nn.functional as F

cases = {}


def case(f):
    cases[f.__name__] = f
    return f


@case
def scalar_view(m):
    b = m.ones(3, 4)
    b[:, 1:3] = 0
    return b.sum().item()


@case
def zero_T(m):
    b = m.ones(3, 4)
    b.t().zero_()
    return b.sum().item()


@case
def fill_slice(m):
    b = m.ones(3, 4)
    b[:, ::2].fill_(5)
    return b.sum().item()


@case
def linear_bias(m):
    Fm = F if m is ad else TF
    return Fm.linear(m.ones(2, 3), m.ones(4, 3), m.ones(5)).sum().item()


@case
def linear_int(m):
    Fm = F if m is ad else TF
    return (
        Fm.linear(m.ones(2, 3, dtype=m.int64), m.ones(4, 3, dtype=m.int64)).sum().item()
    )


@case
def conv2d_int(m):
    Fm = F if m is ad else TF
    return (
        Fm.conv2d(m.ones(1, 1, 3, 3, dtype=m.int64), m.ones(1, 1, 2, 2, dtype=m.int64))
        .sum()
        .item()
    )


@case
def conv2d_bias(m):
    Fm = F if m is ad else TF
    return Fm.conv2d(m.ones(1, 1, 3, 3), m.ones(2, 1, 2, 2), m.ones(3)).sum().item()


@case
def conv1d_bias(m):
    Fm = F if m is ad else TF
    return Fm.conv1d(m.ones(1, 1, 3), m.ones(2, 1, 2), m.ones(3)).sum().item()


@case
def einsum_mm(m):
    return m.einsum("ijk,jk->i", m.ones(2, 3, 4), m.ones(3, 5)).sum().item()


@case
def scatter_src(m):
    return (
        m.zeros(3, 4)
        .scatter(1, m.zeros(3, 2, dtype=m.int64), m.ones(2, 1))
        .sum()
        .item()
    )


def g(m, f, x):
    x = m.tensor(x, requires_grad=True)
    y = f(x)
    y.sum().backward() if y.ndim else y.backward()
    return x.grad.tolist()


@case
def max_nan(m):
    return g(m, lambda x: x.max(), [1.0, float("nan"), 3.0])


@case
def min_nan(m):
    return g(m, lambda x: x.min(), [1.0, float("nan"), 3.0])


@case
def maximum_nan(m):
    return g(m, lambda x: m.maximum(x, m.tensor([1.0, 1.0])), [float("nan"), 2.0])


@case
def relu_nan(m):
    return g(m, lambda x: m.relu(x), [float("nan"), 2.0])


@case
def pow0(m):
    return g(m, lambda x: x**0.0, [0.0, 2.0])


@case
def bce01(m):
    Fm = F if m is ad else TF
    return g(
        m,
        lambda p: Fm.binary_cross_entropy(p, m.tensor([1.0, 0.0, 1.0, 0.0])),
        [0.0, 1.0, 1.0, 0.0],
    )


@case
def smoothl1_inf(m):
    Fm = F if m is ad else TF
    return g(
        m, lambda p: Fm.smooth_l1_loss(p, m.tensor([0.0, 0.0])), [float("inf"), 1.0]
    )


@case
def clamp_nan(m):
    return g(m, lambda x: m.clamp(x, min=m.tensor([float("nan"), 0.0])), [1.0, 2.0])


@case
def clamp_nan_s(m):
    return g(m, lambda x: m.clamp(x, min=float("nan")), [1.0, 2.0])


@case
def hook_shape(m):
    x = m.ones(3, requires_grad=True)
    x.register_hook(lambda gr: m.ones(4))
    (x * 2).sum().backward()
    return x.grad.tolist()


@case
def hook_shape_nonleaf(m):
    x = m.ones(3, requires_grad=True)
    y = x * 2
    y.register_hook(lambda gr: m.ones(4))
    (y * 2).sum().backward()
    return x.grad.tolist()


@case
def data_set(m):
    x = m.ones(3, requires_grad=True)
    x.data = m.ones(4)
    return x.shape


@case
def dilation0(m):
    Fm = F if m is ad else TF
    return Fm.conv2d(m.ones(1, 1, 3, 3), m.ones(1, 1, 2, 2), dilation=0).shape


@case
def negpad(m):
    Fm = F if m is ad else TF
    return Fm.conv2d(m.ones(1, 1, 3, 3), m.ones(1, 1, 2, 2), padding=-1).shape


@case
def maxpool_k0(m):
    Fm = F if m is ad else TF
    return Fm.max_pool2d(m.ones(1, 1, 3, 3), 0).shape


@case
def flatten21(m):
    return m.ones(2, 3, 4).flatten(2, 1).shape


@case
def transpose0d(m):
    return m.tensor(1.0).transpose(0, 1).shape


@case
def int_softmax(m):
    return m.softmax(m.ones(3, dtype=m.int64), 0).tolist()


@case
def int_matmul(m):
    return (m.ones(2, 2, dtype=m.int64) @ m.ones(2, 2)).tolist()


@case
def nan_long(m):
    return m.tensor([float("nan")], dtype=m.long).tolist()


@case
def ln_w(m):
    Fm = F if m is ad else TF
    return Fm.layer_norm(m.ones(2, 3), (3,), m.ones(4)).tolist()


@case
def gather_oob(m):
    return m.ones(3).gather(0, m.tensor([5])).tolist()


@case
def scatter_oob(m):
    return m.ones(3).scatter(0, m.tensor([5]), m.ones(1)).tolist()


@case
def index_add_oob(m):
    return m.ones(3).index_add(0, m.tensor([5]), m.ones(1)).tolist()


@case
def to_cuda(m):
    return m.ones(3).to("cuda").shape


@case
def random_split_neg(m):

    mod = ad.utils.data if m is ad else torch.utils.data
    return [len(s) for s in mod.random_split(list(range(10)), [1.2, -0.2])]


@case
def adam_state_from_other_model(m):
    small, big = m.nn.Linear(3, 2), m.nn.Linear(4, 2)
    opt_small = m.optim.Adam(small.parameters())
    small(m.ones(1, 3)).sum().backward()
    opt_small.step()
    opt = m.optim.Adam(big.parameters())
    opt.load_state_dict(opt_small.state_dict())
    big(m.ones(1, 4)).sum().backward()
    opt.step()
    return big.weight.sum().item()


@case
def sgd_after_data_of_another_size(m):
    w = m.nn.Parameter(m.ones(3))
    opt = m.optim.SGD([w], lr=0.1, momentum=0.9)
    (w * 2).sum().backward()
    w.data = m.ones(5)
    opt.step()
    return w.sum().item()


def _outcome(lib, fn):
    try:
        return "ok", fn(lib)
    except Exception as e:  # noqa: BLE001 - the exception type is what is compared
        return type(e).__name__, str(e)


# torch has no CUDA here and answers .to("cuda") with an AssertionError; autodiff's
# RuntimeError names the missing backend (torch's answer where CUDA is compiled in but absent)
_TYPE_ONLY_DIFFERS = {"to_cuda": ("RuntimeError", "AssertionError")}


@pytest.mark.parametrize("name", sorted(cases))
def test_matches_torch(name):
    ours, ref = _outcome(ad, cases[name]), _outcome(torch, cases[name])
    if name in _TYPE_ONLY_DIFFERS:
        assert (ours[0], ref[0]) == _TYPE_ONLY_DIFFERS[name]
        return
    assert ours[0] == ref[0], (ours, ref)
    if ours[0] == "ok":
        a, b = ours[1], ref[1]
        assert (list(a) if isinstance(b, torch.Size) else a) == (
            list(b) if isinstance(b, torch.Size) else b
        )


def test_numba_errors_become_runtime_errors_naming_the_op():
    """An input no check catches and no kernel types surfaces as a RuntimeError naming the
    op, operand dtypes and shapes — never a Numba TypingError dump."""
    from numba import njit

    from autodiff.ops.op import Op

    @njit
    def needs_an_int(n):
        return n + 1

    op = Op("needs_int", ("self",), lambda x: needs_an_int(x.dtype.name))
    with pytest.raises(RuntimeError, match=r"needs_int\(\): not supported for operands \(float32\[2\]\)"):
        op(ad.ones(2))
