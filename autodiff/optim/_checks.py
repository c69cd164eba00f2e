"""Hyper-parameter validation shared by the optimizers, with torch's messages."""

from __future__ import annotations


def check_non_negative(name: str, value: float) -> None:
    """ValueError ``Invalid <name>: <value>`` unless ``0 <= value``."""
    if not 0.0 <= value:
        raise ValueError(f"Invalid {name}: {value}")
