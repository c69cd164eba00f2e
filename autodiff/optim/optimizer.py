"""``Optimizer``: parameter groups, per-parameter state, and the fused update call.

As ``torch.optim.Optimizer``: ``param_groups`` is a list of dicts (``"params"`` plus
hyper-parameters, defaults filled in), ``state`` maps each parameter to a dict of its
state tensors, and ``state_dict()`` replaces parameters by integer ids in the order they
appear across groups, so a state dict can be saved and loaded into a fresh optimizer
over a structurally identical model.

A subclass describes one update rule by ``_rule(param, state, group)``, which returns
the kernel kind, the state tensors the kernel updates in place and its scalars; the
base class runs every parameter's update as one fused kernel (the backend's ``optim``),
handing the backend together the parameters that share a device, dtype, rule and
scalars (on cuda: one launch per chunk of them, as torch's multi-tensor apply).
Hyper-parameter keys such as torch's ``foreach``/``fused``/``capturable`` are not
present: autodiff has one implementation, the fused kernel.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from itertools import chain
from typing import Any, Callable, Iterable, Sequence

from .. import backends

from ..autograd.grad_mode import enable_grad, no_grad
from ..factories import tensor
from ..nn.utils import zero_grads
from ..tensor import Tensor
from ..formatting import type_name
from ._checks import check_state_matches, check_update_operands


class _RequiredParameter:
    """The default of a hyper-parameter every group must set (SGD's ``lr`` in old torch)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()

ParamsT = Iterable[Tensor] | Iterable[dict]


class Optimizer:
    """Base class of all optimizers."""

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self.state: defaultdict[Tensor, dict] = defaultdict(dict)
        self.param_groups: list[dict] = []
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors "
                            f"or dicts, but got {type_name(params)}")
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __repr__(self) -> str:
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {key}: {group[key]}" for key in sorted(group) if key != "params"]
        return "\n".join(lines) + "\n)"

    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own hyper-parameters (defaults fill the rest)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type_name(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but "
                            "the ordering of tensors in sets will change between runs. Please use a "
                            "list instead.")
        else:
            params = list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {type_name(p)}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        group = dict(param_group, params=params)
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"parameter group didn't specify a value of required optimization "
                                 f"parameter {name}")
            group.setdefault(name, default)
        ids = [id(p) for p in params]
        if len(set(ids)) != len(ids):
            # torch only warns, then updates such a parameter once per occurrence from state
            # read before either update: a result no one means to get
            raise ValueError("optimizer contains a parameter group with duplicate parameters; pass each "
                             "parameter once")
        taken = {id(p) for g in self.param_groups for p in g["params"]}
        if taken.intersection(ids):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimized parameters (to None, or to zeros in place)."""
        zero_grads([p for group in self.param_groups for p in group["params"]], set_to_none)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; ``closure`` re-evaluates the loss first."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            _fused_updates([(p, *self._rule(p, self.state[p], group))
                            for group in self.param_groups for p in group["params"] if p.grad is not None])
        return loss

    def _rule(self, param: Tensor, state: dict, group: dict) -> tuple[int, Sequence[Tensor], Sequence[float]]:
        """The kernel kind, the state tensors it updates and its scalars, for one parameter."""
        raise NotImplementedError

    @staticmethod
    def _next_step(state: dict) -> float:
        """Increment the per-parameter step count (a 0-d float32 tensor, as torch stores it)."""
        step = state.get("step")
        if step is None:
            step = state["step"] = tensor(0.0)
        step._data[()] += 1
        return float(step._data)

    # ---- state dicts ----------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """``{"state": {id: {...}}, "param_groups": [{..., "params": [ids]}]}``; ids count
        parameters in order across groups."""
        ids: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                ids.setdefault(id(p), len(ids))
            packed["params"] = [ids[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {ids[id(p)] if isinstance(p, Tensor) else p: s for p, s in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyper-parameters and state; state tensors are copied and cast to each
        parameter's dtype (``step`` stays float32)."""
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(self.param_groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match the "
                             "size of optimizer's group")
        by_id = dict(zip(chain.from_iterable(s["params"] for s in saved_groups),
                         chain.from_iterable(g["params"] for g in self.param_groups)))
        state: defaultdict[Any, dict] = defaultdict(dict)
        for key, value in state_dict["state"].items():
            if key in by_id:
                param = by_id[key]
                state[param] = {name: _cast_state(param, name, v) for name, v in value.items()}
            else:
                state[key] = value
        self.param_groups = [dict(saved, params=group["params"])
                             for group, saved in zip(self.param_groups, saved_groups)]
        self.state = state


def _cast_state(param: Tensor, name: str, value: Any) -> Any:
    """A private, contiguous copy of a loaded state tensor, in the parameter's dtype."""
    if not isinstance(value, Tensor):
        return value
    if value.dim():  # 0-d states (step, NAdam's mu_product) are per-parameter scalars
        check_state_matches(param, name, value)
    dtype = value.dtype if name == "step" or not param.is_floating_point() else param.dtype
    return value.detach().to(dtype, copy=True)


def _fused_updates(updates: list[tuple[Tensor, str, Sequence[Tensor], Sequence[float]]]) -> None:
    """Run the update kernels in place on each ``(param, kind, states, hyper)``; bump the
    version counters. Parameters of one device and dtype that share the rule and its
    scalars (a group's, as a rule keeps step counts in step) go to the backend together,
    which updates them with one launch per chunk on cuda."""
    batches: dict[tuple, list] = {}
    for param, kind, states, hyper in updates:
        check_update_operands(param, states)
        key = (param.device, param._data.dtype, kind, len(states), tuple(hyper))
        batches.setdefault(key, []).append((param, states))
    for (_, _, kind, _, hyper), batch in batches.items():
        targets = [backends.contiguous(param._data) for param, _ in batch]
        items = []
        for (param, states), target in zip(batch, targets):
            g = param.grad._data
            items.append((target, g if g.flags.c_contiguous else backends.copy(g), [s._data for s in states]))
        optim = backends.backend_of(targets[0]).optim
        optim.update_many(getattr(optim, kind), items, hyper)
        for (param, _), target in zip(batch, targets):
            if target is not param._data:
                backends.elementwise("copy", param.dtype.name, param._data, target)
            param._version_counter[0] += 1
