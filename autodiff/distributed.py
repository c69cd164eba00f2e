"""``autodiff.distributed``, as ``torch.distributed`` in a build without it.

Multi-process data-parallel training is not built yet: ``is_available()`` is False and no
process group can be made, so programs that guard with ``dist.is_available()`` /
``dist.is_initialized()`` take their single-process path.
"""

from __future__ import annotations


def is_available() -> bool:
    return False


def is_initialized() -> bool:
    return False


def _no_group() -> ValueError:
    return ValueError("Default process group has not been initialized, please make sure to call "
                      "init_process_group.")


def init_process_group(*args, **kwargs) -> None:
    raise RuntimeError("autodiff.distributed is not available: autodiff has no multi-process "
                       "training backend yet")


def get_rank(group=None) -> int:
    raise _no_group()


def get_world_size(group=None) -> int:
    raise _no_group()


def destroy_process_group(group=None) -> None:
    """There is never a process group to destroy: raises as torch's does without one."""
    raise AssertionError("Process group cannot be None")
