"""Engine semantics: PyTorch's autograd behaviour, point by point."""

from __future__ import annotations

import gc
import threading
import weakref

import numpy as np
import pytest
import torch

import autodiff as ad


def leaf(values, dtype=ad.float32):
    return ad.tensor(values, dtype=dtype, requires_grad=True)


def test_leaf_and_grad_fn_structure():
    x = leaf([1.0, 2.0])
    y = x * 3
    z = y.exp()
    assert x.is_leaf and x.grad_fn is None and x.requires_grad
    assert not z.is_leaf and z.requires_grad
    assert type(z.grad_fn).__name__ == "ExpBackward0" and z.grad_fn.name() == "ExpBackward0"
    (mul_node, nr), = z.grad_fn.next_functions
    assert mul_node is y.grad_fn and nr == 0
    assert type(mul_node).__name__ == "MulBackward0"
    acc, scalar_edge = mul_node.next_functions
    assert type(acc[0]).__name__ == "AccumulateGrad" and acc[0].variable is x
    assert scalar_edge == (None, 0)


def test_gradients_accumulate_into_leaves():
    x = leaf([1.0, 2.0, 3.0])
    (x * x).sum().backward()
    (x * 2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 6.0, 8.0])


def test_grad_of_shared_subexpression_sums_paths():
    x = leaf([1.0, -2.0])
    y = x * x + x * 3 + x
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.array([1.0, -2.0]) + 4)


def test_non_leaf_grad_is_none_with_warning_unless_retained():
    x = leaf([1.0, 2.0])
    y = x * 2
    z = y * 3
    y.retain_grad()
    z.sum().backward()
    assert y.retains_grad
    np.testing.assert_allclose(y.grad.numpy(), [3.0, 3.0])
    with pytest.warns(UserWarning, match="not a leaf Tensor"):
        assert z.grad is None


def test_backward_twice_raises_pytorch_error():
    x = leaf([1.0, 2.0])
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        y.backward()


def test_retain_graph_allows_second_backward():
    x = leaf([1.0, 2.0])
    y = (x.exp()).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp([1.0, 2.0]), rtol=1e-6)


def test_implicit_grad_only_for_scalars():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        (x * 2).backward()


def test_backward_of_tensor_without_grad():
    x = ad.tensor([1.0, 2.0])
    with pytest.raises(RuntimeError, match="element 0 of tensors does not require grad and does not have a grad_fn"):
        (x * 2).sum().backward()


def test_gradient_argument_of_wrong_shape():
    x = leaf([1.0, 2.0, 3.0])
    y = x * 2
    with pytest.raises(RuntimeError, match=r"Mismatch in shape: grad_output\[0\] has a shape of \[2\] and output\[0\] has a shape of \[3\]"):
        y.backward(ad.ones(2))
    y.backward(ad.tensor([1.0, 0.5, 0.0]))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 1.0, 0.0])


def test_hooks_observe_replace_and_remove():
    x = leaf([1.0, 2.0])
    seen = []
    h1 = x.register_hook(lambda g: seen.append(g.numpy().copy()))
    (x * 3).sum().backward()
    np.testing.assert_allclose(seen[0], [3.0, 3.0])
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])

    x.grad = None
    h2 = x.register_hook(lambda g: g * 10)
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [30.0, 30.0])

    h1.remove()
    h2.remove()
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])
    assert len(seen) == 2


def test_hook_on_intermediate_changes_upstream_gradient():
    x = leaf([1.0, 2.0])
    y = x * 2
    y.register_hook(lambda g: g * 0.5)
    (y * y).sum().backward()
    # dz/dy = 2y = [4, 8], halved, then times dy/dx = 2
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0])


def test_hook_requires_grad():
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        ad.tensor([1.0]).register_hook(lambda g: g)


def test_autograd_grad_matches_torch_and_does_not_accumulate():
    x = leaf([0.3, -1.2, 2.0], ad.float64)
    w = leaf([1.5, 0.5, -0.7], ad.float64)
    y = (x * w).tanh().sum()
    gx, gw = ad.autograd.grad(y, [x, w])
    assert x.grad is None and w.grad is None
    xt = torch.tensor([0.3, -1.2, 2.0], dtype=torch.float64, requires_grad=True)
    wt = torch.tensor([1.5, 0.5, -0.7], dtype=torch.float64, requires_grad=True)
    gxt, gwt = torch.autograd.grad((xt * wt).tanh().sum(), [xt, wt])
    np.testing.assert_allclose(gx.numpy(), gxt.numpy(), rtol=1e-12)
    np.testing.assert_allclose(gw.numpy(), gwt.numpy(), rtol=1e-12)


def test_autograd_grad_with_grad_outputs_and_non_leaf_input():
    x = leaf([1.0, 2.0])
    h = x * 3
    y = h.exp()
    (gh,) = ad.autograd.grad(y, h, grad_outputs=ad.tensor([1.0, 2.0]))
    np.testing.assert_allclose(gh.numpy(), np.exp([3.0, 6.0]) * [1.0, 2.0], rtol=1e-6)


def test_autograd_grad_allow_unused():
    x, z = leaf([1.0]), leaf([2.0])
    y = (x * 2).sum()
    with pytest.raises(RuntimeError, match="appears to not have been used in the graph"):
        ad.autograd.grad(y, [x, z], retain_graph=True)
    gx, gz = ad.autograd.grad(y, [x, z], allow_unused=True)
    assert gz is None and gx.item() == 2.0


def test_second_derivatives_match_torch():
    values = [0.5, -1.0, 2.0]
    x = leaf(values, ad.float64)
    y = (x.sin() * x.exp() + x.tanh() * x * x).sum()
    (g,) = ad.autograd.grad(y, x, create_graph=True)
    (gg,) = ad.autograd.grad(g.sum(), x)
    xt = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    yt = (xt.sin() * xt.exp() + xt.tanh() * xt * xt).sum()
    (gt,) = torch.autograd.grad(yt, xt, create_graph=True)
    (ggt,) = torch.autograd.grad(gt.sum(), xt)
    np.testing.assert_allclose(g.detach().numpy(), gt.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(gg.numpy(), ggt.numpy(), rtol=1e-12)


def test_backward_create_graph_keeps_grad_differentiable():
    x = leaf([2.0], ad.float64)
    (x ** 3).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    (gg,) = ad.autograd.grad(x.grad.sum(), x)
    assert gg.item() == pytest.approx(12.0)


def test_autograd_backward_of_several_tensors():
    x = leaf([1.0, 2.0])
    ad.autograd.backward([(x * 2).sum(), (x * x).sum()])
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 6.0])


def test_backward_inputs_restricts_accumulation():
    x, w = leaf([1.0]), leaf([2.0])
    (x * w).sum().backward(inputs=[x])
    assert x.grad.item() == 2.0 and w.grad is None


@pytest.mark.parametrize("ctx", [ad.no_grad, lambda: ad.set_grad_enabled(False)])
def test_no_grad_context(ctx):
    x = leaf([1.0])
    with ctx():
        y = x * 2
        assert not ad.is_grad_enabled()
        with ad.enable_grad():
            assert (x * 2).requires_grad
    assert ad.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None


def test_grad_mode_decorators():
    x = leaf([1.0])

    @ad.no_grad()
    def f():
        return x * 2

    @ad.set_grad_enabled(False)
    def g():
        return x * 2

    assert ad.is_grad_enabled()
    assert not f().requires_grad and not g().requires_grad
    assert ad.is_grad_enabled()


def test_grad_mode_is_thread_local():
    results = []

    def worker():
        results.append(ad.is_grad_enabled())

    with ad.no_grad():
        t = threading.Thread(target=worker)
        t.start()
        t.join()
        assert not ad.is_grad_enabled()
    assert results == [True]


@pytest.mark.parametrize("outer", [True, False])
@pytest.mark.parametrize("create_graph", [False, True])
def test_backward_runs_in_its_grad_mode_and_restores_the_callers_even_on_error(outer, create_graph):
    x = leaf([1.0, 2.0])
    seen = []

    def hook(grad):
        seen.append(ad.is_grad_enabled())
        if len(seen) == 2:
            raise ValueError("hook failed")

    y = x * 3
    y.register_hook(hook)
    loss = y.sum()
    with ad.set_grad_enabled(outer):
        loss.backward(retain_graph=True, create_graph=create_graph)
        assert ad.is_grad_enabled() is outer
        with pytest.raises(ValueError, match="hook failed"):
            loss.backward(create_graph=create_graph)
        assert ad.is_grad_enabled() is outer
    assert seen == [create_graph, create_graph]


def test_detach_and_requires_grad_():
    x = leaf([1.0, 2.0])
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.grad_fn is None
    d.numpy()[0] = 5.0  # shares storage
    assert y.detach().numpy()[0] == 5.0
    y.detach_()
    assert y.is_leaf and not y.requires_grad
    z = ad.tensor([1.0]).requires_grad_()
    assert z.requires_grad and z.is_leaf


@pytest.mark.parametrize("dtype", [ad.int64, ad.bool])
def test_integer_tensors_cannot_require_grad(dtype):
    with pytest.raises(RuntimeError, match="only Tensors of floating point dtype can require gradients"):
        ad.tensor([1, 0], dtype=dtype, requires_grad=True)
    with pytest.raises(RuntimeError, match="floating point"):
        ad.tensor([1, 0], dtype=dtype).requires_grad_()


def test_non_leaf_requires_grad_cannot_be_switched_off():
    y = leaf([1.0]) * 2
    with pytest.raises(RuntimeError, match="only change requires_grad flags of leaf variables"):
        y.requires_grad = False


def test_deep_chain_has_no_recursion_limit():
    x = leaf([1.0])
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.sum().backward()
    assert x.grad.item() == pytest.approx(1.0001 ** 10_000, rel=1e-3)


def test_graph_and_saved_tensors_are_freed_after_backward():
    x = leaf(np.ones(8))
    y = (x * 2).tanh()
    h = y.exp()
    node_ref = weakref.ref(h.grad_fn)
    saved_ref = weakref.ref(y)
    loss = h.sum()
    del y, h
    loss.backward()
    del loss
    gc.collect()
    assert node_ref() is None
    assert saved_ref() is None


def test_saved_tensors_are_freed_even_while_the_graph_lives():
    x = leaf([1.0, 2.0])
    y = x.exp()
    node = y.grad_fn
    y.sum().backward()
    assert node._saved is None


def test_anomaly_mode_names_the_forward_op():
    x = leaf([0.0, 1.0])
    with ad.autograd.detect_anomaly():
        y = x.sqrt()  # d/dx sqrt at 0 is inf; inf * 0 below gives nan
        z = (y * 0.0).sum()
        with pytest.raises(RuntimeError, match="Function 'SqrtBackward0' returned nan values") as info:
            z.backward()
    assert "test_anomaly_mode_names_the_forward_op" in str(info.value)  # where it was created
    assert "x.sqrt()" in str(info.value)


def test_set_detect_anomaly_switches():
    ad.autograd.set_detect_anomaly(True)
    try:
        from autodiff.autograd.anomaly import is_anomaly_enabled
        assert is_anomaly_enabled()
    finally:
        ad.autograd.set_detect_anomaly(False)
    assert not is_anomaly_enabled()


class Cube(ad.autograd.Function):
    @staticmethod
    def forward(ctx, x, scale):
        ctx.save_for_backward(x)
        ctx.scale = scale
        return x * x * x * scale

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x * x * ctx.scale, None


def test_custom_function_forward_backward_and_double_backward():
    x = leaf([1.0, -2.0], ad.float64)
    y = Cube.apply(x, 2.0)
    assert type(y.grad_fn).__name__ == "CubeBackward"
    (g,) = ad.autograd.grad(y.sum(), x, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), [6.0, 24.0])
    (gg,) = ad.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(gg.numpy(), [12.0, -24.0])
    assert ad.autograd.gradcheck(lambda t: Cube.apply(t, 2.0), (x,))


def test_custom_function_needs_input_grad_and_non_differentiable_outputs():
    class SortLike(ad.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            ctx.flags = ctx.needs_input_grad
            idx = ad.tensor([1, 0])
            ctx.mark_non_differentiable(idx)
            return x * 2, idx

        @staticmethod
        def backward(ctx, g, g_idx):
            return g * 2, None

    x, y = leaf([1.0, 2.0]), ad.tensor([3.0])
    out, idx = SortLike.apply(x, y)
    assert out.grad_fn.flags == (True, False)
    assert not idx.requires_grad
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])


def test_custom_function_wrong_number_of_gradients():
    class Bad(ad.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, g):
            return g

    x, y = leaf([1.0]), leaf([2.0])
    with pytest.raises(RuntimeError, match="returned an incorrect number of gradients"):
        Bad.apply(x, y).sum().backward()


def test_custom_function_saved_tensors_freed():
    x = leaf([1.0, 2.0])
    y = Cube.apply(x, 1.0)
    s = y.sum()
    s.backward(retain_graph=False)
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.grad_fn.saved_tensors
