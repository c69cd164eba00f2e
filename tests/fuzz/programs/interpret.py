"""The one interpreter of random programs, parameterised by the library (``autodiff`` or
``torch``), so that the same program runs in both from the same float64 leaves.

``run(lib, program)`` returns a trace: one record per step (after a record of the leaves),
each ``("ok", observed)`` or ``("raise", kind, message)``; the run stops at the first
exception. ``observed`` maps what was looked at to what was seen, all as NumPy or plain
Python: ``("value", id)`` and ``("flags", id)`` (requires_grad, is_leaf, is a view) of the
step's outputs, and of every value after a step that writes; ``("grad", id)`` of every
value and ``("hook", n)`` (every gradient hook ``n`` received) after a backward, a grad and
at the end.
"""

from __future__ import annotations

import operator
import warnings
from contextlib import nullcontext

import numpy as np

from ..cases import kind_of
from .program import Const, Program, Ref, Step

BINOPS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
          "@": operator.matmul, "**": operator.pow}


class Env:
    """The values of a running program, and what its gradient hooks received."""

    def __init__(self, lib) -> None:
        self.lib = lib
        self.values: dict[int, object] = {}
        self.seen: dict[int, list] = {}

    def resolve(self, obj):
        if isinstance(obj, Ref):
            return self.values[obj.id]
        if isinstance(obj, Const):
            return self.lib.tensor(obj.data.copy())
        if isinstance(obj, tuple):
            return tuple(self.resolve(x) for x in obj)
        if isinstance(obj, list):
            return [self.resolve(x) for x in obj]
        if isinstance(obj, slice):
            return slice(*(self.resolve(v) for v in (obj.start, obj.stop, obj.step)))
        return obj

    def hook(self, n: int, double: bool):
        seen = self.seen.setdefault(n, [])

        def hook(g):
            seen.append(_numpy(g))
            return g * 2 if double and g is not None else None
        return hook


def fresh(grads) -> list:
    """Gradients as new tensors: whether torch returns a view of one of its buffers is its
    implementation detail, and it shows in what views of that view require grad."""
    return [None if g is None else g.clone() for g in grads]


def _numpy(t) -> np.ndarray | None:
    if t is None:
        return None
    return np.array(t.detach().numpy(), copy=True)


def execute(env: Env, step: Step) -> None:
    """Run one step in ``env``, binding its outputs."""
    lib, r = env.lib, env.resolve
    a, kw = r(step.args), {k: r(v) for k, v in step.kwargs}
    kind = step.kind
    with lib.no_grad() if step.no_grad else nullcontext():
        if kind == "method":
            out = getattr(a[0], step.name)(*a[1:], **kw)
        elif kind == "func":
            fn = lib
            for part in step.name.split("."):
                fn = getattr(fn, part)
            out = fn(*a, **kw)
        elif kind == "binop":
            out = BINOPS[step.name](a[0], a[1])
        elif kind == "getitem":
            out = a[0][a[1]]
        elif kind == "setitem":
            a[0][a[1]] = a[2]
            out = None
        elif kind == "hook":
            out = a[0].register_hook(env.hook(a[1], a[2]))
        elif kind == "loss":
            out = None
            for t, w in a:
                term = (t * w).sum()
                out = term if out is None else out + term
        elif kind == "backward":
            out = a[0].backward(**kw)
        elif kind == "grad":
            out = fresh(lib.autograd.grad(a[0], a[1], allow_unused=True, **kw))
        else:
            raise ValueError(kind)
    if step.multi:
        out = tuple(out)
        if len(out) != len(step.outs):
            raise RuntimeError(f"{step.name} returned {len(out)} results, the program expects {len(step.outs)}")
        env.values.update(zip(step.outs, out))
    elif step.outs:
        env.values[step.outs[0]] = out


def _flags(t) -> tuple | None:
    if t is None:
        return None
    return bool(t.requires_grad), bool(t.is_leaf), t._base is not None


def _look(f, t):
    """``f(t)``, or the class of what it raised (torch refuses to show the history of an
    output of a multi-output view op after a write to its base)."""
    try:
        return f(t)
    except Exception as e:  # noqa: BLE001 - the class is what is compared
        return ("raise", kind_of(e))


def observe(env: Env, ids, grads: bool) -> dict:
    seen: dict = {}
    for i in ids:
        t = env.values[i]
        seen[("value", i)] = _look(_numpy, t)
        seen[("flags", i)] = _look(_flags, t)
    if grads:
        for i, t in env.values.items():
            seen[("grad", i)] = None if t is None else _look(lambda u: _numpy(u.grad), t)
        for n, got in env.seen.items():
            seen[("hook", n)] = list(got)
    return seen


def observed_step(env: Env, step: Step, last: bool) -> dict:
    """Run ``step`` and look at what it may have changed. Looking is part of running: torch
    re-makes a view's history lazily, when it is looked at, and what it then allows can
    depend on when that was, so the generator looks exactly as the comparison does."""
    execute(env, step)
    ids = list(env.values) if step.writes or last else step.outs
    return observe(env, ids, grads=last or step.kind in ("backward", "grad"))


def _run(lib, program: Program) -> tuple[Env, list]:
    env = Env(lib)
    for lf in program.leaves:
        env.values[lf.id] = lib.tensor(lf.data.copy(), dtype=lib.float64, requires_grad=lf.requires_grad)
    trace = [("ok", observe(env, env.values, False))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k, step in enumerate(program.steps):
            try:
                trace.append(("ok", observed_step(env, step, k == len(program.steps) - 1)))
            except Exception as e:  # noqa: BLE001 - the exception's class is what is compared
                trace.append(("raise", kind_of(e), f"{type(e).__name__}: {str(e)[:300]}"))
                break
    return env, trace


def run(lib, program: Program) -> list:
    """The trace of ``program`` under ``lib``."""
    return _run(lib, program)[1]


def run_values(program: Program) -> Env:
    """``run`` under torch, keeping the live environment: what the generator draws from."""
    import torch

    return _run(torch, program)[0]
