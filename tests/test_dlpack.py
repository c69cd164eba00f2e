"""DLPack and the array protocols: zero-copy exchange with NumPy, torch and JAX."""

import gc

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.utils.dlpack

import autodiff as ad
from autodiff import dlpack_capsule


def _aligned(n, dtype=np.float32, align=64):
    """A fresh array whose data starts on an ``align``-byte boundary (JAX imports those without a copy)."""
    raw = np.empty(n * np.dtype(dtype).itemsize + align, np.uint8)
    start = -raw.ctypes.data % align
    return raw[start:start + n * np.dtype(dtype).itemsize].view(dtype)


def test_numpy_aliasing_both_ways():
    t = ad.arange(6.0).reshape(2, 3)
    a = np.from_dlpack(t)
    a[0, 1] = 42
    assert t[0, 1].item() == 42
    arr = np.arange(4.0)
    u = ad.from_dlpack(arr)
    u.add_(1)
    np.testing.assert_array_equal(arr, [1, 2, 3, 4])
    assert u._version == 1


@pytest.mark.parametrize("tdt", [torch.float32, torch.float64, torch.int64, torch.bool])
def test_torch_aliasing_both_ways_every_dtype(tdt):
    src = torch.arange(6).reshape(2, 3).to(tdt)
    t = ad.from_dlpack(src)
    assert t.dtype.name == str(tdt).removeprefix("torch.") and t.shape == (2, 3)
    assert t._data.ctypes.data == src.data_ptr()
    t[1, 2] = True if tdt is torch.bool else 9
    assert src[1, 2].item() == t[1, 2].item()
    back = torch.from_dlpack(t)
    assert back.data_ptr() == src.data_ptr() and back.dtype == tdt
    back[0, 0] = 0
    assert t[0, 0].item() == 0


def test_non_contiguous_exports_keep_strides():
    x = ad.arange(12.0).reshape(3, 4)
    for view in (x.t(), x[:, ::2], x[1]):
        tv = torch.from_dlpack(view)
        assert tv.stride() == view.stride() and tv.shape == view.shape
        np.testing.assert_array_equal(tv.numpy(), view.numpy())
    tv = torch.from_dlpack(x.t())
    tv[0, 2] = -1
    assert x[2, 0].item() == -1
    strided = torch.arange(10.0)[::3]
    assert ad.from_dlpack(strided).stride() == strided.stride()


def test_jax_zero_copy_both_ways():
    j = jnp.arange(5.0, dtype=jnp.float32)
    t = ad.from_dlpack(j)
    assert t._data.ctypes.data == j.unsafe_buffer_pointer()
    np.testing.assert_array_equal(t.numpy(), np.asarray(j))
    assert not t._data.flags.writeable  # JAX arrays are immutable, and say so
    x = ad.from_numpy(_aligned(4))
    x.copy_(ad.arange(4.0))
    y = jax.dlpack.from_dlpack(x)
    assert y.unsafe_buffer_pointer() == x._data.ctypes.data
    x.mul_(10)  # a write on autodiff's side is seen by the JAX array over the same memory
    np.testing.assert_array_equal(np.asarray(y), [0, 10, 20, 30])


def test_capsules_and_devices():
    t = ad.from_dlpack(torch.utils.dlpack.to_dlpack(torch.arange(3.0)))
    np.testing.assert_array_equal(t.numpy(), [0, 1, 2])
    x = ad.ones(2)
    assert x.__dlpack_device__() == tuple(int(v) for v in torch.ones(2).__dlpack_device__()) == (1, 0)
    assert ad.from_dlpack(x)._version_counter is x._version_counter

    class OnGpu:
        def __dlpack__(self, **kwargs):
            raise AssertionError("must not be asked for its memory")

        def __dlpack_device__(self):
            return (2, 0)

    with pytest.raises(RuntimeError, match="lives on a CUDA device; autodiff has no backend"):
        ad.from_dlpack(OnGpu())
    with pytest.raises(TypeError, match="expected an object with __dlpack__"):
        ad.from_dlpack([1, 2])
    with pytest.raises(TypeError, match="dtype float16 is not one autodiff has"):
        ad.from_dlpack(np.arange(3, dtype=np.float16))
    small = np.arange(3, dtype=np.int32)
    assert ad.from_dlpack(small).dtype is ad.int32 and np.shares_memory(ad.from_dlpack(small).numpy(), small)


def test_export_of_tensor_requiring_grad_is_refused_as_in_torch():
    with pytest.raises(BufferError) as ours:
        ad.ones(2, requires_grad=True).__dlpack__()
    with pytest.raises(BufferError) as theirs:
        torch.ones(2, requires_grad=True).__dlpack__()
    assert str(ours.value) == str(theirs.value)
    torch.from_dlpack(ad.ones(2, requires_grad=True).detach())


def test_version_counter_is_shared_across_an_exchange():
    w = ad.ones(3, requires_grad=True)
    x = ad.arange(3.0)
    alias = ad.from_dlpack(torch.from_dlpack(x))  # memory x exported, imported back
    assert alias._version_counter is x._version_counter
    y = (w * x).sum()  # saves x for backward
    alias.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()
    part = ad.from_dlpack(torch.from_dlpack(x)[1:])  # overlapping memory shares it too
    assert part._version_counter is x._version_counter
    other = ad.from_dlpack(torch.arange(3.0))
    assert other._version_counter is not x._version_counter


class _Interface:
    def __init__(self, array):
        self._array = array
        self.__array_interface__ = array.__array_interface__


class _ArrayMethod:
    def __init__(self, array):
        self._array = array

    def __array__(self, dtype=None, copy=None):
        return self._array


class _DLPackOnly:
    def __init__(self, array):
        self._array = array

    def __dlpack__(self, **kwargs):
        return self._array.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self._array.__dlpack_device__()


@pytest.mark.parametrize("wrap", [_Interface, _ArrayMethod, _DLPackOnly, torch.from_numpy])
def test_as_tensor_shares_and_tensor_copies_array_likes(wrap):
    array = np.arange(6.0).reshape(2, 3)
    obj = wrap(array)
    shared = ad.as_tensor(obj)
    copied = ad.tensor(obj)
    ref = torch.as_tensor(_DLPackOnly(array))  # torch takes DLPack objects (not bare array interfaces)
    assert shared.dtype.name == copied.dtype.name == str(ref.dtype).removeprefix("torch.")
    assert shared.shape == copied.shape == tuple(ref.shape)
    assert np.shares_memory(shared.numpy(), array) and not np.shares_memory(copied.numpy(), array)
    np.testing.assert_array_equal(copied.numpy(), ref.numpy())
    assert ad.as_tensor(obj, dtype=ad.float32).dtype is ad.float32
    assert not np.shares_memory(ad.as_tensor(obj, dtype=ad.float32).numpy(), array)


def test_tensor_of_foreign_integer_arrays_keeps_their_dtype_as_torch():
    for src in (torch.arange(3, dtype=torch.int32), jnp.arange(3, dtype=jnp.int32)):
        t = ad.tensor(src)
        assert t.dtype is ad.int32 and t.tolist() == [0, 1, 2]
        assert ad.as_tensor(src).dtype is ad.int32
        assert torch.as_tensor(np.asarray(src)).dtype is torch.int32
    t = ad.as_tensor(jnp.arange(3.0, dtype=jnp.float32))
    assert t.dtype is ad.float32 and t.tolist() == [0, 1, 2]


def test_numpy_copy_protocol():
    t = ad.arange(4.0)
    assert np.shares_memory(np.asarray(t), t.numpy())
    assert np.shares_memory(np.asarray(t, copy=False), t.numpy())
    assert not np.shares_memory(np.array(t), t.numpy())
    assert not np.shares_memory(np.asarray(t, copy=True), t.numpy())
    converted = np.asarray(t, dtype=np.float64)
    assert converted.dtype == np.float64 and not np.shares_memory(converted, t.numpy())
    with pytest.raises(ValueError, match="Unable to avoid copy"):
        np.asarray(t, dtype=np.float64, copy=False)
    assert np.shares_memory(np.asarray(t, dtype=np.float32, copy=False), t.numpy())
    with pytest.raises(RuntimeError, match="Use tensor.detach"):
        np.asarray(ad.ones(1, requires_grad=True))


# ---- autodiff's own capsules (the device path), checked against NumPy's and torch's readers ----

def _description(a: np.ndarray, readonly: bool = False) -> dlpack_capsule.Description:
    return dlpack_capsule.Description(a.ctypes.data, a.shape, a.strides, a.dtype, (dlpack_capsule.CPU, 0), readonly)


class _Producer:
    """Hands out autodiff-made capsules over a NumPy array, legacy or versioned as asked."""

    def __init__(self, a: np.ndarray, readonly: bool = False) -> None:
        self.a, self.readonly = a, readonly

    def __dlpack__(self, stream=None, max_version=None, dl_device=None, copy=None):
        versioned = max_version is not None and tuple(max_version) >= (1, 0)
        return dlpack_capsule.export(_description(self.a, self.readonly), self.a, versioned)

    def __dlpack_device__(self):
        return (dlpack_capsule.CPU, 0)


@pytest.mark.parametrize("a", [np.arange(12, dtype=np.float32).reshape(3, 4)[:, ::2],
                               np.arange(6, dtype=np.int64).reshape(2, 3).T, np.array([True, False]),
                               np.array(2.5)], ids=["strided", "transposed", "bool", "0-d"])
def test_exported_capsules_are_read_by_numpy_and_torch_without_a_copy(a):
    for consumer in (np.from_dlpack, torch.from_dlpack, lambda p: torch.utils.dlpack.from_dlpack(p.__dlpack__())):
        b = np.asarray(consumer(_Producer(a)))
        assert b.dtype == a.dtype and b.shape == a.shape and b.strides == a.strides
        assert b.ctypes.data == a.ctypes.data  # the same memory
    del b
    gc.collect()
    assert not dlpack_capsule._exported  # every consumer called the deleter


def test_an_unused_capsule_frees_what_it_holds_and_read_only_is_kept():
    a = np.ones(3)
    capsule = _Producer(a).__dlpack__()
    assert dlpack_capsule.device_of(capsule) == (dlpack_capsule.CPU, 0) and dlpack_capsule._exported
    del capsule
    gc.collect()
    assert not dlpack_capsule._exported
    assert not np.from_dlpack(_Producer(a, readonly=True)).flags.writeable  # DLPack 1.0's read-only flag


@pytest.mark.parametrize("versioned", [False, True])
def test_reads_the_capsules_numpy_and_torch_make(versioned):
    sources = [np.arange(6, dtype=np.int32).reshape(2, 3)[:, 1:], torch.arange(6.0).reshape(2, 3).t()]
    for src in sources:
        capsule = src.__dlpack__(max_version=(1, 0)) if versioned else src.__dlpack__()
        desc, owner = dlpack_capsule.read(capsule)
        ref = np.asarray(src)
        assert (desc.shape, desc.strides, desc.dtype, desc.device) == (ref.shape, ref.strides, ref.dtype, (1, 0))
        assert desc.data == ref.ctypes.data and not desc.readonly
        with pytest.raises(BufferError, match="consumed already"):  # the protocol: a capsule is used once
            dlpack_capsule.read(capsule)
        del owner  # runs the producer's deleter
