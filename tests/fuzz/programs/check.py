"""``check(worker, program)``: run a program under torch here and under autodiff in the
worker process; on a difference (or a crash), shrink it and fail with the smallest
program that still differs, written as Python."""

from __future__ import annotations

from ..budget import count
from ..guard import Crash
from .compare import Difference, compare
from .interpret import run
from .program import Program
from .shrink import shrink


def difference(worker, program: Program) -> Difference | None:
    import torch

    ref = run(torch, program)
    try:
        ours = worker.run(program)
    except Crash as e:
        return Difference(len(program.steps) - 1, "crash", str(e).split(" on ")[0])
    return compare(ours, ref)


def report(program: Program, found: Difference, label: str = "") -> str:
    where = "the leaves" if found.step < 0 else f"step {found.step}"
    return (f"{label}autodiff differs from torch at {where} ({found.category}):\n{found.detail}\n"
            f"--- minimal program ({len(program.steps)} steps; run it with torch, then with autodiff) ---\n"
            f"{program.code(mark=found.step)}")


def check(worker, program: Program, label: str = "", shrinking: bool = True) -> str | None:
    """None if autodiff's trace of ``program`` is torch's, else the report of the
    difference: with the shrunk program (or, not ``shrinking``, the first difference only)."""
    count("programs")
    found = difference(worker, program)
    if found is None:
        return None
    if not shrinking:
        return f"{label}autodiff differs from torch at step {found.step} ({found.category}): " + \
            found.detail.splitlines()[0]

    def same_failure(candidate: Program) -> bool:
        d = difference(worker, candidate)
        return d is not None and d.category == found.category

    small = shrink(program, same_failure)
    return report(small, difference(worker, small) or found, label)
