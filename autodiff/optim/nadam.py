"""NAdam: Adam with Nesterov momentum and a momentum schedule."""

from __future__ import annotations

from ..factories import tensor, zeros_like
from ._checks import check_adam_like, check_non_negative
from .optimizer import Optimizer, ParamsT

_KIND = "NADAM"  # the update rule of the backend's fused optimizer kernel


class NAdam(Optimizer):
    """As ``torch.optim.NAdam`` (Dozat 2016); ``decoupled_weight_decay=True`` is NAdamW.

    The running product of the momentum coefficients is state ``mu_product``, a 0-d
    float32 tensor updated in float32 as torch keeps it."""

    def __init__(self, params: ParamsT, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, maximize: bool = False) -> None:
        check_adam_like(lr, betas, eps, weight_decay)
        check_non_negative("momentum_decay value", momentum_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      momentum_decay=momentum_decay,
                                      decoupled_weight_decay=decoupled_weight_decay, maximize=maximize))

    def _rule(self, param, state, group):
        if "exp_avg" not in state:
            state["mu_product"] = tensor(1.0)
            state["exp_avg"] = zeros_like(param)
            state["exp_avg_sq"] = zeros_like(param)
        step = self._next_step(state)
        lr, (beta1, beta2), wd, decay = group["lr"], group["betas"], group["weight_decay"], group["momentum_decay"]
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * decay))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * decay))
        mu_product = state["mu_product"]._data
        mu_product *= mu  # float32 arithmetic, as torch's 0-d state tensor
        prod = float(mu_product)
        return _KIND, [state["exp_avg"], state["exp_avg_sq"]], (
            -lr * (1.0 - mu) / (1.0 - prod), -lr * mu_next / (1.0 - prod * mu_next), 1 - beta1, beta1,
            beta2, 1 - beta2, 1 - beta2 ** step, group["eps"], wd, 1 - lr * wd,
            group["decoupled_weight_decay"], group["maximize"])
