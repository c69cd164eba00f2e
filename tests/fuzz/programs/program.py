"""What a random program is: plain, picklable data that one interpreter runs under either
library, a printer that writes it as readable Python, and the well-formed removal of steps
the shrinker needs.

A program is a list of float64 leaves and a list of steps. A step names what it does
(``kind`` and ``name``), its operands (``Ref`` to an earlier value, ``Const`` for a constant
tensor such as an index or a mask, or plain Python data: numbers, tuples, slices), the ids
of the values it defines (``outs``, empty for an in-place write or a statement), and
whether it runs under ``no_grad``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

# Step kinds and how they read:
#   method   outs = args[0].name(*args[1:], **kwargs)
#   func     outs = lib.name(*args, **kwargs)
#   binop    out = args[0] <name> args[1]      (name: + - * / @ **)
#   getitem  out = args[0][args[1]]
#   setitem  args[0][args[1]] = args[2]
#   hook     args[0].register_hook(record into seen[args[1]], returning g * 2 if args[2])
#   loss     out = sum((r * w).sum() for r, w in args)
#   backward args[0].backward(**kwargs)
#   grad     outs = clones of lib.autograd.grad(args[0], args[1], allow_unused=True, **kwargs)
MULTI_OUTPUT = ("split", "unbind", "chunk")
KINDS = ("method", "func", "binop", "getitem", "setitem", "hook", "loss", "backward", "grad")


@dataclass(frozen=True)
class Ref:
    """An earlier value of the program (a leaf or a step's output), by id."""
    id: int


@dataclass(frozen=True, eq=False)
class Const:
    """A constant tensor made afresh at each use: an index, a mask, a weight."""
    data: np.ndarray


@dataclass(frozen=True)
class Leaf:
    id: int
    data: np.ndarray = field(compare=False)
    requires_grad: bool


@dataclass(frozen=True)
class Step:
    kind: str
    name: str = ""
    args: tuple = ()
    kwargs: tuple = ()  # (key, value) pairs, so that a step is hashable data
    outs: tuple = ()
    no_grad: bool = False

    def refs(self) -> set[int]:
        """Ids of the values this step reads."""
        found: set[int] = set()
        _collect(self.args, found)
        _collect(tuple(v for _, v in self.kwargs), found)
        return found

    @property
    def multi(self) -> bool:
        """Whether the step's call returns a sequence its ``outs`` unpack."""
        return self.kind == "grad" or self.name in MULTI_OUTPUT

    @property
    def writes(self) -> bool:
        """Whether the step may change values, flags or gradients it does not define."""
        return self.kind in ("setitem", "backward", "grad") or self.name.endswith("_") or \
            self.name == "retain_grad"


def _collect(obj, found: set[int]) -> None:
    if isinstance(obj, Ref):
        found.add(obj.id)
    elif isinstance(obj, (tuple, list)):
        for x in obj:
            _collect(x, found)
    elif isinstance(obj, slice):
        _collect((obj.start, obj.stop, obj.step), found)


@dataclass
class Program:
    leaves: tuple
    steps: tuple
    seed: int = 0

    def run_under(self, lib) -> list:
        """The program's trace under ``lib`` (what the fuzz worker calls)."""
        from .interpret import run

        return run(lib, self)

    def without(self, drop: set[int]) -> Program:
        """The program less the steps at positions ``drop`` and every step that reads a value
        they defined (transitively); leaves no step reads any more go too."""
        gone: set[int] = set()
        kept = []
        for i, step in enumerate(self.steps):
            if i in drop or step.refs() & gone:
                gone.update(step.outs)
            else:
                kept.append(step)
        used = set().union(*(s.refs() for s in kept)) if kept else set()
        return Program(tuple(lf for lf in self.leaves if lf.id in used), tuple(kept), self.seed)

    def with_step(self, i: int, step: Step) -> Program:
        steps = list(self.steps)
        steps[i] = step
        return replace(self, steps=tuple(steps))

    def code(self, lib: str = "torch", mark: int | None = None) -> str:
        """The program as Python a person can run (``mark``: the step to point at)."""
        lines = [f"import {lib} as lib", "seen = {}  # what each hook received"]
        if any(s.kind == "grad" for s in self.steps):
            lines.append("def fresh(gs): return [None if g is None else g.clone() for g in gs]")
        for lf in self.leaves:
            grad = ", requires_grad=True" if lf.requires_grad else ""
            lines.append(f"{name(lf.id)} = lib.tensor({_array(lf.data)}, dtype=lib.float64{grad})")
        for i, step in enumerate(self.steps):
            text = step_code(step)
            if step.no_grad:
                text = "with lib.no_grad():\n    " + text.replace("\n", "\n    ")
            if i == mark:
                text += "  # <-- here"
            lines.append(text)
        return "\n".join(lines)


def name(i: int) -> str:
    return f"v{i}"


def show(obj) -> str:
    """Python source of an operand."""
    if isinstance(obj, Ref):
        return name(obj.id)
    if isinstance(obj, Const):
        d = obj.data
        dtype = {"f": ", dtype=lib.float64"}.get(d.dtype.kind, "")
        return f"lib.tensor({_array(d)}{dtype})"
    if isinstance(obj, slice):
        parts = ["" if v is None else show(v) for v in (obj.start, obj.stop)]
        if obj.step is not None:
            parts.append(show(obj.step))
        return ":".join(parts)
    if obj is Ellipsis:
        return "..."
    if isinstance(obj, list):
        return "[" + ", ".join(show(x) for x in obj) + "]"
    if isinstance(obj, tuple):
        return "(" + ", ".join(show(x) for x in obj) + ("," if len(obj) == 1 else "") + ")"
    return repr(obj)


def _array(d: np.ndarray) -> str:
    return repr(d.tolist())


def _index(index) -> str:
    if isinstance(index, tuple) and index:
        return ", ".join(show(x) for x in index)
    return show(index)


def _call(args, kwargs) -> str:
    return ", ".join([show(a) for a in args] + [f"{k}={show(v)}" for k, v in kwargs])


def _targets(outs, multi: bool = False) -> str:
    if not outs:
        return ""
    if len(outs) == 1 and not multi:
        return name(outs[0]) + " = "
    return ", ".join(name(o) for o in outs) + ("," if len(outs) == 1 else "") + " = "


def step_code(step: Step) -> str:
    a, kw, kind = step.args, step.kwargs, step.kind
    outs = _targets(step.outs, step.multi)
    if kind == "method":
        return f"{outs}{show(a[0])}.{step.name}({_call(a[1:], kw)})"
    if kind == "func":
        return f"{outs}lib.{step.name}({_call(a, kw)})"
    if kind == "binop":
        return f"{outs}{show(a[0])} {step.name} {show(a[1])}"
    if kind == "getitem":
        return f"{outs}{show(a[0])}[{_index(a[1])}]"
    if kind == "setitem":
        return f"{show(a[0])}[{_index(a[1])}] = {show(a[2])}"
    if kind == "hook":
        ret = " or (None if g is None else g * 2)" if a[2] else ""
        return f"{show(a[0])}.register_hook(lambda g: seen.setdefault({a[1]}, []).append(g){ret})"
    if kind == "loss":
        return outs + " + ".join(f"({show(r)} * {show(w)}).sum()" for r, w in a)
    if kind == "backward":
        return f"{show(a[0])}.backward({_call((), kw)})"
    if kind == "grad":
        call = _call(a, kw + (("allow_unused", True),))
        return f"{outs}fresh(lib.autograd.grad({call}))"
    raise ValueError(kind)
