"""Adding an elementwise op is one declaration: from it come the function, the method and
the in-place method, a gradient (checked numerically and against torch) and the meta
shapes. The op lives in a test-local table, so nothing global is left behind."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import autodiff as ad
from autodiff.ops import variants
from autodiff.ops.elementwise import elementwise

LOCAL_OPS: dict = {}


@pytest.fixture
def cube(monkeypatch):
    for name in ("cube_plus", "cube_plus_"):  # removed again after the test
        monkeypatch.setattr(ad.Tensor, name, None, raising=False)
    op = elementwise("cube_plus", "self, other", (
        lambda grad, self: grad * self * self * 3,
        lambda grad: grad,
    ), expr=("a, b", "a * a * a + b"), variants="function, method, inplace")
    variants.install(op, LOCAL_OPS)
    yield op
    LOCAL_OPS.clear()
    variants.EXPORTS.pop("cube_plus", None)


def _ref(x, y):
    return x ** 3 + y


def test_one_declaration_gives_function_method_and_inplace(cube):
    x = np.random.default_rng(0).standard_normal((3, 4))
    y = np.random.default_rng(1).standard_normal(4)
    expected = _ref(torch.from_numpy(x), torch.from_numpy(y)).numpy()
    np.testing.assert_allclose(LOCAL_OPS["cube_plus"](ad.from_numpy(x), ad.from_numpy(y)).numpy(), expected)
    np.testing.assert_allclose(ad.from_numpy(x).cube_plus(ad.from_numpy(y)).numpy(), expected)
    t = ad.tensor(x)
    assert t.cube_plus_(ad.from_numpy(y)) is t
    np.testing.assert_allclose(t.numpy(), expected)
    assert t._version == 1


def test_the_declared_op_has_gradients_and_meta_shapes(cube):
    x = ad.randn(3, 4, dtype=ad.float64, requires_grad=True)
    y = ad.randn(4, dtype=ad.float64, requires_grad=True)
    assert ad.autograd.gradcheck(cube, (x, y))
    assert ad.autograd.gradgradcheck(cube, (x, y))
    out = cube(x, y)
    assert out.grad_fn.name() == "CubePlusBackward0"
    tx, ty = (torch.from_numpy(t.detach().numpy()).requires_grad_() for t in (x, y))
    out.sum().backward()
    _ref(tx, ty).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())
    np.testing.assert_allclose(y.grad.numpy(), ty.grad.numpy())
    meta = cube(x.to("meta"), ad.ones(2, 1, 1, device="meta", dtype=ad.float32))
    assert meta.device.type == "meta" and meta.shape == (2, 3, 4) and meta.dtype is ad.float64


def test_an_elementwise_method_is_a_plain_function_running_its_op(cube):
    """The method of an elementwise op (and each operator) is a fixed-arity function calling
    ``Op.__call__``: same results, keyword ``other=`` as torch, torch's error for extra
    arguments, and a profile still sees the op."""
    method = ad.Tensor.cube_plus
    assert method is not cube and method.__name__ == "cube_plus"
    x, y = ad.tensor([1.0, 2.0]), ad.tensor([0.5, 0.25])
    np.testing.assert_array_equal(x.cube_plus(other=y).numpy(), cube(x, y).numpy())
    np.testing.assert_array_equal((2 - x).numpy(), torch.sub(2, torch.tensor([1.0, 2.0])).numpy())
    with pytest.raises(TypeError, match="cube_plus"):
        x.cube_plus(y, y)
    with ad.profiler.profile() as prof:
        x.cube_plus(y)
        x * y
    names = {e.key for e in prof.key_averages()}
    assert {"autodiff::cube_plus", "autodiff::mul"} <= names


def test_the_package_and_tensor_get_every_declared_form():
    """The library's own ops come through the same path: each declared function form is
    ``autodiff.<name>``, and its method and in-place method are on Tensor."""
    assert {"exp", "mul", "maximum", "reciprocal"} <= set(variants.EXPORTS)
    for name, op in variants.EXPORTS.items():
        assert getattr(ad, name) is op
        if "method" in op.variants:  # the op itself, or (elementwise) a fixed-arity function running it
            method = getattr(ad.Tensor, name)
            assert method is op or (method.__name__ == name and op.flat is not None)
        if "inplace" in op.variants:
            x = ad.tensor([0.25, 0.5], dtype=ad.float64)
            args = (x,) if len(op.inputs) == 2 else ()
            expected = op(x, *args).numpy()
            assert getattr(x, f"{name}_")(*args) is x
            np.testing.assert_allclose(x.numpy(), expected)
