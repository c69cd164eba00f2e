"""Thread-local grad mode: ``no_grad``, ``enable_grad``, ``set_grad_enabled``.

Each works as a context manager and as a decorator, like PyTorch's. The flag is
per thread, so a ``no_grad`` block in one thread does not disable recording in another.
"""

from __future__ import annotations

import functools
import threading
from typing import Any, Callable

class _State(threading.local):
    enabled = True  # each thread starts with grad mode on


# this thread's flag: ``state.enabled`` is ``is_grad_enabled()`` without the call, for the
# hot paths (every op reads it); the context managers below set it directly for the same reason
state = _State()


def is_grad_enabled() -> bool:
    """Whether operations record a graph for backward in this thread."""
    return state.enabled


def _set_enabled(mode: bool) -> None:
    state.enabled = bool(mode)


class _GradModeContext:
    """Base: sets a grad mode on enter, restores the previous one on exit, decorates functions."""

    _mode: bool

    def __enter__(self) -> None:
        self._prev = state.enabled
        state.enabled = self._mode

    def __exit__(self, *exc: Any) -> None:
        state.enabled = self._prev

    def __call__(self, fn: Callable) -> Callable:
        mode = self._mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradModeContext):
    """Disable graph recording: results of ops do not require grad."""

    _mode = False


class enable_grad(_GradModeContext):
    """Enable graph recording (inside a ``no_grad`` block, say)."""

    _mode = True


class set_grad_enabled(_GradModeContext):
    """Set grad mode to ``mode``; takes effect immediately, and as a context restores on exit."""

    def __init__(self, mode: bool) -> None:
        self._prev = state.enabled
        state.enabled = self._mode = bool(mode)

    def __enter__(self) -> None:
        pass  # the switch happened in __init__, which also remembered the mode to restore

    def __call__(self, fn: Callable) -> Callable:
        _set_enabled(self._prev)  # used as a decorator: undo the switch made in __init__
        return super().__call__(fn)
