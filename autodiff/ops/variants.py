"""The public forms of an op, made from what the op declares (``Op(..., variants=...)``).

* ``"function"``: ``namespace[name] = op`` (``autodiff.exp``);
* ``"method"``: ``Tensor.<name>`` (``x.exp()``: ``fixed_method`` for an elementwise op, else
  the op itself, which binds like a function);
* ``"inplace"``: ``Tensor.<name>_``, running ``op.apply_`` (``x.exp_()``).

``Op.__init__`` calls ``install`` for an op that declares variants, so a new op gets all
three from its one declaration; ``autodiff/__init__.py`` exports every function form
(``EXPORTS``). The hand-written table of ``methods.py`` covers the methods that differ
from their functions (``add(alpha=)``, ``where`` with the condition first, size
arguments, aliases, operators).
"""

from __future__ import annotations

from functools import partial
from typing import MutableMapping

from ..tensor import Tensor
from .op import Op


def fixed_method(op: Op, reflected: bool = False):
    """The method (or operator) running an op of operands ``self`` or ``self, other`` and no
    parameters (``other`` first where ``reflected``). An elementwise op's ``flat_call`` is
    that method itself; otherwise it is a plain function of fixed arity calling ``Op.__call__``
    directly. The op itself would do as the method, but an Op instance binds through the
    Python-level ``Op.__get__`` and is called through its type's call slot, which every small
    op (and every operator in a backward rule) would pay."""
    if op.flat_call is not None and not reflected:
        return op.flat_call
    call = op.flat_call or partial(type(op).__call__, op)
    if len(op.inputs) == 1:
        def method(self):
            return call(self)
    elif reflected:
        def method(self, other):
            return call(other, self)
    else:
        def method(self, other):
            return call(self, other)
    method.__name__ = method.__qualname__ = op.name
    method.__doc__ = op.__doc__
    return method


def inplace_method(op: Op):
    """``Tensor.<name>_``: the op written into the tensor's own storage."""

    def method(self, *others, **params):
        return op.apply_(self, *others, **params)

    method.__name__ = method.__qualname__ = f"{op.name}_"
    method.__doc__ = f"In-place {op.name}."
    return method


# the function forms declared so far, by name: the package namespace takes them all
EXPORTS: dict[str, Op] = {}


def install(op: Op, namespace: MutableMapping[str, object] | None = EXPORTS) -> None:
    """Make the variants ``op`` declares: the function in ``namespace``, the Tensor methods."""
    for variant in op.variants:
        if variant == "function":
            if namespace is not None:
                namespace[op.name] = op
        elif variant == "method":
            # an elementwise op has no parameters; the second operand keeps its keyword (other=)
            fixed = op.flat is not None and op.inputs[1:] in ((), ("other",))
            setattr(Tensor, op.name, fixed_method(op) if fixed else op)
        elif variant == "inplace":
            setattr(Tensor, f"{op.name}_", inplace_method(op))
        else:
            raise ValueError(f"{op.name}: unknown variant {variant!r} (function, method or inplace)")
