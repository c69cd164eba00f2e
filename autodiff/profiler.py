"""``autodiff.profiler``: where the time of a forward and backward goes, in torch.profiler's shape.

    with autodiff.profiler.profile() as prof:
        loss = model(x).sum()
        loss.backward()
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=10))

What is recorded (one :class:`FunctionEvent` per call):

* every op call, named ``autodiff::<op>`` (``autodiff::mul``), and every forward of an
  ``autograd.Function`` (the fused ops ``autodiff::layer_norm``, ... name themselves by
  ``Function.profile_name``; a user's Function shows as its class name);
* every backward node the engine runs, named after its class (``MulBackward0``), and the
  whole backward pass as ``autograd::backward``;
* user ranges opened with :func:`record_function`.

Events nest: an op called by a backward rule is a child of its node. *CPU total* is the
wall time of the call; *self CPU* is that less its children's. Each event also has a
*phase*: ``"backward"`` inside a backward pass, else ``"forward"``; ``key_averages()``
groups by name and phase, so an op's forward and backward calls are separate rows.

Numba's own work is not counted as CPU time of the op that triggered it but in two
columns of its own, so a first step that was slow because kernels were compiled shows
as such: *Compile* is time in Numba's ``numba:compile`` event (type inference and LLVM
for a new signature), *Cache load* the rest of the time Numba's compiler lock was held
(mostly loading kernels compiled earlier from the on-disk cache). Self CPU and CPU total
exclude both. The Numba events are heard through ``numba.core.event`` listeners that are
registered only while a profile runs.

:class:`kernel_progress` listens to the same Numba events to show a progress bar while
kernels are compiled or loaded, so a first step is not a silent pause.

Cost when off: ``ops/op.py`` and the engine check the module flag :data:`active` once
per op call and once per backward node; it is True only while a profile runs.
"""

from __future__ import annotations

import enum
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from numba.core import event as numba_event

active = False  # True while a profile runs; the hooks in ops/op.py and the engine read it

_lock = threading.Lock()
_sessions: list[profile] = []


class _Local(threading.local):
    def __init__(self) -> None:
        self.stack: list[_Frame] = []  # the open events of this thread, innermost last
        self.phase = "forward"
        self.lock_depth = 0
        self.lock_start = 0
        self.compile_depth = 0
        self.compile_start = 0


_local = _Local()


class _Frame:
    """An open event: its start and what its children and Numba took so far (ns)."""

    __slots__ = ("children", "compile", "load", "name", "op", "phase", "start", "sub_numba")

    def __init__(self, name: str, phase: str, op) -> None:
        self.name, self.phase, self.op = name, phase, op
        self.children = self.load = self.compile = self.sub_numba = 0
        self.start = time.perf_counter_ns()


class FunctionEvent:
    """One recorded call. Times in microseconds, as torch's."""

    __slots__ = (
        "cache_load_time",
        "compile_time",
        "cpu_time_total",
        "name",
        "phase",
        "self_cpu_time_total",
        "thread",
    )

    def __init__(self, name: str, phase: str, total_ns: int, self_ns: int, compile_ns: int,
                 load_ns: int, thread: int) -> None:
        self.name, self.phase, self.thread = name, phase, thread
        self.cpu_time_total = total_ns / 1e3
        self.self_cpu_time_total = self_ns / 1e3
        self.compile_time = compile_ns / 1e3
        self.cache_load_time = load_ns / 1e3

    @property
    def key(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return (f"<FunctionEvent {self.name} phase={self.phase} cpu_time_total={self.cpu_time_total:.3f}us "
                f"self_cpu_time_total={self.self_cpu_time_total:.3f}us compile_time={self.compile_time:.3f}us>")


class FunctionEventAvg:
    """The events of one (name, phase): count and summed times (microseconds)."""

    def __init__(self, key: str, phase: str) -> None:
        self.key, self.phase = key, phase
        self.count = 0
        self.cpu_time_total = self.self_cpu_time_total = 0.0
        self.compile_time_total = self.cache_load_time_total = 0.0

    def add(self, e: FunctionEvent) -> FunctionEventAvg:
        self.count += 1
        self.cpu_time_total += e.cpu_time_total
        self.self_cpu_time_total += e.self_cpu_time_total
        self.compile_time_total += e.compile_time
        self.cache_load_time_total += e.cache_load_time
        return self

    @property
    def cpu_time(self) -> float:
        """Average CPU total per call."""
        return self.cpu_time_total / self.count if self.count else 0.0

    def __repr__(self) -> str:
        return (f"<FunctionEventAvg key={self.key} phase={self.phase} count={self.count} "
                f"cpu_time_total={self.cpu_time_total:.3f}us self_cpu_time_total={self.self_cpu_time_total:.3f}us>")


def _format_time(us: float) -> str:
    """torch's: three decimals in s, ms or us."""
    if us >= 1e6:
        return f"{us / 1e6:.3f}s"
    if us >= 1e3:
        return f"{us / 1e3:.3f}ms"
    return f"{us:.3f}us"


def _percent(part: float, whole: float) -> str:
    return f"{part / whole * 100:.2f}%" if whole else "0.00%"


class EventList(list):
    """A list of events; for averages, ``table()`` prints them as torch's profiler does."""

    def __init__(self, items=(), compiled: list | None = None) -> None:
        super().__init__(items)
        self.compiled = compiled if compiled is not None else []

    def table(self, sort_by: str | None = None, row_limit: int = 100, max_name_column_width: int = 55) -> str:
        """The events as a text table, sorted by an attribute (descending), ``row_limit`` rows.

        ``sort_by``: ``"cpu_time_total"``, ``"self_cpu_time_total"``, ``"cpu_time"``,
        ``"count"``, ``"compile_time_total"``, ``"cache_load_time_total"`` (or None: as recorded).
        """
        rows = [e if isinstance(e, FunctionEventAvg) else FunctionEventAvg(e.name, e.phase).add(e) for e in self]
        if sort_by is not None:
            if rows and not hasattr(rows[0], sort_by):
                raise AttributeError(f"cannot sort by {sort_by!r}: events have no such attribute")
            rows.sort(key=lambda r: getattr(r, sort_by), reverse=True)
        self_total = sum(r.self_cpu_time_total for r in rows)
        load_us = sum(r.cache_load_time_total for r in rows)
        if row_limit is not None and row_limit > 0:
            rows = rows[:row_limit]
        name_width = min(max([len(r.key) for r in rows] + [4]) + 4, max_name_column_width)
        headers = ["Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg", "Compile",
                   "Cache load", "# of Calls", "Phase"]
        width = 12
        line = "-" * name_width + "  " + "  ".join("-" * width for _ in headers) + "  "

        def row(name: str, cells: list) -> str:
            if len(name) > name_width:
                name = name[:name_width - 3] + "..."
            return name.rjust(name_width) + "  " + "  ".join(str(c).rjust(width) for c in cells) + "  "

        out = [line, row("Name", headers), line]
        for r in rows:
            out.append(row(r.key, [
                _percent(r.self_cpu_time_total, self_total), _format_time(r.self_cpu_time_total),
                _percent(r.cpu_time_total, self_total), _format_time(r.cpu_time_total), _format_time(r.cpu_time),
                _format_time(r.compile_time_total), _format_time(r.cache_load_time_total), r.count, r.phase]))
        out.append(line)
        out.append(f"Self CPU time total: {_format_time(self_total)}")
        compile_us = sum(c[2] for c in self.compiled) / 1e3
        out.append(f"Numba compile time total: {_format_time(compile_us)} ({len(self.compiled)} kernel "
                   f"signatures compiled); cache load: {_format_time(load_us)}")
        return "\n".join(out) + "\n"


class ProfilerActivity(enum.Enum):
    """torch.profiler.ProfilerActivity, for source compatibility: only CPU time is recorded."""

    CPU = "cpu"
    CUDA = "cuda"


class profile:
    """Record op calls, backward nodes and Numba compilation while the block runs.

    torch.profiler.profile's shape: a context manager (or ``start()``/``stop()``); after
    it, ``events()`` and ``key_averages()``. ``activities`` and other torch options are
    accepted for source compatibility; only the CPU is profiled.
    """

    def __init__(self, activities: Any = None, record_shapes: bool = False, **options: Any) -> None:
        self._events: list[FunctionEvent] = []
        self._compiled: list[tuple[str, str, int]] = []  # (kernel, signature, ns)
        self._running = False

    # ---- lifetime --------------------------------------------------------------------
    def start(self) -> None:
        global active
        if self._running:
            raise RuntimeError("this profiler is already running")
        with _lock:
            if not _sessions:
                numba_event.register("numba:compiler_lock", _LOCK_LISTENER)
                numba_event.register("numba:compile", _COMPILE_LISTENER)
            _sessions.append(self)
            active = True
        self._running = True

    def stop(self) -> None:
        global active
        if not self._running:
            return
        self._running = False
        with _lock:
            _sessions.remove(self)
            if not _sessions:
                active = False
                numba_event.unregister("numba:compiler_lock", _LOCK_LISTENER)
                numba_event.unregister("numba:compile", _COMPILE_LISTENER)

    def __enter__(self) -> profile:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- results ---------------------------------------------------------------------
    def events(self) -> EventList:
        """Every recorded call, in the order the calls ended."""
        return EventList(self._events, self._compiled)

    def key_averages(self) -> EventList:
        """One :class:`FunctionEventAvg` per (name, phase), in order of first appearance."""
        groups: dict[tuple[str, str], FunctionEventAvg] = {}
        for e in self._events:
            avg = groups.get((e.name, e.phase))
            if avg is None:
                avg = groups[(e.name, e.phase)] = FunctionEventAvg(e.name, e.phase)
            avg.add(e)
        return EventList(groups.values(), self._compiled)

    @property
    def compiled_kernels(self) -> list[tuple[str, str, float]]:
        """The kernels Numba compiled while profiling: (name, signature, seconds)."""
        return [(name, sig, ns / 1e9) for name, sig, ns in self._compiled]

    def phase_totals(self) -> dict[str, float]:
        """Self CPU time per phase (microseconds): where forward and backward time went."""
        totals: dict[str, float] = defaultdict(float)
        for e in self._events:
            totals[e.phase] += e.self_cpu_time_total
        return dict(totals)

    def _add(self, event: FunctionEvent) -> None:
        self._events.append(event)


# ---- the recording ------------------------------------------------------------------------
def _push(name: str, phase: str | None = None, op=None) -> _Frame:
    frame = _Frame(name, phase or _local.phase, op)
    _local.stack.append(frame)
    return frame


def _pop(frame: _Frame) -> None:
    stack = _local.stack
    end = time.perf_counter_ns()
    while stack and stack.pop() is not frame:  # an event left open by an exception inside it
        pass
    wall = end - frame.start
    numba_ns = frame.sub_numba + frame.load  # load includes compile (it runs under the lock)
    if stack:
        parent = stack[-1]
        parent.children += wall
        parent.sub_numba += numba_ns
    event = FunctionEvent(frame.name, frame.phase, wall - numba_ns, wall - frame.children - frame.load,
                          frame.compile, frame.load - frame.compile, threading.get_ident())
    with _lock:
        for session in _sessions:
            session._add(event)


def intercept(op) -> bool:
    """Should this call of ``op`` be timed? Not when it is ``op``'s own event running: that is
    :func:`op_call` calling the op's method, or that method falling back to ``Op.__call__``
    (an op's forward works on arrays and never calls the op itself)."""
    stack = _local.stack
    return not stack or stack[-1].op is not op


def op_call(op, method: Callable, args: tuple, params: dict):
    """Run ``method(op, *args, **params)`` (an Op's ``__call__`` or ``apply_``) as a timed event."""
    frame = _push("autodiff::" + op.name + ("_" if method.__name__ == "apply_" else ""), op=op)
    try:
        return method(op, *args, **params)
    finally:
        _pop(frame)


def function_call(name: str, forward: Callable, ctx, args: tuple, kwargs: dict):
    """Run an ``autograd.Function``'s ``forward(ctx, *args, **kwargs)`` as a timed event."""
    frame = _push(name)
    try:
        return forward(ctx, *args, **kwargs)
    finally:
        _pop(frame)


def node_call(node, grads: list, apply: Callable):
    """Run a backward node (``apply(node, grads)``) as a timed event."""
    frame = _push(node.name(), "backward")
    try:
        return apply(node, grads)
    finally:
        _pop(frame)


class _Range:
    """A timed range: ``record_function`` and the engine's backward pass."""

    __slots__ = ("frame", "name", "phase", "saved_phase")

    def __init__(self, name: str, phase: str | None = None) -> None:
        self.name, self.phase, self.frame = name, phase, None

    def __enter__(self) -> _Range:
        self.saved_phase = _local.phase
        if self.phase is not None:
            _local.phase = self.phase
        if active:
            self.frame = _push(self.name)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.frame is not None:
            _pop(self.frame)
            self.frame = None
        _local.phase = self.saved_phase


class _Nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


_NOTHING = _Nothing()


def backward_pass():
    """Context for one backward pass of the engine: an ``autograd::backward`` event, and
    the ``"backward"`` phase for everything inside it. A no-op when no profile runs."""
    return _Range("autograd::backward", "backward") if active else _NOTHING


def record_function(name: str) -> _Range:
    """Label a range of code (torch.profiler.record_function): it appears as an event."""
    return _Range(name)


class _NumbaListener(numba_event.Listener):
    """Times the outermost of nested Numba events of one kind and charges the open event."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def on_start(self, event) -> None:
        depth = self.kind + "_depth"
        n = getattr(_local, depth)
        if n == 0:
            setattr(_local, self.kind + "_start", time.perf_counter_ns())
        setattr(_local, depth, n + 1)

    def on_end(self, event) -> None:
        depth = self.kind + "_depth"
        n = getattr(_local, depth) - 1
        setattr(_local, depth, max(n, 0))
        if n != 0:
            return
        ns = time.perf_counter_ns() - getattr(_local, self.kind + "_start")
        frame = _local.stack[-1] if _local.stack else None
        if self.kind == "lock":
            if frame is not None:
                frame.load += ns
            return
        if frame is not None:
            frame.compile += ns
        data = event.data or {}
        dispatcher = data.get("dispatcher")
        name = getattr(getattr(dispatcher, "py_func", None), "__qualname__", str(dispatcher))
        signature = ", ".join(str(a) for a in data.get("args", ()))
        with _lock:
            for session in _sessions:
                session._compiled.append((name, f"({signature})", ns))


_LOCK_LISTENER = _NumbaListener("lock")
_COMPILE_LISTENER = _NumbaListener("compile")


class kernel_progress:
    """A progress bar (tqdm.auto: a widget in Jupyter) counting the Numba kernels compiled or
    loaded from the cache while the block runs, so a first step that compiles is not silent.

        with autodiff.profiler.kernel_progress():
            train_one_epoch()

    The bar appears with the first kernel (none when everything is loaded already); its
    postfix names the kernel being compiled. ``count`` and ``compiled`` hold the totals.
    """

    def __init__(self, desc: str = "Numba kernels compiled or loaded", leave: bool = True) -> None:
        self.desc, self.leave = desc, leave
        self.count = self.compiled = 0
        self._bar = None
        self._lock_depth = self._compile_depth = 0
        self._listeners = (_Callback(self._lock_start, self._lock_end),
                           _Callback(self._compile_start, self._compile_end))

    def __enter__(self) -> kernel_progress:
        numba_event.register("numba:compiler_lock", self._listeners[0])
        numba_event.register("numba:compile", self._listeners[1])
        return self

    def __exit__(self, *exc: Any) -> None:
        numba_event.unregister("numba:compiler_lock", self._listeners[0])
        numba_event.unregister("numba:compile", self._listeners[1])
        if self._bar is not None:
            self._bar.set_postfix_str(f"{self.compiled} compiled", refresh=False)
            self._bar.close()

    def _lock_start(self, event) -> None:
        self._lock_depth += 1

    def _lock_end(self, event) -> None:
        self._lock_depth -= 1
        if self._lock_depth == 0:
            self.count += 1
            if self._bar is None:
                from tqdm.auto import tqdm

                self._bar = tqdm(desc=self.desc, unit="kernel", leave=self.leave)
            self._bar.update()

    def _compile_start(self, event) -> None:
        self._compile_depth += 1
        if self._compile_depth == 1 and self._bar is not None:
            dispatcher = (event.data or {}).get("dispatcher")
            name = getattr(getattr(dispatcher, "py_func", None), "__qualname__", "")
            self._bar.set_postfix_str(f"compiling {name}")

    def _compile_end(self, event) -> None:
        self._compile_depth -= 1
        if self._compile_depth == 0:
            self.compiled += 1


class _Callback(numba_event.Listener):
    def __init__(self, on_start: Callable, on_end: Callable) -> None:
        self._start, self._end = on_start, on_end

    def on_start(self, event) -> None:
        self._start(event)

    def on_end(self, event) -> None:
        self._end(event)
