"""RAdam: Adam whose adaptive step is rectified while the second moment's variance is large."""

from __future__ import annotations

import math

from ..factories import zeros_like
from ._checks import check_adam_like
from .optimizer import Optimizer, ParamsT

_KIND = "RADAM"  # the update rule of the backend's fused optimizer kernel


class RAdam(Optimizer):
    """As ``torch.optim.RAdam`` (Liu et al. 2019): plain momentum SGD for the first steps
    (``rho_t <= 5``), then the rectified Adam step; ``decoupled_weight_decay=True`` is RAdamW."""

    def __init__(self, params: ParamsT, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, decoupled_weight_decay: bool = False, *,
                 maximize: bool = False) -> None:
        check_adam_like(lr, betas, eps, weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      decoupled_weight_decay=decoupled_weight_decay, maximize=maximize))

    def _rule(self, param, state, group):
        if "exp_avg" not in state:
            state["exp_avg"] = zeros_like(param)
            state["exp_avg_sq"] = zeros_like(param)
        step = self._next_step(state)
        lr, (beta1, beta2), wd = group["lr"], group["betas"], group["weight_decay"]
        bc2 = 1 - beta2 ** step
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2 ** step) / bc2
        rectify = rho_t > 5.0
        rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) \
            if rectify else 1.0
        return _KIND, [state["exp_avg"], state["exp_avg_sq"]], (
            lr, 1 - beta1, beta1, beta2, 1 - beta2, 1 - beta1 ** step, rectify, rect, bc2 ** 0.5,
            group["eps"], wd, 1 - lr * wd, group["decoupled_weight_decay"], group["maximize"])
