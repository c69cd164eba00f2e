"""Rule tables per transform: ``vjp`` (reverse mode) now; ``jvp`` and batching later.

A transform's rules for an op live in that transform's table, keyed by the op, not in
``Op`` itself: forward-mode AD adds ``jvp = RuleTable("jvp")`` and defines rules for the
ops it covers without editing ``Op`` or any op declaration. ``Op.__init__`` defines the
op's ``vjp`` rules from its declaration.
"""

from __future__ import annotations

from typing import Any


class RuleTable:
    """op -> rules for one transform (one rule per operand)."""

    def __init__(self, transform: str) -> None:
        self.transform = transform
        self._rules: dict[Any, tuple] = {}

    def define(self, op, rules: tuple) -> None:
        self._rules[op] = tuple(rules)

    def __getitem__(self, op) -> tuple:
        try:
            return self._rules[op]
        except KeyError:
            raise NotImplementedError(f"{op.name}: no {self.transform} rule is defined") from None

    def __contains__(self, op) -> bool:
        return op in self._rules

    def __len__(self) -> int:
        return len(self._rules)


vjp = RuleTable("vjp")
