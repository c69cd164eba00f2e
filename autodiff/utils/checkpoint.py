"""Activation checkpointing, as ``torch.utils.checkpoint``: trade compute for memory.

``checkpoint(fn, *args)`` returns ``fn(*args)`` but keeps none of ``fn``'s intermediate
tensors for backward: only its inputs. When backward reaches the checkpoint, ``fn`` runs
again with grad enabled (the random state restored first, so dropout draws the same
masks) and the gradient is propagated through that fresh graph.

Two variants, as in torch:

* ``use_reentrant=True`` (torch's default): an ``autograd.Function`` whose forward runs
  ``fn`` under ``no_grad`` and whose backward runs a nested backward through the
  recomputation. Like torch's, it needs an input that requires grad (else nothing is
  recorded and parameters get no gradient), accumulates parameter gradients directly
  into ``.grad`` (so ``autograd.grad`` w.r.t. parameters inside is not supported), and
  takes no keyword arguments.
* ``use_reentrant=False``: ``fn`` runs once with grad enabled so that the leaves it
  reads (parameters captured by closure included) become edges of one checkpoint node;
  that forward graph is dropped as soon as ``fn`` returns. It supports keyword
  arguments, inputs that need no grad and ``autograd.grad``. Tensors ``fn`` reads other
  than its arguments must be leaves (parameters, buffers): pass computed tensors as
  arguments.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Sequence

from ..autograd.engine import gradient_edge
from ..autograd.function import Function
from ..autograd.functional_api import backward as _backward
from ..autograd.functional_api import grad as _grad
from ..autograd.grad_mode import enable_grad, is_grad_enabled
from ..autograd.graph import AccumulateGrad, Node, SavedTensor, freed_error
from ..factories import zeros_like
from ..random import get_rng_state, set_rng_state
from ..tensor import Tensor


def checkpoint(function: Callable, *args: Any, use_reentrant: bool | None = None,
               preserve_rng_state: bool = True, **kwargs: Any) -> Any:
    """``function(*args, **kwargs)``, recomputed in backward instead of storing its activations."""
    if use_reentrant is None:
        warnings.warn("autodiff.utils.checkpoint: the use_reentrant parameter should be passed "
                      "explicitly. use_reentrant=False is recommended; use_reentrant=True keeps the "
                      "current default behavior.", stacklevel=2)
        use_reentrant = True
    if use_reentrant:
        if kwargs:
            raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
        if is_grad_enabled() and not any(isinstance(a, Tensor) and a.requires_grad for a in args):
            warnings.warn("None of the inputs have requires_grad=True. Gradients will be None",
                          stacklevel=2)
        return _ReentrantCheckpoint.apply(function, preserve_rng_state, *args)
    return _checkpoint_without_reentrant(function, preserve_rng_state, args, kwargs)


def checkpoint_sequential(functions: Any, segments: int, input: Tensor, use_reentrant: bool | None = None,
                          **kwargs: Any) -> Tensor:
    """Run ``functions`` (a Sequential or a list of callables) in ``segments`` checkpointed
    chunks; the last chunk runs normally, as in torch."""
    if use_reentrant is None:
        warnings.warn("autodiff.utils.checkpoint.checkpoint_sequential: the use_reentrant parameter "
                      "should be passed explicitly. use_reentrant=False is recommended.", stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    functions = list(functions.children()) if hasattr(functions, "children") else list(functions)
    size = len(functions) // segments
    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(_run_segment(functions[start:end + 1]), input, use_reentrant=use_reentrant,
                           preserve_rng_state=preserve)
    return _run_segment(functions[end + 1:])(input)


def _run_segment(functions: Sequence[Callable]) -> Callable[[Any], Any]:
    def forward(input: Any) -> Any:
        for fn in functions:
            input = fn(input)
        return input
    return forward


@contextmanager
def _replayed_rng(state: dict | None) -> Iterator[None]:
    """Run the block with the random state of the forward pass, then restore the current one."""
    if state is None:
        yield
        return
    current = get_rng_state()
    set_rng_state(state)
    try:
        yield
    finally:
        set_rng_state(current)


def _as_tuple(outputs: Any) -> tuple:
    return outputs if isinstance(outputs, tuple) else (outputs,)


def _detached_inputs(args: Sequence[Any]) -> list:
    """Arguments for the recomputation: tensors detached, keeping whether they require grad."""
    return [a.detach().requires_grad_(a.requires_grad) if isinstance(a, Tensor) else a for a in args]


class _ReentrantCheckpoint(Function):
    profile_name = "CheckpointFunction"  # torch's name for it

    @staticmethod
    def forward(ctx, run_function: Callable, preserve_rng_state: bool, *args: Any) -> Any:
        ctx.run_function = run_function
        ctx.rng_state = get_rng_state() if preserve_rng_state else None
        ctx.tensor_slots = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        ctx.args = [None if isinstance(a, Tensor) else a for a in args]
        ctx.save_for_backward(*(args[i] for i in ctx.tensor_slots))
        return run_function(*args)

    @staticmethod
    def backward(ctx, *grads: Tensor) -> tuple:
        args = list(ctx.args)
        for i, t in zip(ctx.tensor_slots, ctx.saved_tensors):
            args[i] = t
        inputs = _detached_inputs(args)
        with _replayed_rng(ctx.rng_state), enable_grad():
            outputs = _as_tuple(ctx.run_function(*inputs))
        pairs = [(o, g) for o, g in zip(outputs, grads) if isinstance(o, Tensor) and o.requires_grad]
        if not pairs:
            raise RuntimeError("none of output has requires_grad=True, this checkpoint() is not necessary")
        _backward([o for o, _ in pairs], [g for _, g in pairs])
        return (None, None) + tuple(x.grad if isinstance(x, Tensor) else None for x in inputs)


class CheckpointBackward(Node):
    """The node of a non-reentrant checkpoint: recomputes the function, then backpropagates
    into the tensor arguments and the leaves the function read."""

    def __init__(self, function: Callable, args: list, kwargs: dict, rng_state: dict | None,
                 leaves: list[Tensor], out_meta: list) -> None:
        super().__init__()
        self.function = function
        self.rng_state = rng_state
        self.kwargs = kwargs
        self.slots = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        self.args = [None if isinstance(a, Tensor) else a for a in args]
        self.saved = [SavedTensor(args[i], is_output=False) for i in self.slots]
        self.leaves = leaves
        self.out_meta = out_meta
        self.num_outputs = len(out_meta)
        self.next_functions = tuple(gradient_edge(args[i]) for i in self.slots) + tuple(
            (leaf._grad_accumulator(), 0) for leaf in leaves)

    def apply(self, grads: list) -> tuple:
        if self.saved is None:
            raise freed_error()
        args = list(self.args)
        for i, saved in zip(self.slots, self.saved):
            args[i] = saved.unpack(self)
        inputs = _detached_inputs(args)
        with _replayed_rng(self.rng_state), enable_grad():
            outputs = _as_tuple(self.function(*inputs, **self.kwargs))
        outs, seeds = [], []
        for o, g, meta in zip(outputs, grads, self.out_meta):
            if meta is not None and o.requires_grad:
                outs.append(o)
                seeds.append(g if g is not None else zeros_like(o))
        targets = [inputs[i] for i in self.slots] + self.leaves
        wanted = [t.requires_grad for t in targets]
        result = list(_grad(outs, [t for t, w in zip(targets, wanted) if w], seeds, allow_unused=True)) \
            if any(wanted) else []
        return tuple(result.pop(0) if w else None for w in wanted)

    def release(self) -> None:
        self.saved = None


def _checkpoint_without_reentrant(function: Callable, preserve_rng_state: bool, args: tuple,
                                  kwargs: dict) -> Any:
    rng_state = get_rng_state() if preserve_rng_state else None
    if not is_grad_enabled():
        return function(*args, **kwargs)
    inputs = _detached_inputs(args)
    outputs = function(*inputs, **kwargs)
    single = not isinstance(outputs, tuple)
    outs = _as_tuple(outputs)
    stops = {gradient_edge(x)[0] for x in inputs if isinstance(x, Tensor) and x.requires_grad}
    leaves = _leaves_read(outs, stops)
    differentiable = [isinstance(o, Tensor) and o.requires_grad for o in outs]
    if not any(differentiable):
        return outputs
    node = CheckpointBackward(function, list(args), kwargs, rng_state, leaves,
                              [o.shape if d else None for o, d in zip(outs, differentiable)])
    wrapped = []
    for nr, (o, d) in enumerate(zip(outs, differentiable)):
        if d:
            o = o.detach()
            o.grad_fn, o._output_nr = node, nr
        wrapped.append(o)
    return wrapped[0] if single else tuple(wrapped)


def _leaves_read(outputs: Sequence[Any], stops: set) -> list[Tensor]:
    """The leaf tensors (other than the function's own inputs) whose accumulators the graph of
    ``outputs`` reaches, in first-found order."""
    seen: set = set(stops)
    stack = [o.grad_fn for o in outputs if isinstance(o, Tensor) and o.grad_fn is not None]
    leaves: list[Tensor] = []
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        if type(node) is AccumulateGrad:
            leaves.append(node.variable)
            continue
        stack.extend(nxt for nxt, _ in reversed(node.next_functions))
    return leaves
