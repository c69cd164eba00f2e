"""Autograd through views and in-place writes under composition, against torch.

Each case is one small program written once and run under autodiff and under torch
(float64): every value, gradient and retained gradient it returns must agree, and where
torch raises, autodiff must raise the same exception type with the same message (up to
the library's name and the grad_fn named in a version error). The cases cover the
mechanisms: a view's grad_fn re-made after any write to its base or to a sibling view,
retain_grad and hooks across in-place writes, double backward through in-place ops on
views, what is saved for backward, detach_, and torch's creation-meta refusals
(views made under no_grad, outputs of split/unbind/chunk).
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

import autodiff as ad

CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def _leaf(m, values):
    return m.tensor(values, dtype=m.float64, requires_grad=True)


# ---- a view's grad_fn follows writes to its base or to another view --------------------
@case
def base_write_regenerates_view(m):
    x = _leaf(m, [1.0, 2.0, 3.0])
    y = x * 1
    v = y[0]
    y.mul_(2)
    (v * 1).backward()
    return [v, x.grad]


@case
def base_write_through_transpose_slice_select_chain(m):
    x = _leaf(m, [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    w = _leaf(m, [[0.5, -1.0, 2.0], [1.5, 3.0, -2.0]])
    y = x * 1
    v = y.t()[1:][0]
    p = y.permute(1, 0)
    y.mul_(w)
    ((v * v).sum() + (p * p[:, :1]).sum()).backward()
    return [v, p, x.grad, w.grad]


@case
def no_grad_write_to_base_regenerates_view(m):
    x = _leaf(m, [[1.0, 2.0], [3.0, 4.0]])
    y = x * 2
    v = y.t()[1]
    with m.no_grad():
        y.add_(10)
    (v * v).sum().backward()
    return [v, x.grad]


@case
def sibling_view_write_regenerates_view(m):
    x = _leaf(m, [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    w = _leaf(m, [2.0, 3.0, 4.0])
    y = x * 1
    column = y[:, 1]
    y[0].mul_(w)
    with m.no_grad():
        y[1, 1:].mul_(-1)
    (column * column).sum().backward()
    return [column, y, x.grad, w.grad]


@case
def no_grad_write_into_the_view_itself(m):
    x = _leaf(m, [1.0, 2.0, 3.0])
    y = x * 3
    v = y[1:]
    with m.no_grad():
        v.mul_(2)
    (v * v).sum().backward()
    return [v, y, x.grad]


@case
def writes_to_base_and_views_in_turn(m):
    x = _leaf(m, [[1.0, -2.0, 3.0], [0.5, 4.0, -1.0]])
    w = _leaf(m, [2.0, -1.0])
    y = x.exp()
    row, col, flat = y[1], y.t()[2], y.view(-1)
    col.mul_(w)
    y.add_(x)
    row[1:].div_(w)
    out = (row * flat[:3]).sum() + (col * col).sum() + flat.sum()
    out.backward()
    return [y, row, col, flat, x.grad, w.grad]


@case
def view_of_plain_tensor_sees_a_later_write_that_needs_grad(m):
    w = _leaf(m, [1.0, 2.0, 3.0])
    b = m.zeros(3, dtype=m.float64)
    v = b[1:]
    before = v.requires_grad
    b.copy_(w * 2)
    after = v.requires_grad
    (v * 3).sum().backward()
    return [before, after, v, w.grad]


# ---- retain_grad and hooks across in-place writes ---------------------------------------
@case
def retain_grad_follows_an_inplace_write(m):
    x = _leaf(m, [1.0, 2.0, 3.0])
    y = x * 2
    y.retain_grad()
    y.mul_(3)
    (y * y).sum().backward()
    return [y.grad, x.grad, y.retains_grad]


@case
def retain_grad_follows_a_write_into_a_view(m):
    x = _leaf(m, [1.0, 2.0, 3.0])
    y = x * 2
    y.retain_grad()
    y[1:].mul_(3)
    (y * y).sum().backward()
    return [y.grad, x.grad]


@case
def retained_view_follows_a_write_to_its_base(m):
    x = _leaf(m, [1.0, 2.0, 3.0])
    y = x * 2
    v = y[1:]
    v.retain_grad()
    y.retain_grad()
    y.mul_(3)
    (v * v).sum().backward()
    return [v.grad, y.grad, x.grad]


@case
def hooks_stay_with_the_history_they_were_registered_on(m):
    seen = []
    x = _leaf(m, [1.0, 2.0, 3.0])
    y = x * 2
    y.register_hook(lambda g: seen.append(g.clone()))
    y.mul_(3)
    y.register_hook(lambda g: g * 10)
    v = y[1:]
    v.register_hook(lambda g: seen.append(g.clone()))  # v's history is re-made below
    y[:1].mul_(2)
    (y * y).sum().backward()
    return [x.grad, *seen]


# ---- double backward through in-place ops on views whose backward reads the result ------
@pytest.fixture(params=["tanh_", "exp_", "sigmoid_", "relu_"])
def inplace_name(request):
    return request.param


def double_backward_through_inplace_on_view(m, name):
    x = _leaf(m, [0.5, -1.0, 2.0])
    y = x * 1
    getattr(y[:2], name)()
    (g,) = m.autograd.grad((y * y).sum(), x, create_graph=True)
    (g * g).sum().backward()
    return [y, g, x.grad]


# ---- what is saved for backward; detach_ ------------------------------------------------
@case
def reciprocal_of_a_tensor_saves_its_result(m):
    x = _leaf(m, [1.0, 2.0, 4.0])
    d = x * 1
    z = 3.0 / d
    d.mul_(2)
    z.sum().backward()
    return [z, x.grad]


@case
def writing_pow_result_before_backward(m):
    x = _leaf(m, [1.0, 2.0, 3.0])
    w = _leaf(m, [0.5, 2.0, 1.5])
    y = x ** w
    y.mul_(2)
    y.sum().backward()


@case
def writing_scalar_pow_result_before_backward(m):
    x = _leaf(m, [1.0, 2.0, 3.0])
    y = 2 ** x
    y.add_(1)
    y.sum().backward()


@case
def target_passed_again_as_an_operand_is_saved_before_the_write(m):
    x = _leaf(m, [1.0, 2.0, 3.0])
    y = x * 2
    y.mul_(y)
    y.sum().backward()


@case
def target_passed_again_to_an_op_that_saves_nothing(m):
    x = _leaf(m, [1.0, 2.0, 3.0])
    y = x * 2
    y[1:].add_(y[1:])
    y.sum().backward()
    return [y, x.grad]


@case
def writing_pow_by_a_number_is_fine(m):
    x = _leaf(m, [1.0, 2.0, 3.0])
    y = x ** 2
    y.mul_(2)
    y.sum().backward()
    return [y, x.grad]


@case
def writing_a_saved_view_input(m):
    x = _leaf(m, [1.0, 2.0, 3.0])
    y = x * 1
    z = y[1:].sin()
    y.mul_(2)
    z.sum().backward()


@case
def detach_of_a_leaf_already_in_a_graph(m):
    x = _leaf(m, [1.0, 2.0, 3.0])
    w = _leaf(m, [1.0, 1.0, 1.0])
    y = x * w
    x.detach_()
    y.sum().backward()
    return [x.grad, w.grad, x.requires_grad, x.is_leaf]


@case
def detach_of_a_saved_operand(m):
    x = _leaf(m, [1.0, 2.0, 3.0])
    y = x * 1
    z = y * y
    y.detach_()
    z.sum().backward()


@case
def detach_of_a_saved_result_is_fine(m):
    x = _leaf(m, [1.0, 2.0, 3.0])
    y = x.exp()
    z = y.sum()
    y.detach_()
    z.backward()
    return [x.grad, y.requires_grad]


@case
def detach_of_a_view(m):
    x = _leaf(m, [1.0, 2.0, 3.0])
    (x * 1)[1:].detach_()


@case
def detach_of_a_view_of_a_plain_tensor(m):
    m.zeros(3, dtype=m.float64)[1:].detach_()


@case
def backward_inputs_that_need_no_grad(m):
    x = _leaf(m, [1.0, 2.0, 3.0])
    t = m.ones(3, dtype=m.float64)
    (x * t).sum().backward(inputs=[x, t])


@case
def leaf_moved_into_the_graph_interior(m):
    x = _leaf(m, [1.0, 2.0, 3.0])
    y = x * 2
    x.detach_()
    x.mul_(y)
    (x.sum() + y.sum()).backward()


@case
def writing_an_operand_only_a_gradient_nobody_needs_reads(m):
    # mul saves each operand for the other's gradient: with c needing none, b is not saved
    a = _leaf(m, [1.0, 2.0])
    c = m.tensor([3.0, 4.0], dtype=m.float64)
    b = a * 2
    y = b * c
    b.mul_(10)
    y.sum().backward()
    return [y, a.grad]


def test_a_node_saves_only_what_the_rules_it_will_run_read():
    for m in (ad, torch):
        a = _leaf(m, [1.0, 2.0])
        c = m.tensor([3.0, 4.0], dtype=m.float64)
        node = (a * c).grad_fn
        assert node._saved_self is None  # only c's gradient would read a: c needs none
        np.testing.assert_array_equal(node._saved_other.numpy(), [3.0, 4.0])
        assert (a.exp()).grad_fn._saved_result is not None
        with pytest.raises(AttributeError, match="_saved_result"):
            node._saved_result  # mul saves no result  # noqa: B018
        with pytest.raises(RuntimeError, match="a second time"):
            y = a.exp() * 2
            y.sum().backward()
            y.grad_fn._saved_other


@case
def writing_an_operand_a_needed_gradient_reads(m):
    a = _leaf(m, [1.0, 2.0])
    c = _leaf(m, [3.0, 4.0])
    b = a * 2
    y = b * c
    b.mul_(10)
    y.sum().backward()  # c's gradient reads b: torch's version error
    return [y, a.grad]


# ---- creation meta: views that may not be written in place ------------------------------
@case
def inplace_on_a_no_grad_view(m):
    x = _leaf(m, [1.0, 2.0, 3.0])
    y = x * 1
    with m.no_grad():
        v = y[:2]
    v.mul_(2)


@case
def no_grad_view_requires_grad_but_has_no_history(m):
    x = _leaf(m, [1.0, 2.0, 3.0])
    with m.no_grad():
        v = x[:2]
    out = v * 2
    out.sum().backward()
    return [v.requires_grad, v.is_leaf, out.requires_grad, x.grad]


@case
def inplace_on_a_view_of_a_no_grad_view(m):
    x = _leaf(m, [1.0, 2.0, 3.0])
    y = x * 1
    with m.no_grad():
        v = y[:2]
    v[:1].mul_(x[:1])


@case
def no_grad_view_used_after_its_base_was_written(m):
    x = _leaf(m, [1.0, 2.0, 3.0])
    y = x * 1
    with m.no_grad():
        v = y[:2]
    y.mul_(2)
    (v * 2).sum()


@case
def inplace_on_a_split_output(m):
    y = _leaf(m, [1.0, 2.0, 3.0]) * 1
    y.split(2)[1].mul_(2)


@case
def inplace_on_an_unbind_output(m):
    y = _leaf(m, [1.0, 2.0, 3.0]) * 1
    y.unbind()[1].add_(1)


@case
def inplace_on_a_chunk_output(m):
    y = _leaf(m, [1.0, 2.0, 3.0, 4.0]) * 1
    y.chunk(2)[0].mul_(2)


@case
def inplace_on_a_view_of_a_split_output(m):
    y = _leaf(m, [1.0, 2.0, 3.0]) * 1
    y.split(2)[0][:1].mul_(2)


@case
def split_output_used_after_its_base_was_written(m):
    y = _leaf(m, [1.0, 2.0, 3.0]) * 1
    a, b = y.split(2)
    y.mul_(2)
    (b * 2).sum()


@case
def inplace_with_grad_on_a_split_of_a_plain_tensor(m):
    x = _leaf(m, [1.0, 2.0])
    a, _ = m.zeros(3, dtype=m.float64).split(2)
    a.mul_(x)


@case
def split_outputs_of_a_plain_tensor_written_without_grad_are_fine(m):
    z = m.arange(4.0, dtype=m.float64)
    a, b = z.split(2)
    b.mul_(3)
    return [z, a, b]


@case
def split_outputs_written_under_no_grad_are_fine(m):
    y = _leaf(m, [1.0, 2.0, 3.0]) * 1
    with m.no_grad():
        a, b = y.split(2)
        a.mul_(2)
    return [y, a]


# ---- running and comparing --------------------------------------------------------------
def _run(program, m, *args):
    try:
        return program(m, *args), None
    except Exception as e:  # noqa: BLE001  (the exception is the result being compared)
        return None, e


# While split is made of one narrow per piece its outputs' grad_fn are Slice nodes, each
# output 0; once it is one multi-output node (SplitBackward0) its messages are compared whole.
_SPLIT_IS_ONE_NODE = type(ad.ones(2, requires_grad=True).split(1)[1].grad_fn).__name__ == "SplitBackward0"


def _normal_message(e: BaseException) -> str:
    """The message with the library's name as autodiff's, the grad_fn of a version error
    and the hint after it left out (they name each library's own nodes and tools)."""
    text = str(e).replace("torch", "autodiff")
    text = re.sub(r", which is output \d+ of [\w:]+,", "", text)
    if not _SPLIT_IS_ONE_NODE and "returns multiple views" in text:
        text = re.sub(r"^Output \d+ of \w+ ", "Output of a view ", text)
    return text.split(" Hint:")[0]


def _as_array(v):
    if isinstance(v, (torch.Tensor, ad.Tensor)):
        return np.asarray(v.detach().numpy())
    return v


def _compare(program, *args):
    expected, expected_error = _run(program, torch, *args)
    got, error = _run(program, ad, *args)
    if expected_error is not None:
        assert error is not None, f"torch raises {expected_error!r}; autodiff returned {got}"
        assert type(error) is type(expected_error), (error, expected_error)
        assert _normal_message(error) == _normal_message(expected_error)
        return
    if error is not None:
        raise error
    for a, b in zip(got or [], expected or [], strict=True):
        if b is None:
            assert a is None
        else:
            np.testing.assert_allclose(_as_array(a), _as_array(b), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", sorted(CASES))
def test_program_matches_torch(name):
    _compare(CASES[name])


def test_double_backward_through_inplace_on_view_matches_torch(inplace_name):
    _compare(double_backward_through_inplace_on_view, inplace_name)


def test_regenerated_views_have_second_derivatives():
    x = ad.tensor([0.5, -1.0, 2.0], dtype=ad.float64, requires_grad=True)

    def f(a):
        y = a * a
        v = y.unsqueeze(0)[:, 1:]
        y.mul_(a)
        return v * v

    assert ad.autograd.gradcheck(f, (x,))
    assert ad.autograd.gradgradcheck(f, (x,))


def test_every_error_case_raises_in_torch():
    """The cases returning nothing are there for torch's error: check it still raises."""
    for name, program in CASES.items():
        result, error = _run(program, torch)
        assert (result is None) == (error is not None), name
