"""Adagrad: per-coordinate learning rates from the running sum of squared gradients."""

from __future__ import annotations

from ..factories import full_like, tensor
from ._checks import check_non_negative
from .optimizer import Optimizer, ParamsT

_KIND = "ADAGRAD"  # the update rule of the backend's fused optimizer kernel


class Adagrad(Optimizer):
    """As ``torch.optim.Adagrad``; the state (``step``, ``sum``) exists from construction, as in torch."""

    def __init__(self, params: ParamsT, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, *,
                 maximize: bool = False) -> None:
        check_non_negative("learning rate", lr)
        check_non_negative("lr_decay value", lr_decay)
        check_non_negative("weight_decay value", weight_decay)
        check_non_negative("initial_accumulator_value value", initial_accumulator_value)
        check_non_negative("epsilon value", eps)
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      maximize=maximize))

    def add_param_group(self, param_group: dict) -> None:
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        for p in group["params"]:
            self.state[p] = {"step": tensor(0.0), "sum": full_like(p, group["initial_accumulator_value"])}

    def _rule(self, param, state, group):
        step = self._next_step(state)
        clr = group["lr"] / (1 + (step - 1) * group["lr_decay"])
        return _KIND, (state["sum"],), (-clr, group["weight_decay"], group["eps"], group["maximize"])
