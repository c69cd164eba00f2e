"""The CPU backend's cache of large buffers: reuse only once no tensor views a buffer."""

import threading

import numpy as np
import pytest

import autodiff as ad
from autodiff.backends.cpu_memory import MIN_BYTES, BufferPool

SHAPE = (MIN_BYTES // 4 + 1000,)  # float32: just above the cached size


def test_a_freed_buffer_is_reused_and_a_viewed_one_is_not():
    pool = BufferPool(1 << 30)
    a = pool.empty(SHAPE, np.float32)
    b = pool.empty(SHAPE, np.float32)
    assert not np.shares_memory(a, b) and a.base is not None and a.flags.c_contiguous
    view = a[10:20]
    del a
    c = pool.empty(SHAPE, np.float32)  # a's buffer is still seen through ``view``
    assert not np.shares_memory(c, view) and not np.shares_memory(c, b)
    del view
    d = pool.empty((SHAPE[0] // 2, 2), np.float32)  # same rounded size, another shape
    assert d.shape == (SHAPE[0] // 2, 2) and pool.held == 3 * d.base.nbytes


def test_small_requests_and_a_zero_limit_bypass_the_cache():
    pool = BufferPool(1 << 30)
    small = pool.empty((10,), np.float64)
    assert small.base is None and pool.held == 0
    off = BufferPool(0)
    assert off.empty(SHAPE, np.float32).base is None and off.held == 0


def test_the_limit_drops_free_buffers_then_falls_back_to_numpy():
    pool = BufferPool(1 << 30)
    size = pool.empty(SHAPE, np.float32).base.nbytes  # freed at once: held, free
    pool.limit = 2 * size
    first = pool.empty(SHAPE, np.float64)  # twice the bytes: the free buffer is dropped for it
    assert first.base is not None and pool.held == first.base.nbytes <= pool.limit
    second = pool.empty(SHAPE, np.float64)  # no room left: plain NumPy memory
    assert second.base is None and pool.held == first.base.nbytes
    del first
    assert pool.cached_bytes() == pool.held
    pool.empty_cache()
    assert pool.cached_bytes() == 0 and pool.held == 0


def test_threads_never_share_a_buffer():
    pool = BufferPool(1 << 30)
    errors = []

    def work(value):
        for _ in range(200):
            a = pool.empty(SHAPE, np.float32)
            a.fill(value)
            if not (a == value).all():
                errors.append(value)

    threads = [threading.Thread(target=work, args=(v,)) for v in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


@pytest.mark.parametrize("op", ["relu", "zeros", "clone"])
def test_tensors_from_the_cache_keep_their_values(op):
    x = ad.randn(SHAPE)
    expected = {"relu": lambda: np.maximum(x.numpy(), 0), "zeros": lambda: np.zeros(SHAPE, np.float32),
                "clone": lambda: x.numpy().copy()}[op]()
    make = {"relu": lambda: ad.relu(x), "zeros": lambda: ad.zeros(SHAPE), "clone": lambda: x.clone()}[op]
    kept = [make() for _ in range(3)]
    for _ in range(3):  # buffers freed and re-taken around the kept ones
        make()
    for t in kept:
        np.testing.assert_array_equal(t.numpy(), expected)
