"""In-place writes through views: PyTorch's CopySlices.

When an in-place op writes into a view ``v`` of a base ``b`` (``y[0].mul_(2)``,
``y[1:] = w``, ``y.view(-1).add_(1)``), ``b`` has changed too, so ``b``'s history must
say how. ``Op.apply_`` first records the op as usual (its node ``fn`` maps the gradient
of the view's new value to the gradients of the view's old value and the other
operands), then calls ``rebase_view_write``, which

* gives ``b`` a ``CopySlices`` node: of the base's gradient, the view's region goes
  through ``fn`` and lands on the base's previous history; the rest passes straight
  through; ``fn``'s gradients for the other operands go to them;
* re-makes the ``grad_fn`` of the view, and of every other live view of ``b`` that is
  in a graph (``b._views``), from the base's new one, by replaying each view's chain of
  view ops (``_view_chain``) on the base: they all see the written values.

One mechanism serves every in-place op on any view, since it only uses ``fn`` and the
view chain.
"""

from __future__ import annotations

from ..autograd.engine import gradient_edge
from ..autograd.graph import Node


def replay_view(tensor, chain: tuple):
    """Apply a view chain (``(op, params)`` steps) to ``tensor``: the same window of it."""
    for op, params in chain:
        tensor = op(tensor, **params)
    return tensor


class CopySlices(Node):
    """The base's node after an in-place write into one of its views."""

    __slots__ = ("fn", "chain")

    def __init__(self, fn: Node, chain: tuple, base_edge: tuple) -> None:
        super().__init__()
        self.fn = fn
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


def rebase_view_write(view) -> None:
    """After ``view`` was written in place (and its op recorded as ``view.grad_fn``), route
    the write through its base's history and re-make the view's ``grad_fn`` from the base."""
    base = view._base
    base_edge = gradient_edge(base)
    base.grad_fn = CopySlices(view.grad_fn, view._view_chain, base_edge)
    base._output_nr = 0
    base._requires_grad = False
    for v in [view, *(base._views or ())]:
        remade = replay_view(base, v._view_chain)
        v.grad_fn, v._output_nr = remade.grad_fn, remade._output_nr
