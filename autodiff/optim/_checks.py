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
def check_state_matches(param, name: str, value) -> None:
    """RuntimeError unless state tensor ``value`` has ``param``'s shape (what the fused update
    kernel indexes by); ``name`` names the state in the message."""
    if tuple(value.shape) != tuple(param.shape):
        raise RuntimeError(
            f"optimizer state '{name}' has shape {list(value.shape)} but its parameter has shape "
            f"{list(param.shape)}: the state dict was saved for a different model (the size of "
            "tensor a must match the size of tensor b)")


def check_update_operands(param, states) -> None:
    """Before the fused update kernel runs: the gradient and every state tensor match the
    parameter in shape and dtype and are contiguous (the kernel trusts all three). Compared
    on the storage arrays: this runs for every parameter of every step."""
    p, g = param._data, param._grad._data
    if g.shape != p.shape or g.dtype != p.dtype:
        grad = param.grad
        raise RuntimeError(
            f"optimizer step: the gradient ({list(grad.shape)}, {grad.dtype}) does not match its "
            f"parameter ({list(param.shape)}, {param.dtype}); was the parameter's .data replaced "
            "after backward?")
    for i, s in enumerate(states):
        d = s._data
        if d.shape != p.shape:
            check_state_matches(param, f"#{i}", s)
        if d.dtype != p.dtype or not d.flags.c_contiguous:
            raise RuntimeError(
                f"optimizer state #{i} must be a contiguous {param.dtype} tensor like its parameter, "
                f"got {s.dtype} with strides {s.stride()}")
