"""Anomaly detection: name the forward op whose backward produced NaN.

With anomaly mode on, every node records the stack of the forward call that created
it; when a backward function raises or returns NaN, the error names the node and shows
that stack, so the user sees which line of their model is to blame.
"""

from __future__ import annotations

import threading
import traceback

import numpy as np

class _State(threading.local):
    enabled = False


# this thread's flag: ``state.enabled`` is ``is_anomaly_enabled()`` without the call, for
# the hot path (every recorded op reads it)
state = _State()


def is_anomaly_enabled() -> bool:
    return state.enabled


class set_detect_anomaly:
    """Turn anomaly detection on or off; also a context manager restoring the old mode."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self._prev = is_anomaly_enabled()
        state.enabled = bool(mode)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc) -> None:
        state.enabled = self._prev


class detect_anomaly(set_detect_anomaly):
    """Context manager (and decorator) enabling anomaly detection inside its block."""

    def __init__(self, check_nan: bool = True) -> None:
        self._prev = is_anomaly_enabled()

    def __enter__(self) -> None:
        state.enabled = True

    def __call__(self, fn):
        def wrapper(*args, **kwargs):
            with detect_anomaly():
                return fn(*args, **kwargs)

        return wrapper


def record_trace(node) -> None:
    """Store the forward call stack on ``node`` (called when anomaly mode is on)."""
    node._trace = "".join(traceback.format_stack()[:-3])


def _trace_of(node) -> str:
    if node._trace is None:
        return ""
    return f"\n\nTraceback of forward call that caused the error:\n{node._trace}"


def with_forward_trace(error: Exception, node) -> Exception:
    """The same error type, its message extended with where ``node``'s op was called."""
    return type(error)(f"Error detected in {node.name()}. {error}{_trace_of(node)}")


def check_outputs(node, outputs) -> None:
    for i, g in enumerate(outputs):
        if g is not None and g.dtype.is_floating_point and np.isnan(g._data).any():
            raise RuntimeError(
                f"Function '{node.name()}' returned nan values in its {i}th output.{_trace_of(node)}"
            )
