"""Where two traces of one program (autodiff's and torch's) first differ.

Step for step: where torch raises, autodiff must raise an exception of the same class;
where torch succeeds, autodiff must too, and every observation must agree: values (shape,
dtype, numbers within float64 tolerance), flags, gradients (``None`` only where torch's is
``None``) and the gradients every hook received.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..cases import _diff

RTOL, ATOL = 1e-4, 1e-5  # scaled by cases._diff to about 1e-7 relative for float64


@dataclass
class Difference:
    step: int  # index into the program's steps; -1 for the leaves
    category: str  # "raise" (one raised, or different classes), "value", "flags", "grad", "hook"
    detail: str


def _arrays(a, b, tol: float) -> str | None:
    if isinstance(a, tuple) or isinstance(b, tuple):  # looking raised
        return None if a == b else f"autodiff {a} vs torch {b}"
    if a is None or b is None:
        return None if a is None and b is None else f"autodiff {_short(a)} vs torch {_short(b)}"
    return _diff(np.asarray(a), np.asarray(b), RTOL * tol, ATOL * tol)


def _short(a) -> str:
    return "None" if a is None else np.array2string(np.asarray(a), precision=4)


def _observed(key, a, b) -> str | None:
    what = key[0]
    if what == "flags":
        return None if a == b else f"(requires_grad, is_leaf, is_view) autodiff {a} vs torch {b}"
    if what == "hook":
        a = a or []
        if len(a) != len(b):
            return f"called {len(a)} times vs torch's {len(b)}"
        for n, (x, y) in enumerate(zip(a, b)):
            problem = _arrays(x, y, 10)
            if problem:
                return f"call {n}: {problem}"
        return None
    return _arrays(a, b, 1 if what == "value" else 10)


def compare(ours: list, ref: list) -> Difference | None:
    """The first difference of autodiff's trace ``ours`` from torch's ``ref``, or None."""
    for k, (mine, theirs) in enumerate(zip(ours, ref)):
        step = k - 1
        if mine[0] != theirs[0] or (mine[0] == "raise" and mine[1] != theirs[1]):
            say = {"ok": "succeeded", "raise": "raised"}
            return Difference(step, "raise", f"autodiff {say[mine[0]]} {mine[2] if mine[0] == 'raise' else ''}\n"
                                             f"torch {say[theirs[0]]} {theirs[2] if theirs[0] == 'raise' else ''}")
        if mine[0] == "raise":
            return None
        for key, b in theirs[1].items():
            a = mine[1].get(key)
            problem = _observed(key, a, b)
            if problem:
                return Difference(step, key[0], f"{key[0]} of v{key[1]}: {problem}" if key[0] != "hook"
                                  else f"hook {key[1]}: {problem}")
    if len(ours) != len(ref):
        return Difference(min(len(ours), len(ref)) - 1, "raise", f"traces of {len(ours)} and {len(ref)} records")
    return None
