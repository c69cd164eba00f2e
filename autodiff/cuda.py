"""``autodiff.cuda``, as ``torch.cuda``: the CUDA device, its generator and its memory.

``is_available()`` is True where numba-cuda is installed and sees a GPU (or runs on its
simulator, ``NUMBA_ENABLE_CUDASIM=1``); asking it imports ``numba.cuda``, which nothing
else does before a tensor is put on ``cuda`` (the CPU install never imports it). Where
there is no GPU the seeding and cache calls programs make unconditionally do nothing, as
torch's do; calls that need a GPU raise RuntimeError saying why. autodiff uses one device
(``cuda:0``). Memory numbers are the caching allocator's (``backends/gpu_memory.py``).
"""

from __future__ import annotations

import importlib.util

from .backends import base
from .backends.base import backend_for, loaded
from .device import as_device


def is_available() -> bool:
    if loaded("cuda"):
        return True
    if importlib.util.find_spec("numba_cuda") is None:
        return False
    from numba import cuda

    return bool(cuda.is_available())


def device_count() -> int:
    return 1 if is_available() else 0


def is_initialized() -> bool:
    return loaded("cuda")


def is_bf16_supported(including_emulation: bool = True) -> bool:
    return False


def _backend():
    """The CUDA backend, loaded on first use (RuntimeError saying why where there is none)."""
    return backend_for("cuda")


def init() -> None:
    _backend()


def manual_seed(seed: int) -> None:
    """Seed the device generator (``rand``/``randn``/dropout on ``cuda``). As torch's, it does
    not initialise CUDA: before the backend is loaded the seed waits for it (and without a
    GPU it is never used)."""
    if loaded("cuda"):
        _backend().random.manual_seed(seed)
    else:
        base.deferred["cuda_seed"] = int(seed)


def manual_seed_all(seed: int) -> None:
    manual_seed(seed)


def initial_seed() -> int:
    return _backend().random.seed


def empty_cache() -> None:
    """Hand the allocator's cached free blocks back to the driver; a no-op without a GPU."""
    if loaded("cuda"):
        _backend().allocator.empty_cache()


def memory_allocated(device=None) -> int:
    """Bytes held by live tensors (rounded to the allocator's block sizes)."""
    return _backend().allocator.allocated if loaded("cuda") else 0


def memory_reserved(device=None) -> int:
    """Bytes held from the driver: live blocks plus cached free ones."""
    return _backend().allocator.reserved if loaded("cuda") else 0


def max_memory_allocated(device=None) -> int:
    return _backend().allocator.peak if loaded("cuda") else 0


def reset_peak_memory_stats(device=None) -> None:
    if loaded("cuda"):
        _backend().allocator.reset_peak()


def current_device() -> int:
    _backend()
    return 0


def synchronize(device=None) -> None:
    _backend().synchronize()


def set_device(device) -> None:
    as_device(device if not isinstance(device, int) else f"cuda:{device}")


from .amp import cuda_amp as amp  # noqa: E402,F401  (torch.cuda.amp's GradScaler and autocast)
