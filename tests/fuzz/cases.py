"""What one generated case is, and how either library runs it.

A case is plain data (picklable, so it can run in the worker process): the name of an
entry of ``OPS``, its arguments and keyword parameters. A tensor argument is a
``TensorSpec``: a NumPy array and the view steps (transpose, slice, expand, permute) that
turn the tensor made from it into the operand, so both libraries see the same
non-contiguous, broadcast or sliced input. ``run(lib, case)`` returns an outcome:
``("ok", values, grads)`` with everything as NumPy, or ``("raise", kind, message)`` where
``kind`` is the exception's nearest built-in class — the thing the two libraries must agree on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class TensorSpec:
    data: np.ndarray
    # view steps, each ("T",) | ("slice", dim, start, stop, step) | ("expand", shape)
    # | ("permute", dims) | ("select", dim, index)
    view: tuple = ()
    requires_grad: bool = False


@dataclass
class Case:
    op: str
    args: tuple
    kwargs: dict = field(default_factory=dict)
    seed: int = 0  # of the output gradient used for backward

    def __repr__(self) -> str:
        def show(a):
            if isinstance(a, TensorSpec):
                d = a.data
                vals = np.array2string(d.reshape(-1)[:8], precision=3, separator=",")
                return (f"T({d.dtype.name}{list(d.shape)} {vals}{'...' if d.size > 8 else ''} view={a.view} "
                        f"grad={a.requires_grad})")
            if isinstance(a, (list, tuple)):
                return type(a)(show(x) for x in a)
            return repr(a)
        return f"Case({self.op}, args={[show(a) for a in self.args]}, kwargs={self.kwargs})"


# ---- building operands ---------------------------------------------------------------------
def build(lib, spec: Any, leaves: list):
    """The operand ``spec`` describes, in ``lib`` (autodiff or torch); float leaves that
    require grad are appended to ``leaves``."""
    if isinstance(spec, TensorSpec):
        t = lib.tensor(spec.data.copy())
        if spec.requires_grad and spec.data.dtype.kind == "f":
            t.requires_grad_(True)
            leaves.append(t)
        for step in spec.view:
            t = view_step(t, step)
        return t
    if isinstance(spec, list):
        return [build(lib, s, leaves) for s in spec]
    if isinstance(spec, tuple) and spec and spec[0] == "dtype":
        return getattr(lib, spec[1])
    return spec


def view_step(t, step):
    kind = step[0]
    if kind == "T":
        return t.transpose(-1, -2)
    if kind == "slice":
        _, dim, start, stop, stride = step
        index = [slice(None)] * t.dim()
        index[dim] = slice(start, stop, stride)
        return t[tuple(index)]
    if kind == "expand":
        return t.expand(*step[1])
    if kind == "permute":
        return t.permute(*step[1])
    if kind == "select":
        return t.select(step[1], step[2])
    raise ValueError(step)


# ---- outcomes ------------------------------------------------------------------------------
_KINDS = (NotImplementedError, IndexError, KeyError, ValueError, TypeError, ZeroDivisionError,
          OverflowError, MemoryError, RecursionError, AssertionError, RuntimeError)


def kind_of(e: BaseException) -> str:
    """The exception's class as the tests compare it: its nearest listed built-in base."""
    for k in _KINDS:
        if isinstance(e, k):
            return k.__name__
    return type(e).__name__


def _numpy(x) -> np.ndarray:
    """A private NumPy copy of a tensor of either library (or of a number)."""
    if hasattr(x, "detach"):
        return np.array(x.detach().numpy(), copy=True)
    return np.asarray(x)


def _flat(out) -> list:
    if isinstance(out, (list, tuple)):
        return [y for x in out for y in _flat(x)]
    return [out]


def run(lib, case: Case, ops: dict[str, Callable]) -> tuple:
    """Run ``case`` under ``lib``: forward, then backward of a seeded weighted sum of the
    float outputs into every leaf that requires grad."""
    leaves: list = []
    try:
        args = [build(lib, a, leaves) for a in case.args]
        kwargs = {k: build(lib, v, leaves) for k, v in case.kwargs.items()}
        out = ops[case.op](lib, *args, **kwargs)
    except Exception as e:  # noqa: BLE001 - the outcome class is what is compared
        return "raise", kind_of(e), f"{type(e).__name__}: {str(e)[:400]}"
    outs = _flat(out)
    values = [_numpy(o) for o in outs]
    grads = []
    diff = [o for o in outs if hasattr(o, "requires_grad") and o.requires_grad]
    if leaves and diff:
        rng = np.random.default_rng(case.seed)
        try:
            total = None
            for o in diff:
                w = lib.tensor(rng.uniform(-1, 1, tuple(o.shape)).astype(_numpy(o).dtype))
                term = (o * w).sum()
                total = term if total is None else total + term
            got = lib.autograd.grad(total, leaves, allow_unused=True)
        except Exception as e:  # noqa: BLE001
            return "raise", kind_of(e), f"backward: {type(e).__name__}: {str(e)[:400]}"
        grads = [None if g is None else _numpy(g) for g in got]
    return "ok", values, grads


def compare(ours: tuple, ref: tuple, rtol: float = 1e-4, atol: float = 1e-5) -> str | None:
    """None if the outcomes agree, else what differs (for the failure message)."""
    if ours[0] != ref[0] or (ours[0] == "raise" and ours[1] != ref[1]):
        return f"outcomes differ:\n  autodiff: {ours[:2]} {ours[2] if ours[0] == 'raise' else ''}\n" \
               f"  torch:    {ref[:2]} {ref[2] if ref[0] == 'raise' else ''}"
    if ours[0] == "raise":
        return None
    for what, a_list, b_list in (("value", ours[1], ref[1]), ("grad", ours[2], ref[2])):
        if len(a_list) != len(b_list):
            return f"{what}: {len(a_list)} results vs torch's {len(b_list)}"
        tol = 1 if what == "value" else 10
        for i, (a, b) in enumerate(zip(a_list, b_list)):
            if a is None or b is None:
                if (a is None) != (b is None) and not _is_zero(a if b is None else b):
                    return f"{what} {i}: autodiff {a} vs torch {b}"
                continue
            problem = _diff(np.asarray(a), np.asarray(b), rtol * tol, atol * tol)
            if problem:
                return f"{what} {i}: {problem}"
    return None


def _is_zero(a) -> bool:
    return a is not None and not np.any(a)


def _diff(a: np.ndarray, b: np.ndarray, rtol: float, atol: float) -> str | None:
    if a.shape != b.shape:
        return f"shape {list(a.shape)} vs torch's {list(b.shape)}"
    if a.dtype != b.dtype:
        return f"dtype {a.dtype} vs torch's {b.dtype}"
    if a.dtype.kind in "biu":
        return None if np.array_equal(a, b) else f"values differ:\n{a}\nvs torch\n{b}"
    scale = max(1.0, float(np.nanmax(np.abs(np.where(np.isfinite(b), b, 0)))) if b.size else 1.0)
    tol = atol * scale if a.dtype == np.float32 else atol * scale * 1e-3
    ok = np.isclose(a, b, rtol=rtol if a.dtype == np.float32 else rtol * 1e-3, atol=tol, equal_nan=True)
    if ok.all():
        return None
    where = tuple(np.argwhere(~ok)[0]) if a.ndim else ()
    return f"values differ first at {where}: {a[where]!r} vs torch {b[where]!r}\n{a}\nvs torch\n{b}"
