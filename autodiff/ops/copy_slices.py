"""Views and in-place writes: PyTorch's CopySlices, view regeneration and creation meta.

Every view shares its base's version counter and remembers the chain of view ops that
re-make it from the base (``_view_chain``). Three mechanisms, as torch's:

* **CopySlices.** When an in-place op writes into a view ``v`` of a base ``b``
  (``y[0].mul_(2)``, ``y[1:] = w``), ``Op.apply_`` records the op as usual (its node
  ``fn`` maps the gradient of the view's new value to the gradients of its old value and
  of the other operands), then ``rebase_view_write`` gives ``b`` a ``CopySlices`` node:
  of the base's gradient, the view's region goes through ``fn`` and lands on the base's
  previous history; the rest passes straight through.
* **Lazy regeneration.** A view's ``grad_fn`` was made at some version of the shared
  counter (``_fn_version``). Any write to the base or to any view of it (recorded or
  under no_grad) moves the counter, and the next read of ``grad_fn`` re-makes it by
  replaying the view chain on the base's current history (``regenerate``), so the view
  sees every write. ``retain_grad`` moves along to the new node.
* **Creation meta.** A view made in no-grad mode (``"no_grad"``) or returned by a
  function returning several views (``"multi_output"``, as ``split``) may not be
  re-made that way: writing it in place with grad mode on, or reading its history after
  its base was written, raises torch's RuntimeError. Views of such views inherit it.
"""

from __future__ import annotations

from ..autograd.engine import gradient_edge
from ..autograd.grad_mode import enable_grad, is_grad_enabled
from ..autograd.grad_mode import state as grad_state
from ..autograd.graph import Node, move_retained, short_name
from ..tensor import Tensor

DEFAULT, NO_GRAD, MULTI_OUTPUT = "default", "no_grad", "multi_output"


def replay_view(tensor, chain: tuple):
    """Apply a view chain (``(op, params)`` steps) to ``tensor``: the same window of it."""
    for op, params in chain:
        tensor = op(tensor, **params)
    return tensor


def view_creation_meta(src: Tensor, multi_output: bool = False) -> str:
    """The creation meta of a new view of ``src``: no_grad in no-grad mode, multi_output for
    one of several views returned together; otherwise (a view of a view) what ``src`` had."""
    if not grad_state.enabled:
        return NO_GRAD
    return MULTI_OUTPUT if multi_output else src._creation_meta


def mark_multi_output(views) -> tuple:
    """Give the views returned together by one function (split, unbind, chunk) their meta."""
    views = tuple(views)
    meta = MULTI_OUTPUT if is_grad_enabled() else NO_GRAD
    for v in views:
        if v._base is not None:
            v._creation_meta = meta
    return views


class CopySlices(Node):
    """The base's node after an in-place write into one of its views.

    ``fn`` is run from here, and may also be reached directly (a saved result of an
    in-place op is rebuilt with ``fn`` as its history, which a double backward walks):
    both are released only when the whole backward pass is over."""

    __slots__ = ("fn", "chain")
    _release_at_end = True

    def __init__(self, fn: Node, chain: tuple, base_edge: tuple) -> None:
        super().__init__()
        self.fn = fn
        fn._release_at_end = True
        self.chain = chain
        self.next_functions = (base_edge,) + tuple(fn.next_functions[1:])

    def apply(self, grads: list) -> tuple:
        result = grads[0].clone()
        region = replay_view(result, self.chain)
        res = self.fn.apply([region.clone()])
        if res[0] is None:
            region.zero_()
        else:
            region.copy_(res[0])
        return (result,) + tuple(res[1:])

    def release(self) -> None:
        self.fn.release()


def creation_meta_error(view: Tensor, indirect: bool) -> RuntimeError:
    """torch's refusal to rebase the history of a no_grad or multi-output view."""
    meta, fn = view._creation_meta, view._grad_fn
    what = "its base or another view of its base has been" if indirect else "is being"
    if meta == NO_GRAD or fn is None:
        prefix = (f"Output {view._output_nr} of {short_name(fn)} is a view of a view which was created in"
                  if fn is not None else "A view was created in")
        msg = f"{prefix} no_grad mode and {what} modified inplace with grad mode enabled."
    else:
        msg = f"Output {view._output_nr} of {short_name(fn)} is a view and {what} modified inplace."
    if meta == MULTI_OUTPUT:
        msg += (" This view is the output of a function that returns multiple views. Such functions do "
                "not allow the output views to be modified inplace. You should replace the inplace "
                "operation by an out-of-place one.")
    else:
        msg += (" Given that this use case is ambiguous and error-prone, it is forbidden. You can clarify "
                "your code by moving both the view and the inplace either both inside the no_grad block "
                "(if you don't want the inplace to be tracked) or both outside (if you want the inplace "
                "to be tracked).")
    return RuntimeError(msg)


def check_view_write(target: Tensor) -> None:
    """Before a recorded in-place write into ``target``: a view that may not be rebased refuses."""
    if target._base is not None and target._creation_meta != DEFAULT:
        raise creation_meta_error(target, indirect=False)


def regenerate(view: Tensor):
    """``view.grad_fn`` after a write to its base or another view of it: re-made by replaying
    the view chain on the base's current history (torch's lazy grad_fn update)."""
    base = view._base
    old, old_nr = view._grad_fn, view._output_nr
    if old is None and not base.requires_grad:
        return None
    if view._creation_meta != DEFAULT:
        raise creation_meta_error(view, indirect=True)
    if old is not None and not base.requires_grad:
        # the base left the graph (detach_): torch's re-made node leads nowhere, so replay on
        # a stand-in leaf of the same storage that nothing reads the gradient of
        base = Tensor._make(base._data, version_counter=base._version_counter)
        base._requires_grad = True
    with enable_grad():
        remade = replay_view(base, view._view_chain)
    view._grad_fn, view._output_nr = remade._grad_fn, remade._output_nr
    view._fn_version = view._version_counter[0]
    move_retained(view, old, old_nr)
    return view._grad_fn


Tensor._regenerated_grad_fn = regenerate


def rebase_view_write(view: Tensor) -> None:
    """After ``view`` was written in place (and its op recorded as ``view.grad_fn``), route
    the write through its base's history and re-make the view's ``grad_fn`` from the base."""
    base = view._base
    old, old_nr = base._grad_fn, base._output_nr
    base.grad_fn = CopySlices(view._grad_fn, view._view_chain, gradient_edge(base))
    base._output_nr = 0
    base._requires_grad = False
    move_retained(base, old, old_nr)
    regenerate(view)
