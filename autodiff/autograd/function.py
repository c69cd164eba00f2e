"""``autograd.Function``: user-defined ops with a hand-written backward.

``MyFn.apply(*args)`` runs ``MyFn.forward(ctx, *args)`` without recording, then, if any
tensor argument requires grad, links the outputs to a node of class ``MyFnBackward``
whose ``apply`` calls ``MyFn.backward(ctx, *grads)``. The node is the ``ctx``.
"""

from __future__ import annotations

from typing import Any

from .. import profiler as _profiler
from ..tensor import Tensor
from .anomaly import is_anomaly_enabled, record_trace
from .engine import gradient_edge
from .grad_mode import is_grad_enabled, no_grad
from .graph import Node, SavedTensor, freed_error


class FunctionCtx(Node):
    """The context passed to forward and backward; also the graph node of the call."""

    __slots__ = ("_to_save", "_saved", "needs_input_grad", "_non_differentiable", "_dirty",
                 "materialize_grads", "_shapes", "num_outputs")
    _fn: type  # the Function subclass; set on the per-Function node class

    def __init__(self) -> None:
        self.next_functions = ()
        self._to_save: tuple = ()
        self._saved = None
        self.needs_input_grad: tuple = ()
        self._non_differentiable: set = set()
        self._dirty: set = set()
        self.materialize_grads = True
        self.num_outputs = 1

    def save_for_backward(self, *tensors) -> None:
        self._to_save = tensors

    @property
    def saved_tensors(self) -> tuple:
        if self._saved is None:
            if self._to_save is None:
                raise freed_error()
            return tuple(self._to_save)
        return tuple(s.unpack(self) if isinstance(s, SavedTensor) else s for s in self._saved)

    def mark_non_differentiable(self, *tensors) -> None:
        self._non_differentiable.update(id(t) for t in tensors)

    def mark_dirty(self, *tensors) -> None:
        self._dirty.update(id(t) for t in tensors)

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = value

    def apply(self, grads: list) -> tuple:
        if self._saved is None and self._to_save is None:
            raise freed_error()
        if self.materialize_grads:
            from ..factories import zeros

            grads = [g if g is not None else zeros(shape, dtype=dt, device=dev) for g, (shape, dt, dev) in
                     zip(grads, self._out_meta)]
        result = self._fn.backward(self, *grads)
        if not isinstance(result, tuple):
            result = (result,)
        n = len(self.next_functions)
        if len(result) < n:
            raise RuntimeError(f"function {self.name()} returned an incorrect number of gradients "
                               f"(expected {n}, got {len(result)})")
        if any(r is not None for r in result[n:]):
            raise RuntimeError(f"function {self.name()} returned an incorrect number of gradients "
                               f"(expected {n}, got {len(result)})")
        out = []
        for i, (g, (node, _)) in enumerate(zip(result, self.next_functions)):
            if g is None or node is None:
                out.append(None)
                continue
            shape = self._shapes[i]
            if g.shape != shape:
                try:
                    g = g.sum_to_size(shape)
                except RuntimeError:
                    raise RuntimeError(
                        f"Function {self.name()} returned an invalid gradient at index {i} - got "
                        f"{list(g.shape)} but expected shape compatible with {list(shape)}") from None
            out.append(g)
        return tuple(out)

    def release(self) -> None:
        self._saved = None
        self._to_save = None


class Function:
    """Subclass with static ``forward(ctx, *args)`` and ``backward(ctx, *grads)``; call ``apply``."""

    _backward_cls: type
    profile_name: str | None = None  # the profiler's name for a forward call (else the class name)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._backward_cls = type(f"{cls.__name__}Backward", (FunctionCtx,), {"__slots__": (), "_fn": cls})

    @staticmethod
    def forward(ctx: FunctionCtx, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def backward(ctx: FunctionCtx, *grad_outputs: Any) -> Any:
        raise NotImplementedError("You must implement either the backward or vjp method for your "
                                  "custom autograd.Function to use it with backward mode AD.")

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        ctx = cls._backward_cls()
        tensors = [a for a in args if isinstance(a, Tensor)]
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        record = is_grad_enabled() and any(ctx.needs_input_grad)
        with no_grad():
            if _profiler.active:  # a profile runs: time this call
                outputs = _profiler.function_call(cls.profile_name or cls.__name__, cls.forward, ctx, args, kwargs)
            else:
                outputs = cls.forward(ctx, *args, **kwargs)
        single = not isinstance(outputs, tuple)
        outs = (outputs,) if single else outputs
        if not record:
            return outputs
        ctx.next_functions = tuple(gradient_edge(a) if isinstance(a, Tensor) and a.requires_grad
                                   else (None, 0) for a in args)
        ctx._shapes = [a.shape if isinstance(a, Tensor) else None for a in args]
        ctx.num_outputs = len(outs)
        ctx._out_meta = [(o.shape, o.dtype, o.device) if isinstance(o, Tensor) else ((), None, None) for o in outs]
        input_ids = {id(t) for t in tensors}
        wrapped = []
        for nr, o in enumerate(outs):
            if not isinstance(o, Tensor):
                wrapped.append(o)
                continue
            if id(o) in input_ids and id(o) not in ctx._dirty:
                o = o.detach()  # an input returned as is: a new tensor, as in PyTorch (view_as)
            if id(o) in ctx._non_differentiable or not o.dtype.is_floating_point:
                wrapped.append(o)
                continue
            o.grad_fn, o._output_nr, o._requires_grad = ctx, nr, False
            wrapped.append(o)
        out_ids = {id(o): nr for nr, o in enumerate(wrapped) if isinstance(o, Tensor)}
        ctx._saved = [SavedTensor(t, is_output=id(t) in out_ids) if isinstance(t, Tensor) else t
                      for t in ctx._to_save]
        ctx._to_save = ()
        if is_anomaly_enabled():
            record_trace(ctx)
        return wrapped[0] if single else tuple(wrapped)
