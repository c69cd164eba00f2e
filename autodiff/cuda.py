"""``autodiff.cuda``, as ``torch.cuda`` in a build without CUDA.

autodiff has no CUDA backend yet: ``is_available()`` is False and ``device_count()`` 0, so
the usual ``"cuda" if ad.cuda.is_available() else "cpu"`` picks the CPU. The seeding and
cache calls programs make unconditionally do nothing, as torch's do without a GPU; calls
that need a GPU raise RuntimeError saying so.
"""

from __future__ import annotations

from .device import as_device


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def is_initialized() -> bool:
    return False


def is_bf16_supported(including_emulation: bool = True) -> bool:
    return False


def manual_seed(seed: int) -> None:
    """No-op: there is no CUDA generator (``autodiff.manual_seed`` seeds the CPU one)."""


def manual_seed_all(seed: int) -> None:
    """No-op: there is no CUDA generator."""


def empty_cache() -> None:
    """No-op: there is no CUDA memory to release."""


def _no_cuda() -> None:
    as_device("cuda")  # raises the RuntimeError that explains why


def current_device() -> int:
    _no_cuda()
    return 0


def synchronize(device=None) -> None:
    _no_cuda()


def set_device(device) -> None:
    _no_cuda()


from .amp import cuda_amp as amp  # noqa: E402,F401  (torch.cuda.amp's GradScaler and autocast)
