"""Say when kernels compile, and record what compiled.

A kernel missing from the on-disk cache compiles on first use, which can take seconds
and looks like a hang. Numba announces every real compilation (a cache miss; cache
loads are silent) as a ``numba:compile`` event; this listener watches the events of
autodiff's kernels (other libraries' Numba functions are ignored), prints one line to
stderr when compiling has gone on for ``NOTICE_AFTER_S`` seconds (once per process;
``AUTODIFF_COMPILE_NOTICE=0`` silences it), and keeps the list of compiled
specialisations with their times, for ``python -m autodiff.precompile`` and the
start-up benchmarks.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import NamedTuple

from numba.core import event

NOTICE_AFTER_S = 1.0
NOTICE = ("autodiff: compiling kernels for first use (saved to the kernel cache for later runs; "
          "`python -m autodiff.precompile` compiles the common ones ahead of time)...")
_OURS = ("kernels.", "_autodiff_gen_")


class Compiled(NamedTuple):
    """One compiled specialisation: the kernel, its argument types, wall seconds and CPU
    seconds of the compiling thread (callees included; on a loaded machine the CPU time
    is the cost)."""

    name: str
    args: str
    seconds: float
    cpu_seconds: float = 0.0


def is_ours(ev) -> bool:
    """Whether a ``numba:compile`` event is of one of autodiff's kernels."""
    module = getattr(getattr(ev.data["dispatcher"], "py_func", None), "__module__", "") or ""
    return module.startswith(_OURS)


class _Watch(event.Listener):
    def __init__(self) -> None:
        self.compiled: list[Compiled] = []
        self.noticed = os.environ.get("AUTODIFF_COMPILE_NOTICE", "1") == "0"
        self._starts: list[tuple[float, float]] = []
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()  # timers of two compilations may fire at once

    @staticmethod
    def _ours(ev) -> bool:
        return is_ours(ev)

    def _notice(self) -> None:
        with self._lock:
            if self.noticed:
                return
            self.noticed = True
        print(NOTICE, file=sys.stderr, flush=True)

    def on_start(self, ev) -> None:
        if not self._ours(ev):
            return
        if not self._starts and not self.noticed:
            self._timer = threading.Timer(NOTICE_AFTER_S, self._notice)
            self._timer.daemon = True
            self._timer.start()
        self._starts.append((time.perf_counter(), time.thread_time()))

    def on_end(self, ev) -> None:
        if not self._ours(ev) or not self._starts:
            return
        wall, cpu = self._starts.pop()
        py_func = ev.data["dispatcher"].py_func
        self.compiled.append(Compiled(f"{py_func.__module__}.{py_func.__qualname__}",
                                      ", ".join(str(a) for a in ev.data["args"]),
                                      time.perf_counter() - wall, time.thread_time() - cpu))
        if not self._starts and self._timer is not None:
            self._timer.cancel()


_watch = _Watch()
_installed = False


def install() -> None:
    """Start watching (idempotent; done when ``kernels`` is imported)."""
    global _installed
    if not _installed:
        event.register("numba:compile", _watch)
        _installed = True


def compiled() -> list[Compiled]:
    """Every specialisation of autodiff's kernels compiled in this process so far, in order."""
    return list(_watch.compiled)
