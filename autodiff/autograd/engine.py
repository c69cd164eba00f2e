"""The backward engine: walks the graph from the outputs to the leaves.

One iterative pass, no recursion (a 10,000-op chain is fine):

1. discover every node reachable from the roots and count, for each, the edges that
   lead into it (its dependencies);
2. run nodes whose dependencies are all done, summing the gradients that arrive at
   each node's outputs first; a node runs once per backward, however many paths reach it;
3. after a node runs without ``retain_graph`` its saved tensors are freed (those of a
   node that may run twice in one pass, the op inside a ``CopySlices``, at the end).

``autograd.grad`` uses the same walk with *capture*: the gradients arriving at the
requested inputs are returned instead of accumulated into ``.grad``, and only nodes on
a path to an input run.
"""

from __future__ import annotations

from weakref import ref

from .. import profiler as _profiler
from .accumulate import accumulate_into_leaf
from .anomaly import check_outputs, is_anomaly_enabled, with_forward_trace
from .grad_mode import state as grad_mode
from .graph import AccumulateGrad, Node


def gradient_edge(t) -> tuple:
    """The edge a gradient for tensor ``t`` flows into: its grad_fn, or its leaf accumulator."""
    fn = t._grad_fn if t._base is None else t.grad_fn  # a view's grad_fn may need re-making
    if fn is not None:
        return fn, t._output_nr
    if t._requires_grad:  # a leaf (a view made under no_grad may need grad yet have no edge)
        return t._grad_accumulator(), 0
    return None, 0


def _discover(roots: list[Node]) -> dict[Node, int]:
    deps: dict[Node, int] = {n: 0 for n in roots}
    stack = list(deps)
    while stack:
        for nxt, _ in stack.pop().next_functions:
            if nxt is None:
                continue
            if nxt in deps:
                deps[nxt] += 1
            else:
                deps[nxt] = 1
                stack.append(nxt)
    return deps


def _needed(deps: dict[Node, int], roots: list[Node], targets: set) -> set:
    """Nodes from which a capture target can be reached below them (the only ones worth running)."""
    remaining = dict(deps)
    order, ready = [], [n for n in roots if remaining[n] == 0]
    while ready:
        node = ready.pop()
        order.append(node)
        for nxt, _ in node.next_functions:
            if nxt is not None:
                remaining[nxt] -= 1
                if remaining[nxt] == 0:
                    ready.append(nxt)
    # a capture target runs only where it leads to another target, as in torch (its gradient
    # is taken as it arrives; its own backward, which may read saved tensors, is not needed)
    needed: set = set()
    for node in reversed(order):
        if any(nxt in needed or nxt in targets for nxt, _ in node.next_functions):
            needed.add(node)
    return needed


def _checked_hook_result(hook, grad, result):
    """A hook's replacement gradient must keep the gradient's shape and dtype (torch's errors)."""
    name = getattr(hook, "__name__", type(hook).__name__)
    if not hasattr(result, "_data"):
        raise TypeError(f"hook '{name}' returned an object of type {type(result).__name__}; "
                        "expected a Tensor or None")
    if result.shape != grad.shape:
        raise RuntimeError(f"hook '{name}' has changed the size of value (was {list(grad.shape)}, "
                           f"got {list(result.shape)})")
    if result.dtype is not grad.dtype:
        raise RuntimeError(f"hook '{name}' has changed the type of value (was {grad.dtype}, "
                           f"got {result.dtype})")
    return result


def _run_tensor_hooks(node: Node, grads: list) -> None:
    """Hooks registered with ``Tensor.register_hook`` (and retain_grad) on this node's outputs."""
    if isinstance(node, AccumulateGrad):
        hooks = node.variable._hooks
        if hooks and grads[0] is not None:
            for hook in list(hooks.values()):
                result = hook(grads[0])
                if result is not None:
                    grads[0] = _checked_hook_result(hook, grads[0], result)
        return
    if node._tensor_hooks:
        for nr, hooks in node._tensor_hooks.items():
            for hook in list(hooks.values()):
                result = hook(grads[nr])  # None for an output no gradient reached, as torch
                if result is not None and grads[nr] is not None:
                    grads[nr] = _checked_hook_result(hook, grads[nr], result)
    if node._retained:
        for nr, ref in node._retained.items():
            tensor = ref()
            if tensor is not None and grads[nr] is not None:
                g = grads[nr] if grads[nr].requires_grad else grads[nr].detach()
                tensor.grad = g.clone() if tensor.grad is None else tensor.grad + g


def run_backward(roots, grad_roots, retain_graph: bool, create_graph: bool,
                 inputs=None, allow_unused: bool = False) -> list | None:
    """Backpropagate ``grad_roots`` from ``roots``.

    With ``inputs`` None, gradients accumulate into the leaves' ``.grad``. Otherwise the
    gradients reaching ``inputs`` are returned in order (None where unreachable).
    """
    buffers: dict[Node, list] = {}
    # id(gradient) -> (a weak reference to it, how many edges it was delivered to); a leaf
    # keeps a gradient delivered to it alone as its .grad, else copies it. The reference
    # tells an entry of a freed gradient from one of a later tensor at the same address.
    delivered: dict[int, tuple] = {}
    for t, g in zip(roots, grad_roots):
        node, nr = gradient_edge(t)
        _deliver(buffers, node, nr, g)
        delivered[id(g)] = (ref(g), 2)  # the caller may hold it: a leaf must copy, not keep, it
    root_nodes = list(buffers)
    deps = _discover(root_nodes)

    targets = needed = reached = None
    if inputs is not None:
        targets = {}
        for i, t in enumerate(inputs):
            node, nr = gradient_edge(t)
            if node is not None:
                targets.setdefault(node, []).append((nr, i))
        needed = _needed(deps, root_nodes, set(targets))
        reached = needed | set(targets)  # nodes a gradient is delivered to
    captured = [None] * (len(inputs) if inputs is not None else 0)

    anomaly = is_anomaly_enabled()
    release_at_end: list[Node] = []
    ready = [n for n in root_nodes if deps[n] == 0]
    previous_mode = grad_mode.enabled  # (set and restored here, not by a context object: per backward pass)
    grad_mode.enabled = bool(create_graph)
    try:
        with _profiler.backward_pass():
            while ready:
                node = ready.pop()
                grads = buffers.pop(node, None)
                outputs = None
                if grads is not None:
                    leaf = type(node) is AccumulateGrad
                    if (node.variable._hooks if leaf else
                            node._tensor_hooks is not None or node._retained is not None):
                        _run_tensor_hooks(node, grads)
                    if targets is not None and node in targets:
                        for nr, i in targets[node]:
                            captured[i] = grads[nr]
                    if leaf:
                        if targets is None:
                            g = grads[0]
                            seen = delivered.get(id(g))
                            accumulate_into_leaf(node.variable, g, seen is not None and seen[1] > 1 and seen[0]() is g)
                    elif needed is None or node in needed:
                        if _profiler.active:  # a profile runs: time this node
                            outputs = _profiler.node_call(node, grads, _apply_checked if anomaly else type(node).apply)
                        else:
                            outputs = _apply_checked(node, grads) if anomaly else node.apply(grads)
                        if not retain_graph:
                            if node._release_at_end:
                                release_at_end.append(node)
                            else:
                                node.release()
                if outputs is None:
                    outputs = _NONE
                for (nxt, nr), g in zip(node.next_functions, outputs):
                    if nxt is None:
                        continue
                    if g is not None and (reached is None or nxt in reached):
                        gid = id(g)
                        seen = delivered.get(gid)
                        delivered[gid] = (seen[0], seen[1] + 1) if seen is not None and seen[0]() is g else (ref(g), 1)
                        _deliver(buffers, nxt, nr, g)
                    left = deps[nxt] - 1
                    deps[nxt] = left
                    if not left:
                        ready.append(nxt)
    finally:
        grad_mode.enabled = previous_mode

    for node in release_at_end:
        node.release()

    if inputs is None:
        return None
    if not allow_unused:
        for i, g in enumerate(captured):
            if g is None:
                raise RuntimeError(
                    "One of the differentiated Tensors appears to not have been used in the "
                    "graph. Set allow_unused=True if this is the desired behavior."
                )
    return captured


class _NoGradients:
    """Stands for a node's outputs when it did not run: None for every edge."""

    def __iter__(self):
        while True:
            yield None


_NONE = _NoGradients()


def _deliver(buffers: dict, node: Node, nr: int, g) -> None:
    """Add gradient ``g`` into the buffer of ``node``'s output ``nr`` (out of place)."""
    buf = buffers.get(node)
    if buf is None:
        buf = buffers[node] = [None] * node.num_outputs
    buf[nr] = g if buf[nr] is None else buf[nr] + g


def _apply_checked(node: Node, grads: list) -> tuple:
    """``node.apply`` in anomaly mode: errors and NaN results name the forward op."""
    try:
        outputs = node.apply(grads)
    except Exception as e:
        raise with_forward_trace(e, node) from e
    check_outputs(node, outputs)
    return outputs
