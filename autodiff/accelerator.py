"""``autodiff.accelerator``, as ``torch.accelerator``: which accelerator this process can use.

autodiff runs on the CPU only until its CUDA backend exists, so there is none: code that
picks ``current_accelerator() or "cpu"`` runs on the CPU.
"""

from __future__ import annotations

from .device import device


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def current_accelerator(check_available: bool = False) -> device | None:
    """The accelerator's device type, or None when there is none (always, for now)."""
    return None
