"""The one mechanism behind every differentiable op, and the single dispatch point.

An ``Op`` is declared once with

* ``inputs``: names of its operands (``("self", "other")``, as in PyTorch's
  ``derivatives.yaml``); an operand may be a Tensor or a Python number;
* ``forward``: the implementation: a function of the operands' storage (the backend's
  arrays: NumPy on the CPU) or numbers, and the op's parameters, returning the result
  array (a tuple of arrays for a multi-output op). It calls kernels only through the
  backend of its operands (``backend_of(array)``); it may take ``out=`` to write in
  place;
* ``meta``: the metadata rule: a function of the same arguments, where arrays are
  anything with ``shape``/``dtype``/``strides`` (a ``MetaArray``), returning the
  result's ``MetaArray`` (or a tuple of them): output shapes, dtypes and, for views,
  strides. On the ``meta`` device it is all that runs; it must validate as the
  forward does;
* ``vjp``: one rule per operand, ``lambda grad, <names>: ...``, written with
  differentiable autodiff ops so that ``create_graph=True`` works. The names a rule
  asks for are what the op saves: operands, ``result``, keyword parameters, or
  ``<operand>_shape``; a rule taking ``**params`` receives every keyword parameter.
  Nothing else is saved, so an in-place change to an operand a rule does not read is
  no error, as in PyTorch. The rules are kept in the ``vjp`` table of ``rules.py``,
  where other transforms (jvp, batching) add their tables without editing ``Op``;
* ``outputs``: for a multi-output op, the names of its outputs; those listed in
  ``nondifferentiable`` (``indices``) never require grad. A rule of such an op gets
  ``grads``, one gradient per output (None where none flowed back), as ``grad``;
* ``view=True`` for ops whose result shares the operand's storage. A view remembers
  its base (the tensor owning the storage) and the chain of view ops that re-make it
  from the base (``_view_chain``), which in-place writes through views rely on;
* ``variants``: the public forms made from it (``"function"``, ``"method"``,
  ``"inplace"``), installed by ``variants.py``.

``Op.__call__`` is the only place that dispatches: it finds the operands' backend,
checks they share one device, then runs the implementation (or, on ``meta``, the
metadata rule) and records the backward node. An elementwise op's fast path, which its
operator methods (``x * w``) call directly, is part of it: ``flat_call``, made by the op
from its declaration, falls back to the same general path.

In-place writes through a view (``apply_`` on a tensor with a ``_base``) follow
PyTorch's CopySlices scheme (``copy_slices.py``): the base's ``grad_fn`` becomes a node
routing the region of the view through the in-place op's backward and the rest
straight through; the view's ``grad_fn`` is then re-made from the base's, and every
other view's is re-made when next read (the shared version counter moved).

The engine's part of every rule is done here, once: gradients are summed back over
broadcast dimensions and cast to the operand's dtype; saved tensors are
version-checked when unpacked and freed after backward.
"""

from __future__ import annotations

import inspect
from types import MethodType
from typing import Callable, Sequence

import numpy as np
from numba.core.errors import NumbaError

from .. import dtypes
from .. import profiler as _profiler
from ..autograd import anomaly
from ..autograd.anomaly import record_trace
from ..autograd.engine import gradient_edge
from ..autograd.grad_mode import state as grad_state
from ..autograd.graph import Node, SavedTensor, freed_error, move_retained
from ..backends import backend_of
from ..backends.base import _BY_STORAGE, FLAT_BY_STORAGE
from ..backends.meta import from_layout, layout_template
from ..tensor import Tensor, fresh
from . import rules
from .checks import kernel_failure
from .copy_slices import check_view_write, rebase_view_write, view_creation_meta


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
        grad = grads[0] if self.num_outputs == 1 else tuple(grads)
        edges, meta, out = self.next_functions, self._meta, []
        params = self._params
        for i, (rule, names, params_only) in enumerate(self.op._rules):
            if rule is None or edges[i][0] is None:
                out.append(None)
                continue
            if names and (params or not params_only):  # (no parameters given: the rule's defaults)
                kwargs = {}
                for name, kind, where in names:
                    if kind == _ALL:
                        kwargs.update(params)
                    elif kind == _SAVED:
                        value = saved[name]
                        kwargs[name] = value.unpack(self) if type(value) is SavedTensor else value
                    elif kind == _SHAPE:
                        kwargs[name] = meta[where][0]
                    elif name in params:  # else the rule's default applies
                        kwargs[name] = params[name]
                gi = rule(grad, **kwargs)
            else:
                gi = rule(grad)
            data = gi._data
            shape, np_dtype = meta[i]
            if data.shape != shape:
                gi = gi.sum_to_size(shape)
            if data.dtype is not np_dtype and data.dtype != np_dtype:  # (`is`: the cheap common case)
                gi = gi.to(np_dtype)
            out.append(gi)
        return out

    def release(self) -> None:
        if self._saved:
            self._saved = None

def _saved_property(key: str) -> property:
    """torch's ``grad_fn._saved_<key>``: what the node saved for a rule (None when no rule
    that will run needs it). A property per saved name of the op's node class, not a
    ``__getattr__``: a class with one loses CPython's fast attribute loads on every node."""

    def get(node: OpNode):
        if node._saved is None:
            raise freed_error()
        value = node._saved.get(key)
        return value.unpack(node) if type(value) is SavedTensor else value

    return property(get)


_SAVED, _SHAPE, _PARAM, _ALL = range(4)


class Op:
    """A differentiable operation: metadata rule, implementation, and one backward rule per operand."""

    # the in-place form refuses an operand sharing any memory with the target (index writes,
    # as torch); otherwise only a partial overlap is refused (``y.add_(y)`` is fine)
    no_overlap = False
    # the in-place form may write into a target whose elements overlap (an expand result), as
    # torch's fill_ (every element gets the one value) and index_put
    internal_overlap_ok = False

    def __init__(self, name: str, inputs: Sequence[str], forward: Callable,
                 vjp: Sequence[Callable | None] = (), view: bool = False,
                 node_name: str | None = None, meta: Callable | None = None,
                 outputs: Sequence[str] = ("result",), nondifferentiable: Sequence[str] = (),
                 variants: str | Sequence[str] = (), flat: tuple | None = None) -> None:
        self.name = name
        self.inputs = tuple(inputs)
        self._n_inputs = len(self.inputs)
        self._operand_keys = frozenset(self.inputs) | ({"input"} if "self" in self.inputs else set())
        self.forward = forward
        self.meta = meta if meta is not None or not view else _layout_rule(forward)
        self.outputs = tuple(outputs)
        self._multi = len(self.outputs) > 1
        # (kernel, result is bool, the dtype kinds it takes, numbers allowed): given by
        # ``elementwise`` for the fast path ``flat_call``
        self.flat = flat
        self._nondiff = tuple(o in nondifferentiable for o in self.outputs)
        self.view = view
        self.variants = tuple(v.strip() for v in variants.split(",")) if isinstance(variants, str) and variants \
            else tuple(variants)
        vjps = tuple(vjp) + (None,) * (len(self.inputs) - len(vjp))
        rules.vjp.define(self, vjps)
        self.vjp_args = tuple(
            tuple("**" if p.kind is p.VAR_KEYWORD else n
                  for n, p in inspect.signature(r).parameters.items())[1:] if r is not None else ()
            for r in vjps
        )
        self.saves = frozenset(n for args in self.vjp_args for n in args
                               if n in self.inputs or n in self.outputs)
        self._save_inputs = [(n, self.inputs.index(n)) for n in sorted(self.saves) if n in self.inputs]
        self._save_outputs = [(n, nr) for nr, n in enumerate(self.outputs) if n in self.saves]
        # what each operand's rule reads: a node saves only what the rules it will run need (as
        # torch, so a later write to a tensor no needed rule reads is no error)
        self._saves_for = tuple(frozenset(n for n in args if n in self.saves) for args in self.vjp_args)
        # (rule, where each argument comes from, whether they are all parameters)
        self._rules = []
        for rule, names in zip(vjps, self.vjp_args):
            classified = [self._classify(n) for n in names]
            self._rules.append((rule, classified, all(kind == _PARAM for _, kind, _ in classified)))
        self.differentiable = any(r is not None for r in vjps)
        # an elementwise op's call, also its operator methods (``x * w``, ``x.tanh()``)
        self.flat_call = _flat_path(self) if flat is not None else None
        signature = inspect.signature(forward).parameters.values()
        # the forward's parameters after the operands, so that positional ones (x.sum(1))
        # are recorded by name for the backward rules, as keyword ones are
        self._param_names = () if any(p.kind is p.VAR_POSITIONAL for p in signature) else tuple(
            p.name for p in signature)[len(self.inputs):]
        self.node_cls = type(node_name or f"{_camel(name)}Backward0", (OpNode,),
                             {"__slots__": (), "op": self, "num_outputs": len(self.outputs),
                              **{f"_saved_{n}": _saved_property(n) for n in self.saves}})
        if self.variants:  # its public forms, made from the declaration (variants.py imports Op)
            from .variants import install

            install(self)

    @property
    def vjps(self) -> tuple:
        return rules.vjp[self]

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
        n = self._n_inputs
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

    def _operands_by_name(self, args: tuple, params: dict) -> tuple:
        """(operands, params) with the operands given by keyword moved into the operands, as
        torch's signatures allow (``torch.mul(input=x, other=y)``): the declared names, and
        ``input`` for a first operand declared ``self``."""
        args, params = list(args), dict(params)
        for i, name in enumerate(self.inputs):
            given = [k for k in ((name, "input") if name == "self" else (name,)) if k in params]
            if i < len(args) or len(given) > 1:
                if given:
                    raise TypeError(f"{self.name}() got multiple values for argument '{given[-1]}'")
                continue
            if not given:
                break
            args.append(params.pop(given[0]))
        return tuple(args), params

    def __call__(self, /, *args, **params):
        """Run the op: an elementwise op's flat path (``flat_call``), else ``_call``."""
        if self.flat_call is not None:
            return self.flat_call(*args, **params)
        if _profiler.active and _profiler.intercept(self):  # a profile runs: time this call
            return _profiler.op_call(self, Op.__call__, args, params)
        return self._call(args, params)

    def _call(self, args: tuple, params: dict):
        """The general path: bind extra positional arguments, find the operands' backend (one
        device for all), run the forward, its layout rule (a view op on a layout backend) or
        its metadata rule (meta), and record the backward node."""
        if params and not self._operand_keys.isdisjoint(params):
            args, params = self._operands_by_name(args, params)
        if len(args) > self._n_inputs:
            args, params = self._bind(args, params)
        if not args:
            raise TypeError(f"{self.name}() missing 1 required positional argument: 'input'")
        first = args[0]
        raw, storage, tracked = [], None, False
        for a in args:
            if isinstance(a, Tensor):
                d = a._data
                if type(d) is not storage:
                    if storage is not None:
                        _device_mismatch(args)
                    storage = type(d)
                raw.append(d)
                tracked = tracked or a._requires_grad or a._grad_fn is not None or (
                    a._base is not None and a._base.requires_grad)
            else:
                raw.append(a)
        be = _BY_STORAGE[storage] if storage is not None else None
        if be is None or be.computes:
            try:
                data = self.forward(*raw, **params) if not (self.view and be.layout_views) \
                    else self._layout_view(be, raw, params)
            except (NumbaError, SystemError) as e:  # never Numba's internals in the user's face
                raise kernel_failure(self.name, raw, params, e) from e
        else:
            data = self._run_meta(raw, params)
        if self._multi:
            return self._wrap_outputs(data, args, params, tracked)
        out = self._view_of(first, data, params) if self.view else fresh(data)
        if tracked and self.differentiable and grad_state.enabled and data.dtype in dtypes.DIFFERENTIABLE_NP:
            self._record((out,), args, params, edges_of(args))
        return out

    def _layout_view(self, be, raw: list, params: dict):
        """A view op's result(s) on a backend whose views are layouts over one block: the
        metadata rule's layout (one per output of split/unbind/chunk) re-attached to it."""
        meta = self.meta(*raw, **params)
        if self._multi:
            return tuple(be.view_of(raw[0], m) for m in meta)
        return be.view_of(raw[0], meta)

    def _view_of(self, src: Tensor, data, params: dict, multi_output: bool = False) -> Tensor:
        """A view result: ``src``'s root base, version counter and view chain, plus this op."""
        out = fresh(data)  # (its fields set here: the keyword path of Tensor._make costs more)
        counter = out._version_counter = src._version_counter
        out._fn_version = counter[0]
        out._base = src._base if src._base is not None else src
        out._view_chain = src._view_chain + ((self, params),)
        out._creation_meta = view_creation_meta(src, multi_output)
        return out

    def _run_meta(self, raw: list, params: dict):
        if self.meta is None:
            raise NotImplementedError(f"{self.name}: this op has no metadata rule, so it cannot run "
                                      "on the 'meta' device")
        return self.meta(*raw, **params)

    def _wrap_outputs(self, data: tuple, args: tuple, params: dict, tracked: bool) -> tuple:
        """The tensors of a multi-output op; the differentiable ones share one backward node."""
        outs = [self._view_of(args[0], d, params, multi_output=True) if self.view else fresh(d)
                for d in data]
        if tracked and self.differentiable and grad_state.enabled and any(
                not nd and dtypes.is_differentiable(t.dtype) for t, nd in zip(outs, self._nondiff)):
            self._record(outs, args, params, edges_of(args))
        return tuple(outs)

    def apply_(self, target: Tensor, *others, **params) -> Tensor:
        """The in-place form: ``target = op(target, *others)`` written into target's storage."""
        if _profiler.active and _profiler.intercept(self):  # a profile runs: time this call
            return _profiler.op_call(self, Op.apply_, (target,) + others, params)
        args, params = self._bind((target,) + others, params)
        _check_same_device(args)
        be = backend_of(target._data)
        if not be.computes:
            self._run_meta([a._data if isinstance(a, Tensor) else a for a in args], params)
            target._version_counter[0] += 1
            return target
        _check_write_overlap(be, target, args[1:], self.no_overlap, self.internal_overlap_ok)
        record = self.differentiable and grad_state.enabled and any(
            isinstance(a, Tensor) and a.requires_grad for a in args)
        through_view = False
        if record:
            check_view_write(target)
            _check_inplace_allowed(target)
            through_view = target._base is not None
            edges = edges_of(args)
            old_fn, old_nr = target._grad_fn, target._output_nr  # current: edges_of re-made a view's
            needed = self._needed(edges)
            if needed.difference(self.outputs):
                # rules read the target as it was before the write: it is saved as a copy; the
                # target passed again as another operand (y.mul_(y)) is saved as itself, so
                # backward refuses it (it was written after being saved), as torch does
                args = (target.clone(),) + args[1:]
            node = self._node(args, params, edges, needed)
        raw = [_no_partial_overlap(a._data, target._data) if isinstance(a, Tensor) else a
               for a in args]
        try:
            self.forward(*raw, out=be.writable(target._data), **params)
        except (NumbaError, SystemError) as e:
            raise kernel_failure(self.name + "_", raw, params, e) from e
        target._version_counter[0] += 1
        if record:
            target._requires_grad = False
            self._attach(node, (target,), needed)
            move_retained(target, old_fn, old_nr)
            if through_view:
                rebase_view_write(target)
        return target

    def _record(self, outs: Sequence[Tensor], args: tuple, params: dict, edges: list,
                meta: Sequence[tuple] | None = None) -> None:
        """Make the backward node; it becomes the ``grad_fn`` of every differentiable output.
        ``meta``: the operands' (shape, dtype), where the caller knows them already."""
        needed = self._needed(edges) if self.saves else _NOTHING
        self._attach(self._node(args, params, edges, needed, meta), outs, needed)

    def _node(self, args: tuple, params: dict, edges: list, needed: frozenset,
              meta: Sequence[tuple] | None = None) -> OpNode:
        """The backward node, with the operands its rules read (``needed``, from ``_needed``)
        saved at their current version."""
        node = self.node_cls()
        node.next_functions = tuple(edges)
        node._params = params
        node._meta = meta if meta is not None else [
            (a._data.shape, a._data.dtype) if isinstance(a, Tensor) else (None, None) for a in args]
        saved = {}
        if needed:
            for name, index in self._save_inputs:
                if name in needed:
                    a = args[index]
                    saved[name] = SavedTensor(a, is_output=False) if isinstance(a, Tensor) else a
        node._saved = saved
        return node

    def _needed(self, edges) -> frozenset:
        """The saved names the rules of the operands that need a gradient read."""
        if not self.saves:
            return _NOTHING
        for fn, _ in edges:
            if fn is None:
                break
        else:  # the common case: every operand needs its gradient
            return self.saves
        needed = _NOTHING
        for names, (fn, _) in zip(self._saves_for, edges):
            if fn is not None:
                needed |= names
        return needed

    def _attach(self, node: OpNode, outs: Sequence[Tensor], needed: frozenset) -> None:
        """Make ``node`` the history of the differentiable outputs and save those its rules read."""
        if self._multi:
            for nr, (out, nondiff) in enumerate(zip(outs, self._nondiff)):
                if not nondiff:
                    out._grad_fn = node
                    out._output_nr = nr
        else:
            outs[0]._grad_fn = node
        if needed and self._save_outputs:
            for name, nr in self._save_outputs:
                if name in needed:
                    node._saved[name] = SavedTensor(outs[nr], is_output=True)
        if anomaly.state.enabled:
            record_trace(node)


_NOTHING = frozenset()


def _flat_path(op: Op) -> Callable:
    """The call of elementwise op ``op`` (``op.flat``): its backend's flat kernel where every
    operand is a tensor of the first one's storage type, dtype and shape that is C-contiguous
    ("a") or one value broadcast ("b": an expanded gradient), or a Python number that leaves
    that dtype alone ("s", passed as a scalar of that dtype: a float with a float tensor, an
    int with an int or float one); no promotion or broadcasting is then needed. Anything else
    (keyword arguments too) takes ``op._call``.

    It is a closure, not a method, so that it can be the Tensor method itself (``x * w`` calls
    it with no wrapper in between) and reads the op's fields as local cells; and it is written
    out, not in helpers, because it is the hot path of every small op (a Python call costs as
    much as the checks)."""
    name, result_bool, kinds, numbers = op.flat
    n_inputs = op._n_inputs
    records = op.differentiable and not result_bool

    def general(args: tuple, params: dict):
        if len(args) > n_inputs:  # (the forward takes any number of arrays)
            raise TypeError(f"{op.name}() takes {n_inputs} positional argument{'s' * (n_inputs > 1)} "
                            f"but {len(args)} were given")
        return op._call(args, params)

    def flat_call(*args, **params):
        if _profiler.active and _profiler.intercept(op):  # a profile runs: time this call
            return _profiler.op_call(op, Op.__call__, args, params)
        if params or len(args) != n_inputs or not isinstance(args[0], Tensor):
            return general(args, params)
        first = args[0]._data
        storage = type(first)
        run = FLAT_BY_STORAGE.get(storage)
        dt = first.dtype
        kind = dt.kind
        if run is None or kind not in kinds:
            return general(args, params)
        shape = first.shape
        # whether a node may be recorded: then "tracked" tells whether an operand needs grad
        record = records and grad_state.enabled and dt in dtypes.DIFFERENTIABLE_NP
        raw, mask, tracked = [], "", False
        for a in args:
            if isinstance(a, Tensor):
                d = a._data
                if type(d) is not storage or (d.dtype is not dt and d.dtype != dt) or d.shape != shape:
                    return general(args, params)
                if d.flags.c_contiguous:
                    mask += "a"
                elif d.size and not any(d.strides):
                    mask += "b"
                else:
                    return general(args, params)
                raw.append(d)
                if record and not tracked:  # (a view's base is a root: it is no view itself)
                    base = a._base
                    tracked = a._requires_grad or a._grad_fn is not None or (
                        base is not None and (base._requires_grad or base._grad_fn is not None))
            elif numbers and ((type(a) is float and kind == "f") or (type(a) is int and kind in "if")):
                raw.append(dt.type(a))
                mask += "s"
            else:
                return general(args, params)
        try:
            data = run(name, dt, mask, result_bool, raw)
        except (NumbaError, SystemError) as e:  # never Numba's internals in the user's face
            raise kernel_failure(op.name, raw, {}, e) from e
        out = fresh(data)
        if tracked:  # every tensor operand has the result's shape and dtype
            op._record((out,), args, {}, edges_of(args), ((shape, dt),) * len(args))
        return out

    flat_call.__name__ = flat_call.__qualname__ = op.name
    flat_call.__doc__ = op.__doc__
    return flat_call


def _layout_rule(forward: Callable) -> Callable:
    """The metadata rule of a view op: its forward applied to a layout-only template."""

    def meta(data, *rest, **params):
        template = layout_template(data)
        return from_layout(forward(template, *rest, **params), template, data)

    return meta


def edges_of(args) -> list:
    """The graph edge of each operand: ``gradient_edge`` of a tensor, (None, 0) for a number."""
    return [gradient_edge(a) if isinstance(a, Tensor) else _NO_EDGE for a in args]


_NO_EDGE = (None, 0)


def _device_mismatch(args) -> None:
    devices = []
    for a in args:
        if isinstance(a, Tensor) and a.device not in devices:
            devices.append(a.device)
    raise RuntimeError("Expected all tensors to be on the same device, but found at least two "
                       f"devices, {devices[0]} and {devices[1]}!")


def _check_same_device(args) -> None:
    storage = None
    for a in args:
        if isinstance(a, Tensor):
            if storage is not None and type(a._data) is not storage:
                _device_mismatch(args)
            storage = type(a._data)


def _check_inplace_allowed(target: Tensor) -> None:
    # torch's order and rule: a view that requires grad (also by its own requires_grad_())
    # of a leaf base, then a leaf that requires grad
    base = target._base
    if base is not None and base.grad_fn is None and (base._requires_grad or target.requires_grad):
        raise RuntimeError(
            "a view of a leaf Variable that requires grad is being used in an in-place operation."
        )
    if target.grad_fn is None and target._requires_grad:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")


_OVERLAP = ("unsupported operation: some elements of the input tensor and the written-to tensor refer "
            "to a single memory location. Please clone() the tensor before performing the operation.")
_INTERNAL_OVERLAP = ("unsupported operation: more than one element of the written-to tensor refers to a "
                     "single memory location. Please clone() the tensor before performing the operation.")


def _check_write_overlap(be, target: Tensor, operands, no_overlap: bool, internal_ok: bool = False) -> None:
    """torch's RuntimeErrors for an in-place write into a tensor whose elements overlap (an
    ``expand`` result) or whose storage an operand partly shares (``y[1:].copy_(y[:-1])``).
    Sharing a storage is sharing a version counter (views of one base), as in torch, where
    two tensors made from overlapping NumPy arrays are not aliases either."""
    out = target._data
    if not internal_ok and be.internal_overlap(out):
        raise RuntimeError(_INTERNAL_OVERLAP)
    for a in operands:
        if isinstance(a, Tensor) and a._version_counter is target._version_counter:
            # another tensor of the same array (detach) is compared as torch compares two
            # tensors of one storage, not as the same tensor
            status = be.memory_overlap(a._data if a is target or a._data is not out else out.view(), out)
            if status == "partial" or (status == "full" and no_overlap):
                raise RuntimeError(_OVERLAP)


def _no_partial_overlap(a: np.ndarray, target: np.ndarray) -> np.ndarray:
    """An operand sharing memory with the in-place target other than element-for-element (only
    layouts too irregular for the overlap check get here) is copied first."""
    if a is target or not np.may_share_memory(a, target):
        return a
    same = (a.__array_interface__["data"][0] == target.__array_interface__["data"][0]
            and a.strides == target.strides and a.shape == target.shape)
    return a if same else backend_of(a).copy(a)
