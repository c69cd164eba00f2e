"""The one mechanism behind every differentiable op.

An ``Op`` is declared once with

* ``inputs``: names of its operands (``("self", "other")``, as in PyTorch's
  ``derivatives.yaml``); an operand may be a Tensor or a Python number;
* ``forward``: a function of the operands' raw values (NumPy arrays or numbers) and
  keyword parameters returning the result array. It calls kernels; it may take
  ``out=`` to write in place;
* ``vjp``: one rule per operand, ``lambda grad, <names>: ...``, written with
  differentiable autodiff ops so that ``create_graph=True`` works. The names a rule
  asks for are what the op saves: operands, ``result``, keyword parameters, or
  ``<operand>_shape``; a rule taking ``**params`` receives every keyword parameter.
  Nothing else is saved, so an in-place change to an operand a rule does not read is
  no error, as in PyTorch;
* ``view=True`` for ops whose result shares the operand's storage. A view remembers
  its base (the tensor owning the storage) and the chain of view ops that re-make it
  from the base (``_view_chain``), which in-place writes through views rely on.

In-place writes through a view (``apply_`` on a tensor with a ``_base``) follow
PyTorch's CopySlices scheme (``copy_slices.py``): the base's ``grad_fn`` becomes a node
routing the region of the view through the in-place op's backward and the rest
straight through; the view's ``grad_fn`` is then re-made from the base's.

Forward-mode (JVP) rules are derived, not declared, for elementwise ops: their
Jacobians are diagonal, so ``jvp = sum_i vjp_i(tangent_i)``.

The engine's part of every rule is done here, once: gradients are summed back over
broadcast dimensions and cast to the operand's dtype; saved tensors are
version-checked when unpacked and freed after backward.
"""

from __future__ import annotations

import inspect
import weakref
from types import MethodType
from typing import Callable, Sequence

import numpy as np
from numba.core.errors import NumbaError

from kernels.cpu import elementwise as ew

from .. import profiler as _profiler
from ..autograd.anomaly import is_anomaly_enabled, record_trace
from ..autograd.engine import gradient_edge
from ..autograd.grad_mode import is_grad_enabled
from ..autograd.graph import Node, SavedTensor, freed_error
from ..tensor import Tensor
from .checks import kernel_failure


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


class OpNode(Node):
    """The backward node of a declared Op; its class (named like ``MulBackward0``) knows the op."""

    __slots__ = ("_saved", "_params", "_meta")
    op: "Op"

    def apply(self, grads: list) -> tuple:
        saved = self._saved
        if saved is None:
            raise freed_error()
        grad = grads[0]
        edges, meta, out = self.next_functions, self._meta, []
        for i, (rule, names) in enumerate(self.op._rules):
            if rule is None or edges[i][0] is None:
                out.append(None)
                continue
            if names:
                kwargs = {}
                for name, kind, where in names:
                    if kind == _ALL:
                        kwargs.update(self._params)
                    elif kind == _SAVED:
                        value = saved[name]
                        kwargs[name] = value.unpack(self) if type(value) is SavedTensor else value
                    elif kind == _SHAPE:
                        kwargs[name] = meta[where][0]
                    elif name in self._params:  # else the rule's default applies
                        kwargs[name] = self._params[name]
                gi = rule(grad, **kwargs)
            else:
                gi = rule(grad)
            data = gi._data
            shape, np_dtype = meta[i]
            if data.shape != shape:
                gi = gi.sum_to_size(shape)
            if data.dtype != np_dtype:
                gi = gi.to(np_dtype)
            out.append(gi)
        return out

    def release(self) -> None:
        if self._saved:
            self._saved = None


_SAVED, _SHAPE, _PARAM, _ALL = range(4)


class Op:
    """A differentiable operation: forward kernel call plus one backward rule per operand."""

    def __init__(self, name: str, inputs: Sequence[str], forward: Callable,
                 vjp: Sequence[Callable | None] = (), view: bool = False,
                 node_name: str | None = None) -> None:
        self.name = name
        self.inputs = tuple(inputs)
        self.forward = forward
        self.vjps = tuple(vjp) + (None,) * (len(self.inputs) - len(vjp))
        self.vjp_args = tuple(
            tuple("**" if p.kind is p.VAR_KEYWORD else n
                  for n, p in inspect.signature(r).parameters.items())[1:] if r is not None else ()
            for r in self.vjps
        )
        self.saves = {n for args in self.vjp_args for n in args
                      if n in self.inputs or n == "result"}
        self._save_inputs = [(n, self.inputs.index(n)) for n in sorted(self.saves) if n != "result"]
        self._save_result = "result" in self.saves
        self._rules = [(rule, [self._classify(n) for n in names])
                       for rule, names in zip(self.vjps, self.vjp_args)]
        self.differentiable = any(r is not None for r in self.vjps)
        signature = inspect.signature(forward).parameters.values()
        # the forward's parameters after the operands, so that positional ones (x.sum(1))
        # are recorded by name for the backward rules, as keyword ones are
        self._param_names = () if any(p.kind is p.VAR_POSITIONAL for p in signature) else tuple(
            p.name for p in signature)[len(self.inputs):]
        self.view = view
        self.node_cls = type(node_name or f"{_camel(name)}Backward0", (OpNode,),
                             {"__slots__": (), "op": self})

    def _classify(self, name: str) -> tuple:
        """Where a rule's argument comes from: saved tensors, an operand's shape, or parameters."""
        if name == "**":
            return name, _ALL, None
        if name in self.saves:
            return name, _SAVED, None
        if name.endswith("_shape") and name[:-6] in self.inputs:
            return name, _SHAPE, self.inputs.index(name[:-6])
        return name, _PARAM, None

    def __repr__(self) -> str:
        return f"<Op {self.name}>"

    def __get__(self, obj, objtype=None):
        """Ops double as Tensor methods: ``Tensor.exp = exp`` binds like a function."""
        return self if obj is None else MethodType(self, obj)

    def _bind(self, args: tuple, params: dict) -> tuple:
        """(operands, params) with positional parameters moved into params by name."""
        n = len(self.inputs)
        if len(args) <= n or not self._param_names:
            return args, params
        extra = args[n:]
        if len(extra) > len(self._param_names):
            raise TypeError(f"{self.name}() takes at most {n + len(self._param_names)} positional "
                            f"arguments but {len(args)} were given")
        named = dict(zip(self._param_names, extra))
        for name in named.keys() & params.keys():
            raise TypeError(f"{self.name}() got multiple values for argument '{name}'")
        return args[:n], {**named, **params}

    def __call__(self, *args, **params) -> Tensor:
        if _profiler.active and _profiler.intercept(self):  # a profile runs: time this call
            return _profiler.op_call(self, Op.__call__, args, params)
        args, params = self._bind(args, params)
        raw = [a._data if isinstance(a, Tensor) else a for a in args]
        try:
            data = self.forward(*raw, **params)
        except (NumbaError, SystemError) as e:  # never Numba's internals in the user's face
            raise kernel_failure(self.name, raw, params, e) from e
        if self.view:
            src = args[0]
            out = Tensor._make(data, version_counter=src._version_counter,
                               base=src._base if src._base is not None else src)
            out._view_chain = src._view_chain + ((self, params),)
        else:
            out = Tensor._make(data)
        if self.differentiable and data.dtype.kind == "f" and is_grad_enabled():
            for a in args:
                if isinstance(a, Tensor) and (a._requires_grad or a.grad_fn is not None):
                    self._record(out, args, params, [edge(a) for a in args])
                    if self.view:  # an in-place write through another view must update it
                        base = out._base
                        if base._views is None:
                            base._views = weakref.WeakSet()
                        base._views.add(out)
                    break
        return out

    def apply_(self, target: Tensor, *others, **params) -> Tensor:
        """The in-place form: ``target = op(target, *others)`` written into target's storage."""
        if _profiler.active and _profiler.intercept(self):  # a profile runs: time this call
            return _profiler.op_call(self, Op.apply_, (target,) + others, params)
        args, params = self._bind((target,) + others, params)
        record = self.differentiable and is_grad_enabled() and any(
            isinstance(a, Tensor) and a.requires_grad for a in args)
        through_view = False
        if record:
            _check_inplace_allowed(target)
            through_view = target._base is not None
            edges = [edge(a) for a in args]
            if self.saves.difference(("result",)):
                # rules read operands as they were before the write: the target (also when it
                # is passed again as another operand, as in y.mul_(y)) is saved as a copy
                old = target.clone()
                args = tuple(old if a is target else a for a in args)
        raw = [_no_partial_overlap(a._data, target._data) if isinstance(a, Tensor) else a
               for a in args]
        try:
            self.forward(*raw, out=target._data, **params)
        except (NumbaError, SystemError) as e:
            raise kernel_failure(self.name + "_", raw, params, e) from e
        target._version_counter[0] += 1
        if record:
            target._requires_grad = False
            self._record(target, args, params, edges)
            if through_view:
                from .copy_slices import rebase_view_write

                rebase_view_write(target)
        return target

    def _record(self, out: Tensor, args: tuple, params: dict, edges: list) -> None:
        node = self.node_cls()
        node.next_functions = tuple(edges)
        node._params = params
        node._meta = [(a._data.shape, a._data.dtype) if isinstance(a, Tensor) else (None, None)
                      for a in args]
        saved = {}
        for name, index in self._save_inputs:
            a = args[index]
            saved[name] = SavedTensor(a, is_output=False) if isinstance(a, Tensor) else a
        out.grad_fn = node
        out._output_nr = 0
        if self._save_result:
            saved["result"] = SavedTensor(out, is_output=True)
        node._saved = saved
        if is_anomaly_enabled():
            record_trace(node)


def edge(a) -> tuple:
    """The graph edge for operand ``a``; (None, 0) for numbers."""
    return gradient_edge(a) if isinstance(a, Tensor) else (None, 0)


def _check_inplace_allowed(target: Tensor) -> None:
    if target.grad_fn is None and target._requires_grad:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
    base = target._base
    if base is not None and base.grad_fn is None and base._requires_grad:
        raise RuntimeError(
            "a view of a leaf Variable that requires grad is being used in an in-place operation."
        )


def _no_partial_overlap(a: np.ndarray, target: np.ndarray) -> np.ndarray:
    """An operand that shares memory with the in-place target other than element-for-element is copied first."""
    if a is target or not np.may_share_memory(a, target):
        return a
    same = (a.__array_interface__["data"][0] == target.__array_interface__["data"][0]
            and a.strides == target.strides and a.shape == target.shape)
    return a if same else ew.copy(a)
