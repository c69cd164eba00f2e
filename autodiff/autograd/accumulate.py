"""Adding a gradient into a leaf's ``.grad`` (what AccumulateGrad does)."""

from __future__ import annotations

from .. import backends

from ..tensor import Tensor
from .grad_mode import is_grad_enabled, no_grad


def accumulate_into_grad(variable, g, shared: bool = False) -> None:
    """``variable.grad += g``.

    The first gradient is kept as ``.grad`` without a copy when nothing else can see its
    storage (it is not a view, not a broadcast, and not ``shared`` with another
    destination); otherwise it is cloned, so in-place updates of ``.grad`` never write
    into another tensor. Under ``create_graph`` (grad mode on) the sum is recorded.
    """
    if variable._grad is None:
        private = not shared and g._base is None and g._data.flags.c_contiguous and g._data.flags.writeable
        if is_grad_enabled():  # create_graph: .grad keeps its graph
            from ..memory_format import contiguous_format  # (a contiguous .grad, as torch's)

            variable._grad = g if private else g.clone(memory_format=contiguous_format)
        else:
            variable._grad = Tensor._make(g._data if private else backends.copy(g._data))
    elif is_grad_enabled() or variable._grad.requires_grad:
        variable._grad = variable._grad + g
    else:
        with no_grad():
            variable._grad.add_(g)


def accumulate_into_leaf(variable, g, shared: bool = False) -> None:
    """What a leaf's AccumulateGrad does: nothing once the leaf was ``detach_()``-ed (it needs
    no grad now); torch's error once it has a history of its own."""
    if variable._grad_fn is not None:
        raise RuntimeError("leaf variable has been moved into the graph interior")
    if variable._requires_grad:
        accumulate_into_grad(variable, g, shared)
