"""Tensor construction, metadata, conversion, promotion, printing and factories."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import autodiff as ad


@pytest.mark.parametrize("data, dtype", [
    (1.5, ad.float32), (3, ad.int64), (True, ad.bool), ([1.0, 2.0], ad.float32), ([1, 2], ad.int64),
    ([[True, False]], ad.bool), ([1, 2.5], ad.float32), (np.ones(3, np.float64), ad.float64),
    (np.ones(3, np.int32), ad.int32), (np.ones(3, np.uint8), ad.uint8), ([], ad.float32),
])
def test_tensor_infers_dtype_like_torch(data, dtype):
    t = ad.tensor(data)
    assert t.dtype is dtype
    ref = torch.tensor(data) if not isinstance(data, np.ndarray) else torch.from_numpy(data)
    assert t.shape == tuple(ref.shape) and str(t.dtype).split(".")[1] == str(ref.dtype).split(".")[1]
    np.testing.assert_array_equal(t.numpy(), ref.numpy())


def test_tensor_copies_and_from_numpy_shares():
    a = np.zeros(3, np.float32)
    t, s = ad.tensor(a), ad.from_numpy(a)
    a[0] = 7
    assert t.numpy()[0] == 0 and s.numpy()[0] == 7
    s.numpy()[1] = 3
    assert a[1] == 3


@pytest.mark.parametrize("bad, error, message", [
    ([[1, 2], [3]], ValueError, r"expected sequence of length 2 at dim 1 \(got 1\)"),
    ([[1, 2], 3], ValueError, "expected a sequence or a number"),
    (["a", "b"], TypeError, "invalid data type"),
    ({"a": 1}, TypeError, "invalid data type"),
])
def test_tensor_rejects_ragged_and_non_numeric(bad, error, message):
    with pytest.raises(error, match=message):
        ad.tensor(bad)


def test_from_numpy_rejects_unsupported_dtype():
    with pytest.raises(TypeError, match="float16"):
        ad.from_numpy(np.ones(2, np.float16))


def test_metadata():
    t = ad.zeros(2, 3, 4)
    assert t.shape == (2, 3, 4) and t.size() == (2, 3, 4) and t.size(-1) == 4
    assert t.dim() == t.ndim == 3 and t.numel() == 24 and len(t) == 2
    assert t.stride() == (12, 4, 1) and t.stride(0) == 12
    assert t.is_contiguous() and t.device == ad.device("cpu") and str(t.device) == "cpu"
    nc = ad.from_numpy(np.zeros((4, 6), np.float32)[:, ::2])
    assert not nc.is_contiguous() and nc.stride() == (6, 2)
    assert nc.contiguous().is_contiguous()
    with pytest.raises(IndexError, match="Dimension out of range"):
        t.size(3)


def test_item_tolist_numpy_and_conversions():
    t = ad.tensor([[1.5, -2.0]])
    assert t.tolist() == [[1.5, -2.0]]
    assert ad.tensor(2.5).item() == 2.5 and ad.tensor([7]).item() == 7
    with pytest.raises(RuntimeError, match="a Tensor with 2 elements cannot be converted to Scalar"):
        t.item()
    assert t.double().dtype is ad.float64 and t.long().tolist() == [[1, -2]]
    assert t.bool().tolist() == [[True, True]] and ad.tensor([0.0, 2.0]).bool().tolist() == [False, True]
    assert t.float() is t and t.to(ad.float64).dtype is ad.float64
    assert ad.tensor([1, 0]).float().dtype is ad.float32
    assert float(ad.tensor(1.5)) == 1.5 and int(ad.tensor(3)) == 3
    r = ad.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Can't call numpy\(\) on Tensor that requires grad"):
        r.numpy()
    assert r.detach().numpy()[0] == 1.0


def test_conversion_is_differentiable_and_casts_gradients():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    y = x.double() * ad.tensor([3.0, 4.0], dtype=ad.float64)
    assert y.dtype is ad.float64
    y.sum().backward()
    assert x.grad.dtype is ad.float32
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 4.0])


@pytest.mark.parametrize("a, b", [
    ("f32", "f64"), ("i64", "f32"), ("i64", "f64"), ("b", "i64"), ("b", "f32"), ("f32", 2.5),
    ("i64", 2.5), ("i64", 2), ("b", 1), ("b", True), ("f64", 2), ("f32", "f64_0d"), ("i64", "f32_0d"),
])
def test_type_promotion_matches_torch(a, b):
    def make(lib, spec):
        if not isinstance(spec, str):
            return spec
        values = {"f32": ([1.0, 2.0], "float32"), "f64": ([1.0, 2.0], "float64"), "i64": ([1, 2], "int64"),
                  "b": ([True, False], "bool"), "f64_0d": (2.0, "float64"), "f32_0d": (2.0, "float32")}[spec]
        return lib.tensor(values[0], dtype=getattr(lib, values[1]))

    ours = make(ad, a) + make(ad, b)
    ref = make(torch, a) + make(torch, b)
    assert ours.dtype.name == str(ref.dtype).split(".")[1]
    np.testing.assert_allclose(ours.numpy(), ref.numpy())


def test_float32_math_stays_float32_with_python_floats():
    x = ad.tensor([1.0, 2.0])
    assert (x * 0.1 + 1e-8).dtype is ad.float32
    assert (x / 3).dtype is ad.float32 and (ad.tensor([1, 2]) / 2).dtype is ad.float32
    assert x.exp().dtype is ad.float32 and ad.tensor([1, 2]).exp().dtype is ad.float32


def test_broadcast_mismatch_names_both_shapes():
    with pytest.raises(RuntimeError, match=r"size of tensor a \(3\) must match the size of tensor b \(4\) .*\[2, 3\], \[4\]"):
        ad.ones(2, 3) + ad.ones(4)


def test_ieee_special_values():
    x = ad.tensor([0.0, -1.0, float("inf"), float("nan")])
    log = x.log().numpy()
    assert log[0] == -np.inf and np.isnan(log[1]) and log[2] == np.inf and np.isnan(log[3])
    assert (ad.tensor([1.0, -1.0, 0.0]) / 0.0).tolist()[:2] == [np.inf, -np.inf]
    assert np.isnan(ad.maximum(ad.tensor([1.0]), ad.tensor([float("nan")])).item())
    assert ad.relu(ad.tensor([0.0, -0.0, -3.0])).tolist() == [0.0, 0.0, 0.0]


def test_relu_gradient_at_zero_is_zero():
    x = ad.tensor([0.0, 1.0, -1.0], requires_grad=True)
    x.relu().sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 0.0]


def test_integer_power_rules():
    assert (ad.tensor([2, 3]) ** 2).tolist() == [4, 9]
    with pytest.raises(RuntimeError, match="Integers to negative integer powers are not allowed"):
        ad.tensor([2, 3]) ** -1


def test_comparisons_and_logic_give_bool():
    a, b = ad.tensor([1.0, 2.0, 3.0]), ad.tensor([3.0, 2.0, 1.0])
    assert (a < b).dtype is ad.bool and (a < b).tolist() == [True, False, False]
    assert ((a >= 2) & (b >= 2)).tolist() == [False, True, False]
    assert (~(a == 2)).tolist() == [True, False, True]
    assert ad.where(a > 1, a, -b).tolist() == [-3.0, 2.0, 3.0]
    with pytest.raises(RuntimeError, match="bitwise operations are only defined for bool and integer"):
        a & b


def test_repr_matches_torch_layout():
    cases = [
        ([1.0, 2.0, 3.0], {}), ([[1.5, 2.25], [3.0, -4.125]], {}), ([1, 2, 3], {}), ([True, False], {}),
        (2.5, {}), ([1e-5, 1.0, 1e5], {}), ([0.1, 0.2], {"dtype": "float64"}), ([], {}),
    ]
    for data, kw in cases:
        ours = ad.tensor(data, dtype=getattr(ad, kw["dtype"]) if kw else None)
        ref = torch.tensor(data, dtype=getattr(torch, kw["dtype"]) if kw else None)
        assert repr(ours) == repr(ref).replace("torch.", "autodiff."), data


def test_repr_autograd_suffixes_and_summary():
    x = ad.tensor([1.0, 2.0], requires_grad=True)
    assert repr(x) == "tensor([1., 2.], requires_grad=True)"
    assert repr(x * 2) == "tensor([2., 4.], grad_fn=<MulBackward0>)"
    big = repr(ad.arange(5000, dtype=ad.float32))
    assert "..." in big and len(big) < 200
    assert big == repr(torch.arange(5000, dtype=torch.float32))


@pytest.mark.parametrize("factory, args, kwargs", [
    ("zeros", (2, 3), {}), ("ones", ((2, 3),), {}), ("full", ((2, 2), 7.0), {}), ("full", ((2,), 3), {}),
    ("arange", (5,), {}), ("arange", (1, 2, 0.25), {}), ("linspace", (0, 1, 5), {}), ("eye", (3,), {}),
    ("eye", (2, 3), {}), ("zeros", (2,), {"dtype": "int64"}), ("ones", (3,), {"dtype": "bool"}),
    # arange's count and values as NumPy's: the step from the first two values (1.1 - 1 != 0.1)
    ("arange", (1, 2, 0.1), {}), ("arange", (10, 0, -3), {}), ("arange", (0, 1, 1 / 3), {"dtype": "float32"}),
    ("arange", (-2.5, 2.5, 0.5), {"dtype": "float64"}), ("arange", (0.5, 3), {"dtype": "int64"}),
    ("arange", (1, 0, -0.3), {}), ("eye", (4, 2), {"dtype": "int64"}), ("eye", (0, 3), {}),
])
def test_factories_match_torch(factory, args, kwargs):
    ours = getattr(ad, factory)(*args, **{k: getattr(ad, v) for k, v in kwargs.items()})
    ref = getattr(torch, factory)(*args, **{k: getattr(torch, v) for k, v in kwargs.items()})
    assert ours.dtype.name == str(ref.dtype).split(".")[1]
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=1e-6)


def test_like_factories_and_empty():
    x = ad.tensor([[1, 2]], dtype=ad.float64)
    for f in (ad.zeros_like, ad.ones_like, ad.empty_like, ad.rand_like, ad.randn_like):
        y = f(x)
        assert y.shape == (1, 2) and y.dtype is ad.float64
    assert ad.full_like(x, 4).tolist() == [[4.0, 4.0]]
    assert ad.empty(0, 3).shape == (0, 3)
    with pytest.raises(RuntimeError, match="negative dimension"):
        ad.zeros(-1)


def test_random_factories_are_reproducible():
    ad.manual_seed(123)
    a = (ad.rand(4), ad.randn(2, 2), ad.randint(0, 10, (5,)))
    ad.manual_seed(123)
    b = (ad.rand(4), ad.randn(2, 2), ad.randint(0, 10, (5,)))
    for x, y in zip(a, b):
        assert x.tolist() == y.tolist()
    assert a[0].dtype is ad.float32 and a[2].dtype is ad.int64
    assert ((a[0] >= 0) & (a[0] < 1)).all().item() if hasattr(ad.Tensor, "all") else a[0].numpy().min() >= 0
    assert a[2].numpy().min() >= 0 and a[2].numpy().max() < 10
    g = ad.Generator().manual_seed(5)
    assert ad.rand(3, generator=g).tolist() == ad.rand(3, generator=ad.Generator().manual_seed(5)).tolist()


def test_device_argument():
    assert ad.zeros(2, device="cpu").device.type == "cpu"
    with pytest.raises(RuntimeError, match="no cuda backend"):
        ad.zeros(2, device="cuda")
