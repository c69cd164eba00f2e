"""The nodes of the backward graph, saved tensors, and hook handles.

A ``Node`` (what ``tensor.grad_fn`` holds) maps the gradients of its outputs to the
gradients of its inputs; ``next_functions`` are the edges ``(node, output_nr)`` to the
nodes that produced those inputs (``AccumulateGrad`` for a leaf, ``None`` for an input
that needs no gradient). The engine (``engine.py``) walks these edges.
"""

from __future__ import annotations

import itertools
import weakref
from typing import Any, Callable

from ..dtypes import from_numpy_dtype
from ..tensor import fresh
from .anomaly import is_anomaly_enabled

_FREED = (
    "Trying to backward through the graph a second time (or directly access saved "
    "tensors after they have already been freed). Saved intermediate values of the graph "
    "are freed when you call .backward() or autograd.grad(). Specify retain_graph=True if "
    "you need to backward through the graph a second time or if you need to access saved "
    "tensors after calling backward."
)

_handle_ids = itertools.count()


class RemovableHandle:
    """Returned by ``register_hook``; ``remove()`` unregisters the hook."""

    __slots__ = ("_hooks_ref", "id")

    def __init__(self, hooks: "HookDict") -> None:
        self._hooks_ref = weakref.ref(hooks)
        self.id = next(_handle_ids)

    def remove(self) -> None:
        hooks = self._hooks_ref()
        if hooks is not None:
            hooks.pop(self.id, None)

    def __enter__(self) -> "RemovableHandle":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()


class HookDict(dict):
    """An ordered id -> hook dict that a RemovableHandle can refer to weakly."""

    __slots__ = ("__weakref__",)

    def add(self, fn: Callable) -> RemovableHandle:
        handle = RemovableHandle(self)
        self[handle.id] = fn
        return handle


class Node:
    """Base of every backward function. Subclasses implement ``apply(grads) -> grads``.

    Creators set ``next_functions``. The rarely used per-node extras (tensor hooks,
    retained outputs, the anomaly-mode forward trace) default to None at class level and
    live in the instance ``__dict__`` only when set, so making a node costs no ``__init__``.
    """

    __slots__ = ("next_functions", "__weakref__", "__dict__")
    num_outputs = 1
    _tensor_hooks: "dict[int, HookDict] | None" = None  # output_nr -> hooks
    _retained: "dict[int, weakref.ref] | None" = None  # output_nr -> tensor (retain_grad)
    _trace: "str | None" = None  # forward stack, recorded in anomaly mode
    _release_at_end = False  # True: may run twice in one backward (see CopySlices)

    def name(self) -> str:
        return type(self).__name__

    def apply(self, grads: list) -> tuple:
        raise NotImplementedError

    def release(self) -> None:
        """Free what was saved for backward (called after a backward without retain_graph)."""

    def __call__(self, *grads):
        return self.apply(list(grads))

    def __repr__(self) -> str:
        return f"<{self.name()} object at {hex(id(self))}>"

    def tensor_hooks(self, output_nr: int) -> HookDict:
        if self._tensor_hooks is None:
            self._tensor_hooks = {}
        return self._tensor_hooks.setdefault(output_nr, HookDict())


def move_retained(tensor, old_node: "Node | None", old_nr: int) -> None:
    """``retain_grad`` follows ``tensor`` from ``old_node`` to its new ``grad_fn`` (after an
    in-place write, or when a view's grad_fn is re-made), as torch's retains-grad hook
    does; ``register_hook`` hooks stay with the node they were registered on."""
    retained = old_node._retained if old_node is not None else None
    if not retained:
        return
    ref = retained.get(old_nr)
    if ref is None or ref() is not tensor:
        return
    del retained[old_nr]
    new = tensor._grad_fn
    if new is not None:
        if new._retained is None:
            new._retained = {}
        new._retained[tensor._output_nr] = ref


class AccumulateGrad(Node):
    """The sink for a leaf tensor: adds the incoming gradient into ``variable.grad``."""

    __slots__ = ("variable",)

    def __init__(self, variable) -> None:
        self.next_functions = ()
        self.variable = variable

    def apply(self, grads: list, shared: bool = False) -> tuple:
        from .accumulate import accumulate_into_leaf

        accumulate_into_leaf(self.variable, grads[0], shared)
        return ()


class SavedTensor:
    """A tensor saved for backward, with the version it had when saved.

    An op's own output is stored as data without its ``grad_fn`` (which would be the
    node holding it: a reference cycle) and rebuilt on unpacking with that node. A saved
    operand that had a history refuses to be used once ``detach_()`` cut it (torch's
    error), and any saved tensor written in place since refuses with torch's version
    error naming it.
    """

    __slots__ = ("tensor", "data", "cls", "version_counter", "version", "output_nr", "requires_grad")

    def __init__(self, tensor, is_output: bool) -> None:
        self.version_counter = tensor._version_counter
        self.version = tensor._version_counter[0]
        if is_output:
            self.tensor = None
            self.cls = type(tensor)  # rebuilt as the same class on unpacking
            self.data = tensor._data
            self.output_nr = tensor._output_nr
            self.requires_grad = tensor.requires_grad
        else:
            self.tensor = tensor
            self.data = None
            self.requires_grad = tensor._grad_fn is not None  # here: it had a history

    def unpack(self, node: Node):
        t = self.tensor
        if t is not None and self.requires_grad and t._grad_fn is None:
            raise RuntimeError(
                "Trying to use a saved tensor that has been detached in-place, i.e. with .detach_()."
                "This is not supported, please use out-of-place `.detach()` instead")
        if self.version_counter[0] != self.version:
            raise self._version_error(node)
        if t is not None:
            return t
        t = fresh(self.data, self.cls)  # (its fields set here: the keyword path of _make costs more)
        t._requires_grad = self.requires_grad
        if self.requires_grad:
            t._grad_fn = node
        t._output_nr = self.output_nr
        t._version_counter = self.version_counter
        t._fn_version = self.version_counter[0]
        return t

    def _version_error(self, node: Node) -> RuntimeError:
        t = self.tensor
        shape = list(t.shape if t is not None else self.data.shape)
        dtype = t.dtype if t is not None else from_numpy_dtype(self.data.dtype)
        what = f"[autodiff.{dtype._tensor_type} {shape}]"
        fn, nr = (node, self.output_nr) if t is None else (t.grad_fn, t._output_nr)
        if fn is not None:
            what += f", which is output {nr} of {short_name(fn)},"
        hint = ("the backtrace further above shows the operation that failed to compute its gradient. "
                "The variable in question was changed in there or anywhere later. Good luck!"
                if is_anomaly_enabled() else
                "enable anomaly detection to find the operation that failed to compute its gradient, "
                "with autodiff.autograd.set_detect_anomaly(True, check_nan=False).")
        return RuntimeError(
            "one of the variables needed for gradient computation has been modified by an inplace "
            f"operation: {what} is at version {self.version_counter[0]}; expected version "
            f"{self.version} instead. Hint: {hint}")


def short_name(node: Node) -> str:
    """A node's name as torch 2's error messages write it (``SplitBackward0`` -> ``Split``,
    ``PowBackward1`` -> ``Pow1``)."""
    name = node.name()
    head, sep, tail = name.rpartition("Backward")
    if not sep or not tail.isdigit() and tail:
        return name
    return head + ("" if tail == "0" else tail)


def freed_error() -> RuntimeError:
    return RuntimeError(_FREED)
