"""Hyper-parameter validation shared by the optimizers, with torch's messages."""

from __future__ import annotations


def check_non_negative(name: str, value: float) -> None:
    """ValueError ``Invalid <name>: <value>`` unless ``0 <= value``."""
    if not 0.0 <= value:
        raise ValueError(f"Invalid {name}: {value}")


def check_betas(betas: tuple[float, float]) -> None:
    """ValueError ``Invalid beta parameter at index i`` unless both are in [0, 1)."""
    for i, beta in enumerate(betas):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {beta}")


def check_adam_like(lr: float, betas: tuple[float, float], eps: float, weight_decay: float) -> None:
    """The checks shared by the Adam family (Adamax, NAdam, RAdam)."""
    check_non_negative("learning rate", lr)
    check_non_negative("epsilon value", eps)
    check_betas(betas)
    check_non_negative("weight_decay value", weight_decay)
