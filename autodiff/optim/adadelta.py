"""Adadelta: step sizes from running averages of squared gradients and squared updates."""

from __future__ import annotations

from ..factories import zeros_like
from ._checks import check_non_negative
from .optimizer import Optimizer, ParamsT

_KIND = "ADADELTA"  # the update rule of the backend's fused optimizer kernel


class Adadelta(Optimizer):
    """As ``torch.optim.Adadelta`` (Zeiler 2012), with ``lr`` scaling the update."""

    def __init__(self, params: ParamsT, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, *, maximize: bool = False) -> None:
        check_non_negative("learning rate", lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        check_non_negative("epsilon value", eps)
        check_non_negative("weight_decay value", weight_decay)
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize))

    def _rule(self, param, state, group):
        if "square_avg" not in state:
            state["square_avg"] = zeros_like(param)
            state["acc_delta"] = zeros_like(param)
        self._next_step(state)
        rho = group["rho"]
        return _KIND, [state["square_avg"], state["acc_delta"]], (
            group["lr"], rho, 1 - rho, group["eps"], group["weight_decay"], group["maximize"])
