"""The Tensor methods that belong to autograd: ``backward``, ``register_hook`` and the
leaf's gradient accumulator.

They are installed on ``Tensor`` when ``autodiff.autograd`` is imported, so that
``tensor.py`` needs nothing from autograd and the two do not import each other.
"""

from __future__ import annotations

import weakref
from typing import Callable

from ..tensor import Tensor
from .functional_api import backward as _backward
from .graph import AccumulateGrad, HookDict, RemovableHandle


def _grad_accumulator(self: Tensor) -> AccumulateGrad:
    acc = self._grad_acc() if self._grad_acc is not None else None
    if acc is None:
        acc = AccumulateGrad(self)
        self._grad_acc = weakref.ref(acc)
    return acc


def register_hook(self: Tensor, hook: Callable) -> RemovableHandle:
    """Call ``hook(grad)`` when this tensor's gradient is computed; a returned tensor replaces it."""
    if not self.requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    if self.grad_fn is not None:
        return self.grad_fn.tensor_hooks(self._output_nr).add(hook)
    if self._hooks is None:
        self._hooks = HookDict()
    return self._hooks.add(hook)


def backward(self: Tensor, gradient: Tensor | None = None, retain_graph: bool | None = None,
             create_graph: bool = False, inputs=None) -> None:
    """Compute the gradient of this tensor with respect to the graph's leaves."""
    _backward(self, gradient, retain_graph, create_graph, inputs=inputs)


for _fn in (_grad_accumulator, register_hook, backward):
    setattr(Tensor, _fn.__name__, _fn)
