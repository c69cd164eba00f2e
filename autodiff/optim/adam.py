"""Adam and AdamW (Adam with decoupled weight decay), with AMSGrad."""

from __future__ import annotations

import math

from ..factories import zeros_like
from ._checks import check_non_negative
from .optimizer import Optimizer, ParamsT

_KIND = "ADAM"  # the update rule of the backend's fused optimizer kernel


class Adam(Optimizer):
    """As ``torch.optim.Adam``: bias-corrected first and second moment estimates;
    ``decoupled_weight_decay=True`` makes it AdamW."""

    def __init__(self, params: ParamsT, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False, *,
                 maximize: bool = False, decoupled_weight_decay: bool = False) -> None:
        check_non_negative("learning rate", lr)
        check_non_negative("epsilon value", eps)
        for i, beta in enumerate(betas):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
        check_non_negative("weight_decay value", weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize,
                                      decoupled_weight_decay=decoupled_weight_decay))

    def _rule(self, param, state, group):
        if "exp_avg" not in state:
            state["exp_avg"] = zeros_like(param)
            state["exp_avg_sq"] = zeros_like(param)
        if group["amsgrad"] and "max_exp_avg_sq" not in state:
            state["max_exp_avg_sq"] = zeros_like(param)
        step = self._next_step(state)
        lr, (beta1, beta2), wd = group["lr"], group["betas"], group["weight_decay"]
        states = [state["exp_avg"], state["exp_avg_sq"]]
        if group["amsgrad"]:
            states.append(state["max_exp_avg_sq"])
        return _KIND, states, (
            -lr / (1 - beta1 ** step), 1 - beta1, beta2, 1 - beta2, math.sqrt(1 - beta2 ** step),
            group["eps"], wd, 1 - lr * wd, group["decoupled_weight_decay"], group["amsgrad"],
            group["maximize"], beta1)


class AdamW(Adam):
    """As ``torch.optim.AdamW``: Adam whose weight decay scales the parameter by ``1 - lr*wd``."""

    def __init__(self, params: ParamsT, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)
