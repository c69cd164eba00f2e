"""``autograd.backward`` and ``autograd.grad``: argument checks, then the engine."""

from __future__ import annotations


import numpy as np

from ..backends import backend_of
from ..tensor import Tensor
from .accumulate import accumulate_into_grad
from .engine import run_backward
from .grad_mode import set_grad_enabled


def _as_list(x) -> list:
    if x is None:
        return []
    return [x] if isinstance(x, Tensor) else list(x)


def _make_grads(outputs: list, grad_outputs: list) -> list:
    """Check (or create, for scalars) the gradient seeding each output."""
    if grad_outputs and len(grad_outputs) != len(outputs):
        raise RuntimeError(f"grad requires one grad_output per output: got {len(grad_outputs)} "
                           f"grad_outputs for {len(outputs)} outputs")
    grads = []
    for i, out in enumerate(outputs):
        g = grad_outputs[i] if grad_outputs else None
        if g is None:
            if out.numel() != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if not out.dtype.is_floating_point:
                raise RuntimeError(
                    f"grad can be implicitly created only for real scalar outputs but got {out.dtype}")
            data = out._data
            if isinstance(data, np.ndarray):
                seed = np.ones(data.shape, data.dtype)
            else:  # a device's ones; on meta an array with no values (nothing computes there)
                be = backend_of(data)
                seed = be.full(data.shape, 1, data.dtype) if be.computes else be.empty(data.shape, data.dtype)
            g = Tensor._make(seed)
        elif not isinstance(g, Tensor):
            raise TypeError(f"gradients can be either Tensors or None, but got {type(g).__name__}")
        elif g.shape != out.shape:
            raise RuntimeError(
                f"Mismatch in shape: grad_output[{i}] has a shape of {list(g.shape)} and output[{i}] "
                f"has a shape of {list(out.shape)}.")
        grads.append(g)
    return grads


def _check_requires_grad(outputs: list) -> None:
    for i, out in enumerate(outputs):
        if not out.requires_grad:
            raise RuntimeError(
                f"element {i} of tensors does not require grad and does not have a grad_fn")


def backward(tensors, grad_tensors=None, retain_graph: bool | None = None,
             create_graph: bool = False, inputs=None) -> None:
    """Accumulate into the leaves' ``.grad`` the gradients of ``tensors`` (seeded by ``grad_tensors``)."""
    outputs = _as_list(tensors)
    _check_requires_grad(outputs)
    grads = _make_grads(outputs, _as_list(grad_tensors) if not isinstance(grad_tensors, Tensor)
                        else [grad_tensors])
    if retain_graph is None:
        retain_graph = create_graph
    if inputs is not None:
        inputs = list({id(t): t for t in _as_list(inputs)}.values()) or None  # each input once, as torch
    for t in inputs or ():
        if not t.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
    if inputs is None:
        run_backward(outputs, grads, retain_graph, create_graph)
        return
    for t in inputs:  # a non-leaf input keeps its gradient from now on, as after retain_grad()
        if t.grad_fn is not None:
            t.retain_grad()
    captured = run_backward(outputs, grads, retain_graph, create_graph, inputs=inputs,
                            allow_unused=True)
    for t, g in zip(inputs, captured):
        if g is not None and t.grad_fn is None:
            with set_grad_enabled(create_graph):
                accumulate_into_grad(t, g, shared=True)


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool | None = None,
         create_graph: bool = False, only_inputs: bool = True, allow_unused: bool | None = None,
         is_grads_batched: bool = False, materialize_grads: bool = False) -> tuple:
    """The gradients of ``outputs`` with respect to ``inputs``, returned (not accumulated)."""
    outs = _as_list(outputs)
    ins = _as_list(inputs)
    _check_requires_grad(outs)
    for t in ins:
        if not t.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    grads = _make_grads(outs, _as_list(grad_outputs) if not isinstance(grad_outputs, Tensor)
                        else [grad_outputs])
    if retain_graph is None:
        retain_graph = create_graph
    if allow_unused is None:
        allow_unused = materialize_grads
    result = run_backward(outs, grads, retain_graph, create_graph, inputs=ins,
                          allow_unused=allow_unused)
    if materialize_grads:
        from ..factories import zeros_like

        result = [zeros_like(t) if g is None else g for t, g in zip(ins, result)]
    if not create_graph:
        result = [g.detach() if g is not None else None for g in result]
    return tuple(result)
