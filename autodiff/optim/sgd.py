"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay."""

from __future__ import annotations

from ..factories import zeros_like
from ._checks import check_non_negative
from .optimizer import Optimizer, ParamsT

_KIND = "SGD"  # the update rule of the backend's fused optimizer kernel


class SGD(Optimizer):
    """As ``torch.optim.SGD``: ``buf = momentum*buf + (1-dampening)*g``; ``p -= lr*(g + momentum*buf)``
    with Nesterov, ``p -= lr*buf`` without (the first step sets ``buf = g``)."""

    def __init__(self, params: ParamsT, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False) -> None:
        check_non_negative("learning rate", lr)
        check_non_negative("momentum value", momentum)
        check_non_negative("weight_decay value", weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov, maximize=maximize))

    def _rule(self, param, state, group):
        momentum = group["momentum"]
        states, first = (), False
        if momentum != 0:
            first = state.get("momentum_buffer") is None
            if first:
                state["momentum_buffer"] = zeros_like(param)
            states = (state["momentum_buffer"],)
        return _KIND, states, (group["lr"], group["weight_decay"], momentum, 1 - group["dampening"],
                               group["nesterov"], group["maximize"], first)
