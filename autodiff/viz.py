"""Pictures of the backward graph: :func:`make_dot` (Graphviz) and :func:`graph_text` (plain text).

    dot = autodiff.viz.make_dot(loss, params=dict(model.named_parameters()))
    dot            # in Jupyter: drawn inline as SVG
    print(autodiff.viz.graph_text(loss))

The graph is the one ``backward`` walks: a node per ``grad_fn`` (named like
``MulBackward0``), a box per leaf (its name from ``params`` and its shape), edges in the
direction the forward computation went (from an input's node to the node that used it).
With ``show_saved=True`` the tensors each node saved for backward are drawn too (until
backward frees them).

``make_dot`` needs the ``graphviz`` Python package (``pip install 'autodiff[notebook]'``);
drawing needs Graphviz's ``dot`` program, which comes from the system, not from pip:
``apt-get install graphviz`` (Debian, Ubuntu), ``conda install graphviz`` or
``brew install graphviz``. Without ``dot`` the Digraph is still returned, its ``source``
is the DOT text, and displaying it in a notebook shows that text with this advice
instead of an error. ``graph_text`` needs nothing beyond autodiff.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Mapping

from .autograd.engine import gradient_edge
from .autograd.graph import AccumulateGrad, Node, SavedTensor
from .tensor import Tensor

INSTALL_HINT = ("Graphviz's 'dot' program was not found on PATH, so the graph cannot be drawn; "
                "install it with `apt-get install graphviz` (Debian/Ubuntu), `conda install graphviz` "
                "or `brew install graphviz` and display it again. Its DOT source:")

_STYLE = {
    "node": {"style": "filled", "shape": "box", "fontsize": "10", "height": "0.2", "fontname": "monospace"},
    "graph": {"size": "12,12", "ranksep": "0.2"},
    "output": "darkolivegreen1",
    "leaf": "lightblue",
    "saved": "orange",
    "op": "lightgrey",
}


def dot_available() -> bool:
    """Whether Graphviz's ``dot`` program is on PATH (needed to draw, not to build, a graph)."""
    return shutil.which("dot") is not None


def _shape(shape) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def _roots(output) -> list[Tensor]:
    outs = [output] if isinstance(output, Tensor) else list(output)
    for t in outs:
        if not isinstance(t, Tensor):
            raise TypeError(f"make_dot/graph_text take a Tensor or a sequence of Tensors, got {type(t).__name__}")
    return outs


def _leaf_label(node: AccumulateGrad, names: dict[int, str], sep: str) -> str:
    var = node.variable
    name = names.get(id(var), "")
    return (name + sep if name else "") + _shape(var.shape)


def _saved(node: Node) -> list[tuple[str, object]]:
    """What ``node`` saved for backward: (name, a shape tuple for tensors, else the value)."""
    saved = getattr(node, "_saved", None)
    if not saved:
        return []
    items = saved.items() if isinstance(saved, dict) else ((f"saved_tensors[{i}]", v) for i, v in enumerate(saved))
    out = []
    for name, value in items:
        if isinstance(value, SavedTensor):
            out.append((name, tuple((value.tensor._data if value.tensor is not None else value.data).shape)))
        elif isinstance(value, Tensor):
            out.append((name, tuple(value.shape)))
        elif value is not None:
            out.append((name, value))
    return out


def _walk(roots: Iterable[Node]) -> list[Node]:
    """Every node reachable from ``roots``, each once, in depth-first order (no recursion)."""
    seen, order, stack = set(), [], list(reversed(list(roots)))
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        order.append(node)
        stack.extend(nxt for nxt, _ in reversed(node.next_functions) if nxt is not None and nxt not in seen)
    return order


def _names(params: Mapping[str, Tensor] | None) -> dict[int, str]:
    if params is None:
        return {}
    if not isinstance(params, Mapping):
        raise TypeError("params must be a mapping of names to tensors, e.g. dict(model.named_parameters())")
    return {id(t): name for name, t in params.items()}


def make_dot(output, params: Mapping[str, Tensor] | None = None, show_saved: bool = False):
    """The backward graph of ``output`` (a tensor or a sequence of them) as a ``graphviz.Digraph``.

    ``params`` names leaves (``dict(model.named_parameters())``); ``show_saved`` adds the
    tensors (orange) and values each node saved for backward. Nodes are ``n0``, ``n1``, ...
    in the order the graph is walked; ``.source`` is the DOT text.
    """
    try:
        import graphviz
    except ImportError as e:
        raise ImportError("make_dot needs the graphviz Python package: pip install 'autodiff[notebook]' "
                          "(graph_text needs nothing)") from e
    names = _names(params)
    outs = _roots(output)
    dot = _digraph_class(graphviz)(node_attr=_STYLE["node"], graph_attr=_STYLE["graph"])
    ids: dict[Node, str] = {}

    def node_id(node: Node) -> str:
        if node not in ids:
            ids[node] = f"n{len(ids)}"
        return ids[node]

    edges = [gradient_edge(t)[0] for t in outs]
    for node in _walk(n for n in edges if n is not None):
        nid = node_id(node)
        if isinstance(node, AccumulateGrad):
            dot.node(nid, _leaf_label(node, names, "\n"), fillcolor=_STYLE["leaf"])
            continue
        label, saved_tensors = node.name(), []
        if show_saved:
            for name, value in _saved(node):
                if isinstance(value, tuple):
                    saved_tensors.append((name, value))
                else:
                    label += f"\n{name}: {value}"
        dot.node(nid, label, fillcolor=_STYLE["op"])
        for k, (name, shape) in enumerate(saved_tensors):
            sid = f"{nid}_s{k}"
            dot.node(sid, f"{name}\n{_shape(shape)}", fillcolor=_STYLE["saved"])
            dot.edge(sid, nid, style="dotted", dir="none")
        for nxt, _ in node.next_functions:
            if nxt is not None:
                dot.edge(node_id(nxt), nid)
    for k, (t, node) in enumerate(zip(outs, edges)):
        oid = f"out{k}"
        dot.node(oid, _shape(t.shape), fillcolor=_STYLE["output"])
        if node is not None:
            dot.edge(node_id(node), oid)
    return dot


_classes: dict = {}


def _digraph_class(graphviz):
    """``graphviz.Digraph`` whose notebook display falls back to the DOT text where ``dot`` is missing."""
    cls = _classes.get("Digraph")
    if cls is None:
        def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
            try:
                return graphviz.Digraph._repr_mimebundle_(self, include=include, exclude=exclude, **kwargs)
            except graphviz.ExecutableNotFound:
                return {"text/plain": INSTALL_HINT + "\n\n" + self.source}

        cls = _classes["Digraph"] = type("Digraph", (graphviz.Digraph,), {
            "_repr_mimebundle_": _repr_mimebundle_,
            "__doc__": "A graphviz.Digraph that shows its DOT source and how to install Graphviz "
                       "when the dot program is missing.",
        })
    return cls


def graph_text(output, params: Mapping[str, Tensor] | None = None) -> str:
    """The backward graph of ``output`` as an indented tree, one node a line (no dependencies).

    Leaves read ``name (shape)`` (names from ``params``, else ``leaf``); a node reached a
    second time (a shared subgraph) is printed once and then referred to as ``(see above)``.
    """
    names = _names(params)
    lines: list[str] = []
    seen: set = set()
    for t in _roots(output):
        root = gradient_edge(t)[0]
        if root is None:
            lines.append(f"{_shape(t.shape)} (no graph: does not require grad)")
            continue
        stack = [(root, "", "", True)]
        while stack:
            node, prefix, branch, last = stack.pop()
            if isinstance(node, AccumulateGrad):
                lines.append(prefix + branch + (names.get(id(node.variable)) or "leaf") + " "
                             + _shape(node.variable.shape))
                continue
            if node in seen:
                lines.append(prefix + branch + node.name() + " (see above)")
                continue
            seen.add(node)
            lines.append(prefix + branch + node.name())
            child_prefix = prefix + ("" if not branch else ("    " if last else "│   "))
            children = [nxt for nxt, _ in node.next_functions if nxt is not None]
            for k in reversed(range(len(children))):
                end = k == len(children) - 1
                stack.append((children[k], child_prefix, "└── " if end else "├── ", end))
    return "\n".join(lines)
