"""Adamax: Adam with the infinity norm in place of the second moment."""

from __future__ import annotations

from ..factories import zeros_like
from ._checks import check_adam_like
from .optimizer import Optimizer, ParamsT

_KIND = "ADAMAX"  # the update rule of the backend's fused optimizer kernel


class Adamax(Optimizer):
    """As ``torch.optim.Adamax``."""

    def __init__(self, params: ParamsT, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, *, maximize: bool = False) -> None:
        check_adam_like(lr, betas, eps, weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      maximize=maximize))

    def _rule(self, param, state, group):
        if "exp_avg" not in state:
            state["exp_avg"] = zeros_like(param)
            state["exp_inf"] = zeros_like(param)
        step = self._next_step(state)
        beta1, beta2 = group["betas"]
        return _KIND, [state["exp_avg"], state["exp_inf"]], (
            -group["lr"] / (1 - beta1 ** step), 1 - beta1, beta1, beta2, group["eps"],
            group["weight_decay"], group["maximize"])
