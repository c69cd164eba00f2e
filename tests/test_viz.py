"""autodiff.viz: node names and edges of make_dot's DOT source (with and without dot), graph_text."""

import re
import shutil

import pytest

import autodiff as ad
from autodiff import viz

graphviz = pytest.importorskip("graphviz", reason="make_dot needs the graphviz Python package")


def _parse(source: str):
    """(labels by node id, edges as (from label, to label)) from DOT text."""
    labels = {m.group(1): m.group(2).strip('"').replace("\n", " ")
              for m in re.finditer(r'^\t(\w+) \[label=("[^"]*"|\S+)', source, re.MULTILINE)}
    edges = [(labels[a], labels[b]) for a, b in re.findall(r"^\t(\w+) -> (\w+)", source, re.MULTILINE)]
    return labels, edges


def _small():
    w = ad.ones(3, 2, requires_grad=True)
    b = ad.zeros(2, requires_grad=True)
    x = ad.ones(4, 3)
    y = (x @ w + b).tanh().sum()
    return y, {"w": w, "b": b}


EXPECTED_EDGES = {  # forward direction: an input's node -> the node that used it
    ("w (3, 2)", "MmBackward0"), ("MmBackward0", "AddBackward0"), ("b (2,)", "AddBackward0"),
    ("AddBackward0", "TanhBackward0"), ("TanhBackward0", "SumBackward0"), ("SumBackward0", "()"),
}


def _check(dot):
    labels, edges = _parse(dot.source)
    assert sorted(labels.values()) == sorted(
        ["MmBackward0", "AddBackward0", "TanhBackward0", "SumBackward0", "w (3, 2)", "b (2,)", "()"])
    assert set(edges) == EXPECTED_EDGES and len(edges) == len(EXPECTED_EDGES)


def _torch_names():
    """The grad_fn names torch gives the same graph (the oracle for ours)."""
    torch = pytest.importorskip("torch")
    w = torch.ones(3, 2, requires_grad=True)
    y = (torch.ones(4, 3) @ w + torch.zeros(2, requires_grad=True)).tanh().sum()
    names, fn = [], y.grad_fn
    while fn is not None and type(fn).__name__ != "AccumulateGrad":
        names.append(type(fn).__name__)
        fn = fn.next_functions[0][0]
    return names


def test_grad_fn_names_are_torchs():
    y, _ = _small()
    assert _torch_names() == ["SumBackward0", "TanhBackward0", "AddBackward0", "MmBackward0"]
    assert viz.graph_text(y).splitlines()[0] == "SumBackward0"


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot program is not installed")
def test_make_dot_with_dot_renders_svg():
    y, params = _small()
    dot = viz.make_dot(y, params=params)
    _check(dot)
    svg = dot._repr_mimebundle_()["image/svg+xml"]
    assert "<svg" in svg and "TanhBackward0" in svg


def test_make_dot_without_dot_returns_source_and_install_hint(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot program on PATH
    assert not viz.dot_available()
    y, params = _small()
    dot = viz.make_dot(y, params=params)
    assert isinstance(dot, graphviz.Digraph)
    _check(dot)
    shown = dot._repr_mimebundle_()
    assert set(shown) == {"text/plain"}
    assert "apt-get install graphviz" in shown["text/plain"] and dot.source in shown["text/plain"]


def test_show_saved_adds_saved_tensors():
    y, params = _small()
    labels, edges = _parse(viz.make_dot(y, params=params, show_saved=True).source)
    assert ("result (4, 2)", "TanhBackward0") in edges  # tanh saves its output
    mm = y.grad_fn.next_functions[0][0].next_functions[0][0].next_functions[0][0]
    assert mm.name() == "MmBackward0"
    # what the rules that will run read, as torch saves: w's gradient reads x (``self``); x needs
    # no gradient, so w (``other``, read only by x's rule) is not saved
    assert mm.op.saves == {"self", "other"}
    assert ("self (4, 3)", "MmBackward0") in edges
    assert not any(src.startswith("other") for src, _ in edges)
    y.backward()  # backward frees what was saved
    labels, _ = _parse(viz.make_dot(y, params=params, show_saved=True).source)
    assert not any(label.startswith("result") for label in labels.values())


def test_shared_leaf_and_several_outputs():
    a = ad.ones(3, requires_grad=True)
    p, q = a * a, a.exp()
    labels, edges = _parse(viz.make_dot([p, q], params={"a": a}).source)
    assert edges.count(("a (3,)", "MulBackward0")) == 2 and ("a (3,)", "ExpBackward0") in edges
    assert list(labels.values()).count("a (3,)") == 1  # one box per leaf
    assert ("MulBackward0", "(3,)") in edges and ("ExpBackward0", "(3,)") in edges


def test_graph_text_tree():
    y, params = _small()
    assert viz.graph_text(y, params) == "\n".join([
        "SumBackward0",
        "└── TanhBackward0",
        "    └── AddBackward0",
        "        ├── MmBackward0",
        "        │   └── w (3, 2)",
        "        └── b (2,)",
    ])
    a = ad.ones(2, requires_grad=True)
    s = a.exp()
    text = viz.graph_text(s * s + s, {"a": a})
    assert text.count("ExpBackward0 (see above)") == 2 and text.count("ExpBackward0") == 3
    assert viz.graph_text(ad.ones(2)) == "(2,) (no graph: does not require grad)"
    assert viz.graph_text(a) == "leaf (2,)"
    with pytest.raises(TypeError, match="Tensor"):
        viz.graph_text([1.0])


def test_graph_text_deep_chain_no_recursion():
    x = ad.ones(1, requires_grad=True)
    y = x
    for _ in range(3000):
        y = y * 1.0
    assert viz.graph_text(y).count("MulBackward0") == 3000


def test_make_dot_without_the_graphviz_package_says_what_to_install(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "graphviz", None)  # as if not installed
    y, _ = _small()
    with pytest.raises(ImportError, match=r"autodiff\[notebook\]"):
        viz.make_dot(y)
    assert viz.graph_text(y).startswith("SumBackward0")  # the text tree needs nothing
