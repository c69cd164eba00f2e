"""Greedy shrinking of a failing program: drop steps (with every step that reads what they
defined) while the program still fails the same way, then clear ``no_grad`` flags and
leaves' ``requires_grad`` where the failure survives it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from .program import Program


def shrink(program: Program, fails: Callable[[Program], bool], budget: int = 300) -> Program:
    """The smallest program found that still ``fails``, trying at most ``budget`` candidates."""
    tries = 0

    def attempt(candidate: Program) -> bool:
        nonlocal tries
        tries += 1
        return tries <= budget and fails(candidate)

    changed = True
    while changed and tries < budget:
        changed = False
        # the tail first (a failure is often at the end), then each step, the last first
        n = len(program.steps)
        chunk = n // 2
        while chunk >= 2:
            for start in range(n - chunk, -1, -chunk):
                cand = program.without(set(range(start, min(start + chunk, len(program.steps)))))
                if len(cand.steps) < len(program.steps) and attempt(cand):
                    program, changed = cand, True
                    break
            n = len(program.steps)
            chunk //= 2
        for i in reversed(range(len(program.steps))):
            if i >= len(program.steps):
                continue
            cand = program.without({i})
            if attempt(cand):
                program, changed = cand, True
    for i, step in enumerate(program.steps):
        if step.no_grad:
            cand = program.with_step(i, replace(step, no_grad=False))
            if attempt(cand):
                program = cand
    for k, leaf in enumerate(program.leaves):
        if leaf.requires_grad:
            leaves = list(program.leaves)
            leaves[k] = replace(leaf, requires_grad=False)
            cand = replace(program, leaves=tuple(leaves))
            if attempt(cand):
                program = cand
    return program
