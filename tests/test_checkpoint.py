"""autodiff.utils.checkpoint: same gradients as the plain run, fewer tensors kept alive."""

import gc
import weakref

import numpy as np
import pytest

import autodiff as ad
from autodiff import nn
from autodiff.nn import Parameter
from autodiff.utils.checkpoint import checkpoint, checkpoint_sequential


class Layer(nn.Module):
    """tanh(x * w + b) with a random (dropout-like) mask drawn from the global generator."""

    def __init__(self, n, seed):
        super().__init__()
        rs = np.random.RandomState(seed)
        self.w = Parameter(ad.tensor(rs.randn(n)))
        self.b = Parameter(ad.tensor(rs.randn(n)))

    def forward(self, x):
        mask = (ad.rand(x.shape) > 0.3).float() / 0.7
        return (x * self.w + self.b).tanh() * mask


def _model():
    return nn.Sequential(*[Layer(5, i) for i in range(6)])


def _grads(run, x_requires_grad=True):
    ad.manual_seed(0)
    model = _model()
    x = ad.tensor(np.linspace(-1, 1, 20).reshape(4, 5), requires_grad=x_requires_grad)
    ad.manual_seed(123)
    run(model, x).sum().backward()
    out = [p.grad.numpy().copy() for p in model.parameters()]
    return out + ([x.grad.numpy().copy()] if x_requires_grad else [])


def _plain(model, x):
    return model(x)


@pytest.mark.parametrize("reentrant", [True, False])
def test_checkpoint_gradients_equal_plain_run(reentrant):
    def run(model, x):
        h = checkpoint(model[:3], x, use_reentrant=reentrant)
        return checkpoint(model[3:], h, use_reentrant=reentrant)
    for a, b in zip(_grads(run), _grads(_plain)):
        np.testing.assert_allclose(a, b, rtol=1e-6)


@pytest.mark.parametrize("reentrant", [True, False])
@pytest.mark.parametrize("segments", [1, 2, 3])
def test_checkpoint_sequential(reentrant, segments):
    run = lambda model, x: checkpoint_sequential(model, segments, x, use_reentrant=reentrant)  # noqa: E731
    for a, b in zip(_grads(run), _grads(_plain)):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_non_reentrant_supports_inputs_without_grad_kwargs_and_autograd_grad():
    run = lambda model, x: checkpoint(lambda t, scale=1.0: model(t) * scale, x, scale=2.0,  # noqa: E731
                                      use_reentrant=False)
    plain = lambda model, x: model(x) * 2.0  # noqa: E731
    for a, b in zip(_grads(run, False), _grads(plain, False)):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    ad.manual_seed(0)
    model = _model()
    x = ad.ones(2, 5)
    ad.manual_seed(5)
    y = checkpoint(model, x, use_reentrant=False).sum()
    (gw,) = ad.autograd.grad(y, [model[0].w])
    ad.manual_seed(5)
    (ref,) = ad.autograd.grad(model(x).sum(), [model[0].w])
    np.testing.assert_allclose(gw.numpy(), ref.numpy(), rtol=1e-6)


def test_reentrant_warnings_and_errors():
    model = _model()
    with pytest.warns(UserWarning, match="use_reentrant parameter should be passed explicitly"):
        checkpoint(model, ad.ones(1, 5, requires_grad=True))
    with pytest.warns(UserWarning, match="None of the inputs have requires_grad=True"):
        out = checkpoint(model, ad.ones(1, 5), use_reentrant=True)
    assert out.grad_fn is None
    with pytest.raises(ValueError, match="Unexpected keyword arguments: scale"):
        checkpoint(model, ad.ones(1, 5), use_reentrant=True, scale=2)


def test_backward_twice_through_checkpoint_errors():
    model = _model()
    y = checkpoint(model, ad.ones(1, 5, requires_grad=True), use_reentrant=False).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        y.backward()


@pytest.mark.parametrize("reentrant", [True, False])
def test_fewer_tensors_alive_between_forward_and_backward(reentrant):
    """Intermediates of the checkpointed function are freed after forward; the plain run keeps them."""
    model = _model()
    created = []

    def tracked(x):
        for layer in model:
            x = layer(x)
            created.append(weakref.ref(x))
        return x

    def alive_after_forward(run):
        created.clear()
        x = ad.ones(3, 5, requires_grad=True)
        y = run(x).sum()
        gc.collect()
        alive = sum(r() is not None for r in created)
        y.backward()  # still differentiable
        assert x.grad is not None
        return alive

    plain = alive_after_forward(tracked)
    checkpointed = alive_after_forward(lambda x: checkpoint(tracked, x, use_reentrant=reentrant))
    assert plain == len(model) - 1  # every layer output but the last is saved by the next layer's ops
    assert checkpointed <= 1  # at most the output itself
