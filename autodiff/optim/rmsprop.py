"""RMSprop, optionally centered and with momentum."""

from __future__ import annotations

from ..factories import zeros_like
from ._checks import check_non_negative
from .optimizer import Optimizer, ParamsT

_KIND = "RMSPROP"  # the update rule of the backend's fused optimizer kernel


class RMSprop(Optimizer):
    """As ``torch.optim.RMSprop``: divide the gradient by a running RMS of its magnitude."""

    def __init__(self, params: ParamsT, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False, *,
                 maximize: bool = False) -> None:
        check_non_negative("learning rate", lr)
        check_non_negative("epsilon value", eps)
        check_non_negative("momentum value", momentum)
        check_non_negative("weight_decay value", weight_decay)
        check_non_negative("alpha value", alpha)
        super().__init__(params, dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                                      weight_decay=weight_decay, maximize=maximize))

    def _rule(self, param, state, group):
        if "square_avg" not in state:
            state["square_avg"] = zeros_like(param)
        states = [state["square_avg"]]
        for key, wanted in (("momentum_buffer", group["momentum"] > 0), ("grad_avg", group["centered"])):
            if wanted and key not in state:
                state[key] = zeros_like(param)
            states.append(state[key] if wanted else states[0])  # unused slots are never written
        self._next_step(state)
        alpha = group["alpha"]
        return _KIND, states, (group["lr"], alpha, 1 - alpha, group["eps"], group["weight_decay"],
                               group["momentum"], group["centered"], group["maximize"])
