"""The EMM plugin of the CUDA backend's caching allocator, over a stand-in for the driver.

The simulator has no External Memory Management, and this machine no GPU, so Numba's
calls into the plugin (``memalloc``, the pointer's finalizer, ``reset``) are made here
directly, with a fake driver that hands out addresses and records frees. On a GPU,
``tests/cuda_backend_checks.py`` checks that Numba's own allocations go through it.
"""

import gc

import pytest
from cuda_support import HAVE_NUMBA_CUDA, NO_NUMBA_CUDA

pytestmark = pytest.mark.skipif(not HAVE_NUMBA_CUDA, reason=NO_NUMBA_CUDA)

if HAVE_NUMBA_CUDA:
    from numba import cuda
    from numba.cuda.cudadrv import driver as numba_driver

    from autodiff.backends import gpu_memory

OOM = "CUDA_ERROR_OUT_OF_MEMORY"


class FakeDriver:
    """cuMemAlloc/cuMemFree/cuMemGetInfo over a device of ``capacity`` bytes."""

    def __init__(self, capacity: int) -> None:
        self.capacity, self.used, self.next = capacity, 0, 0x10000
        self.allocs, self.freed, self.sizes = [], [], {}

    def cuMemAlloc(self, size):
        if self.used + size > self.capacity:
            raise numba_driver.CudaAPIError(getattr(numba_driver.binding.CUresult, OOM), "out of memory")
        ptr, self.next = self.next, self.next + size
        self.used += size
        self.allocs.append(size)
        self.sizes[ptr] = size
        return ptr

    def cuMemFree(self, ptr):
        self.used -= self.sizes.pop(ptr)
        self.freed.append(ptr)

    def cuMemGetInfo(self):
        return self.capacity - self.used, self.capacity


class Context:
    """What the manager keeps a weak proxy of."""


@pytest.fixture
def manager(monkeypatch):
    plugin = gpu_memory._plugin_class()
    fake = FakeDriver(capacity=3 * 4096)
    monkeypatch.setattr(plugin, "driver", fake)
    context = Context()
    mm = plugin(context=context)
    mm.initialize()
    yield mm, fake
    del context


def test_freed_blocks_are_cached_and_reused_not_freed(manager):
    mm, fake = manager
    a = mm.memalloc(4000)
    assert a.size == 4000 and mm.pool.allocated == mm.pool.reserved == 4096 and fake.allocs == [4096]
    address = a.device_pointer_value
    del a
    gc.collect()
    assert mm.pool.allocated == 0 and mm.pool.reserved == 4096 and fake.freed == []
    b = mm.memalloc(3700)  # the same 512-byte-rounded size: the cached block
    assert b.device_pointer_value == address and fake.allocs == [4096] and mm.pool.allocated == 4096
    c = mm.memalloc(100)
    assert fake.allocs == [4096, 512] and mm.pool.peak == 4096 + 512
    del b, c
    gc.collect()
    mm.pool.empty_cache()
    assert len(fake.freed) == 2 and mm.pool.reserved == 0 and fake.used == 0


def test_out_of_memory_frees_the_cache_and_retries_once(manager):
    mm, fake = manager
    kept = mm.memalloc(4096)
    cached = mm.memalloc(4096)
    address = cached.device_pointer_value
    del cached
    gc.collect()  # 8 KiB reserved of 12: 6 KiB more fits only once the cached block is freed
    big = mm.memalloc(6000)
    assert fake.freed == [address] and mm.pool.reserved == 4096 + 6144 == mm.pool.allocated
    with pytest.raises(numba_driver.CudaAPIError):  # nothing cached left to free: the error stands
        mm.memalloc(4096)
    assert mm.pool.allocated == 4096 + 6144
    del kept, big


def test_other_driver_errors_are_not_retried(manager, monkeypatch):
    mm, fake = manager

    def fails(size):
        raise numba_driver.CudaAPIError(getattr(numba_driver.binding.CUresult, "CUDA_ERROR_INVALID_VALUE"), "bad")

    monkeypatch.setattr(fake, "cuMemAlloc", fails)
    with pytest.raises(numba_driver.CudaAPIError, match="bad"):
        mm.memalloc(10)
    assert mm.pool.reserved == 0


def test_reset_returns_the_cached_blocks_and_memory_info_is_the_drivers(manager):
    mm, fake = manager
    a = mm.memalloc(512)
    del a
    gc.collect()
    assert mm.get_memory_info() == (3 * 4096 - 512, 3 * 4096)
    assert mm.deallocations.memory_capacity == 3 * 4096  # set by initialize, as Numba's manager does
    mm.reset()
    assert fake.used == 0 and mm.pool.reserved == 0


def test_numba_accepts_the_plugin(monkeypatch):
    monkeypatch.setattr(numba_driver, "_memory_manager", None)  # restored after the test
    plugin = gpu_memory._plugin_class()
    cuda.set_memory_manager(plugin)  # checks the interface version
    assert numba_driver._memory_manager is plugin
