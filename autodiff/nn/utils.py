"""Gradient clipping and flat parameter vectors, as ``torch.nn.utils``."""

from __future__ import annotations

import math
from typing import Iterable

from ..autograd.grad_mode import no_grad
from ..factories import tensor as _tensor
from ..ops.joining import stack
from ..tensor import Tensor

_Params = Tensor | Iterable[Tensor]


def _as_list(parameters: _Params) -> list[Tensor]:
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def zero_grads(parameters: _Params, set_to_none: bool = True) -> None:
    """Reset gradients (Module.zero_grad and Optimizer.zero_grad): to None, or to zeros in
    place, detached from any graph a ``create_graph`` backward left on them."""
    for p in _as_list(parameters):
        if p.grad is None:
            continue
        if set_to_none:
            p.grad = None
        else:
            if p.grad.grad_fn is not None:
                p.grad.detach_()
            else:
                p.grad.requires_grad_(False)
            p.grad.zero_()


def _vector_norm(t: Tensor, norm_type: float) -> Tensor:
    """The ``norm_type``-norm of all of ``t``'s elements, as a 0-d tensor."""
    if norm_type == math.inf:
        return t.abs().amax()
    if norm_type == -math.inf:
        return t.abs().amin()
    if norm_type == 2:
        return (t * t).sum().sqrt()
    if norm_type == 1:
        return t.abs().sum()
    if norm_type == 0:
        return (t != 0).sum().to(t.dtype)
    return t.abs().pow(norm_type).sum().pow(1.0 / norm_type)


def clip_grad_norm_(parameters: _Params, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """Scale the gradients in place so that their joint ``norm_type``-norm is at most ``max_norm``;
    return that norm before clipping (``inf`` for the largest magnitude)."""
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    norm_type = float(norm_type)
    if not grads:
        return _tensor(0.0)
    with no_grad():
        norms = [_vector_norm(g, norm_type) for g in grads]  # on the gradients' device: no host reads
        total = _vector_norm(stack(norms), norm_type)
        if error_if_nonfinite and not math.isfinite(total.item()):
            raise RuntimeError(
                f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so "
                "it cannot be clipped. To disable this error and scale the gradients by the non-finite "
                "norm anyway, set `error_if_nonfinite=False`")
        coef = (max_norm / (total + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(coef.to(g.dtype))
    return total


def clip_grad_value_(parameters: _Params, clip_value: float, foreach: bool | None = None) -> None:
    """Clamp every gradient element into ``[-clip_value, clip_value]`` in place."""
    clip_value = float(clip_value)
    with no_grad():
        for p in _as_list(parameters):
            if p.grad is not None:
                p.grad.clamp_(min=-clip_value, max=clip_value)


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and joined into one vector (a copy)."""
    from ..ops.joining import cat

    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of ``vec`` into ``parameters`` (in place)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    offset = 0
    with no_grad():
        for p in parameters:
            n = p.numel()
            p.copy_(vec[offset:offset + n].view_as(p))
            offset += n


_LAZY = {"parametrize": ("parametrize", None), "parametrizations": ("parametrizations", None),
         "spectral_norm": ("norm_hooks", "spectral_norm"), "remove_spectral_norm": ("norm_hooks", "remove_spectral_norm"),
         "weight_norm": ("norm_hooks", "weight_norm"), "remove_weight_norm": ("norm_hooks", "remove_weight_norm")}


def __getattr__(name: str):
    """``nn.utils.parametrize``, ``nn.utils.parametrizations`` and the hook-style
    ``spectral_norm``/``weight_norm``, imported on first use (they import Module, which
    imports this module)."""
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    module_name, attr = _LAZY[name]
    module = importlib.import_module(f"autodiff.nn.{module_name}")
    return module if attr is None else getattr(module, attr)
# ``nn.utils.rnn``, importable as a submodule as in torch (``from autodiff.nn.utils.rnn import ...``)
import sys  # noqa: E402

from . import utils_rnn as rnn  # noqa: E402

sys.modules[__name__ + ".rnn"] = rnn
