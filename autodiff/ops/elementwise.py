"""Elementwise ops: one declaration each, forward kernel beside backward rule.

The forward of every op here is the generated kernel of the same name in
``kernels.scalar_ops`` (``Op`` names its kernel); the backward rules are written with
differentiable ops, so they can be differentiated again. Fused backward kernels
(``tanh_backward``, ``sigmoid_backward``, ``threshold_backward``) are ops in their own
right, with their own rules, so the fast path and higher-order gradients coexist.

Result dtypes (``kind``): ``promote`` — torch.result_type of the operands;
``float`` — the same, but integers give the default float (``exp``, ``/``);
``bool`` — comparisons and logic, computed in the promoted dtype.
"""

from __future__ import annotations

import math

import numpy as np

from kernels.cpu import elementwise as ew

from .. import dtypes
from .. import profiler as _profiler
from ..autograd.grad_mode import is_grad_enabled
from ..tensor import Tensor
from .checks import check_not_bool, check_representable, check_tensors
from .op import Op, edge


def broadcast_shapes(*shapes: tuple) -> tuple:
    """PyTorch's broadcasting of shapes; the error names the shapes and the dimension."""
    first = shapes[0]
    if all(s == first for s in shapes):
        return first
    ndim = max(len(s) for s in shapes)
    out = [1] * ndim
    for s in shapes:
        for i, n in enumerate(s, ndim - len(s)):
            if n != out[i] and n != 1:
                if out[i] != 1:
                    raise RuntimeError(
                        f"The size of tensor a ({out[i]}) must match the size of tensor b ({n}) at "
                        f"non-singleton dimension {i} (shapes "
                        + ", ".join(str(list(x)) for x in shapes) + " do not broadcast)"
                    )
                out[i] = n
    return tuple(out)


def _forward(kernel: str, kind: str, cond_arg: bool = False):
    """The forward of an elementwise op: promote, broadcast, allocate, run the kernel."""
    result_bool = kind == "bool"
    to_float = kind == "float"

    def forward(*vals, out=None):
        typed = vals[1:] if cond_arg else vals
        first = typed[0]
        if type(first) is np.ndarray and all(type(v) is np.ndarray and v.dtype == first.dtype
                                             for v in typed):
            compute = dtypes.from_numpy_dtype(first.dtype)  # no promotion needed
        else:
            compute = dtypes.result_type(typed)
        if to_float and not compute.is_floating_point:
            compute = dtypes.get_default_dtype()
        result = dtypes.bool if result_bool else compute
        np_dt = compute.np
        operands = [_cast(v, np_dt) for v in typed]
        if cond_arg:
            operands.insert(0, vals[0] if isinstance(vals[0], np.ndarray) else np.bool_(vals[0]))
        shapes = [o.shape for o in operands if isinstance(o, np.ndarray)]
        if not shapes:
            raise TypeError(f"{kernel}(): expected at least one Tensor operand, got "
                            + ", ".join(type(v).__name__ for v in vals))
        shape = broadcast_shapes(*shapes)
        if out is None:
            out = np.empty(shape, result.np)
        else:
            _check_inplace_target(out, shape, result)
        return ew.run(kernel, compute.name, out, *operands)

    return forward


def _cast(v, np_dt):
    if type(v) is np.ndarray:
        return v if v.dtype == np_dt else ew.copy(v, np_dt)
    return np_dt.type(v)


def _check_inplace_target(out: np.ndarray, shape: tuple, result: dtypes.dtype) -> None:
    if out.shape != shape:
        raise RuntimeError(
            f"output with shape {list(out.shape)} doesn't match the broadcast shape {list(shape)}"
        )
    target = dtypes.from_numpy_dtype(out.dtype)
    if not dtypes.can_cast(result, target):
        raise RuntimeError(
            f"result type {_type_name(result)} can't be cast to the desired output type {_type_name(target)}"
        )
    if out.size and (any(s == 0 and n > 1 for s, n in zip(out.strides, out.shape)) or not out.flags.writeable):
        raise RuntimeError(
            "unsupported operation: more than one element of the written-to tensor refers to a "
            "single memory location. Please clone() the tensor before performing the operation."
        )


def _type_name(d: dtypes.dtype) -> str:
    return {"float32": "Float", "float64": "Double", "int64": "Long", "bool": "Bool"}[d.name]


class ElementwiseOp(Op):
    """An Op whose forward is a generated elementwise kernel, with a fast call path.

    The common case — every operand a tensor of one dtype and shape that is C-contiguous
    or one broadcast value (passed as a scalar), or a Python number that leaves that dtype
    alone (a float with a float tensor, an int with an int or float tensor), no keyword
    parameters — runs the flat kernel directly,
    without promotion, broadcasting or the generic forward. Anything else takes
    ``Op.__call__`` and the general forward.
    """

    def __init__(self, name: str, inputs: tuple, kernel: str, kind: str, vjp, node_name=None,
                 no_bool: type | None = None, tensors_only: bool = False):
        cond_arg = inputs[0] == "condition"
        forward = _forward(kernel, kind, cond_arg)
        if no_bool is not None or tensors_only:  # operands torch rejects for this op
            forward = _checked_operands(forward, name, inputs, no_bool, tensors_only)
        super().__init__(name, inputs, forward, vjp, node_name=node_name)
        self._fast = not cond_arg
        self._no_bool = no_bool is not None
        self._numbers = not tensors_only
        self._kernel = kernel
        self._result_bool = kind == "bool"
        self._to_float = kind == "float"

    def __call__(self, *args, **params) -> Tensor:
        if _profiler.active and _profiler.intercept(self):  # a profile runs: time this call
            return _profiler.op_call(self, ElementwiseOp.__call__, args, params)
        first = args[0]
        if params or not self._fast or not isinstance(first, Tensor):
            return Op.__call__(self, *args, **params)
        data = first._data
        dt, shape, kind = data.dtype, data.shape, data.dtype.kind
        if (self._to_float and kind != "f") or (kind == "b" and self._no_bool):
            return Op.__call__(self, *args)
        flat = data.ndim == 1
        raw, mask, tracked = [], "", False
        for a in args:
            if isinstance(a, Tensor):
                d = a._data
                if d.dtype != dt or d.shape != shape:
                    return Op.__call__(self, *args)
                if d.flags.c_contiguous:
                    raw.append(d if flat else d.reshape(-1))
                    mask += "a"
                elif d.size and not any(d.strides):  # one value broadcast (an expanded grad)
                    raw.append(d.flat[0])
                    mask += "s"
                else:
                    return Op.__call__(self, *args)
                tracked = tracked or a._requires_grad or a.grad_fn is not None
            elif self._numbers and ((type(a) is float and kind == "f") or (type(a) is int and kind in "if")):
                raw.append(dt.type(a))
                mask += "s"
            else:
                return Op.__call__(self, *args)
        out = np.empty(shape, np.bool_ if self._result_bool else dt)
        kernels = ew.flat_kernels(self._kernel, dt, mask)
        kernels[out.size >= ew.PARALLEL_THRESHOLD](out if flat else out.reshape(-1), *raw)
        result = Tensor._make(out)
        if tracked and self.differentiable and not self._result_bool and is_grad_enabled():
            self._record(result, args, params, [edge(a) for a in args])
        return result


def elementwise(name: str, inputs: str, vjp=(), kind: str = "promote", kernel: str | None = None,
                node_name: str | None = None, no_bool: type | None = None,
                tensors_only: bool = False) -> Op:
    """Declare an elementwise op whose forward is the generated kernel ``kernel`` (default: name).
    ``no_bool``: the exception type torch raises for a bool tensor operand (None: bools are fine);
    ``tensors_only``: every operand must be a tensor (TypeError for a number, as torch)."""
    names = tuple(n.strip() for n in inputs.split(","))
    return ElementwiseOp(name, names, kernel or name, kind, vjp, node_name=node_name, no_bool=no_bool,
                         tensors_only=tensors_only)


def _checked_operands(forward, name: str, inputs: tuple, no_bool: type | None, tensors_only: bool):
    def checked(*vals, **params):
        if tensors_only:
            check_tensors(name, inputs, vals)
        if no_bool is not None:
            check_not_bool(name, vals, no_bool)
        return forward(*vals, **params)
    return checked


def _zeros(grad):
    return grad * 0


# ---- arithmetic ------------------------------------------------------------------------
add = elementwise("add", "self, other", (lambda grad: grad, lambda grad: grad))
sub = elementwise("sub", "self, other", (lambda grad: grad, lambda grad: -grad))
mul = elementwise("mul", "self, other", (lambda grad, other: grad * other,
                                         lambda grad, self: grad * self))
div = elementwise("div", "self, other", (lambda grad, other: grad / other,
                                         lambda grad, self, other: -grad * self / (other * other)),
                  kind="float")
neg = elementwise("neg", "self", (lambda grad: -grad,), no_bool=RuntimeError)
abs = elementwise("abs", "self", (lambda grad, self: grad * sign(self),), no_bool=NotImplementedError)  # noqa: A001
square = elementwise("square", "self", (lambda grad, self: grad * self * 2,))


def _pow_grad_self(grad, self, other):
    # d/dx x**p = p * x**(p-1); where p == 0 the gradient is 0 (not 0 * inf at x == 0).
    if not isinstance(other, Tensor):
        return _zeros(grad) if other == 0 else grad * other * self ** (other - 1)
    return where(other == 0, 0.0, grad * other * self ** (other - 1))


def _pow_grad_other(grad, self, other, result):
    # d/dp x**p = x**p * log(x); taken as 0 where x == 0 and p >= 0 (PyTorch's convention;
    # for p < 0 it is inf * -inf = -inf there)
    if not isinstance(self, Tensor):
        return grad * result * math.log(self) if self != 0 else _zeros(grad)
    return where(logical_and(self == 0, other >= 0), 0.0, grad * result * log(self))


_pow_kernel = _forward("pow", "promote")


def _pow_forward(self, other, out=None):
    exps = other if isinstance(other, np.ndarray) else np.asarray(other)
    bases = self if isinstance(self, np.ndarray) else np.asarray(self)
    if exps.dtype.kind in "iu" and bases.dtype.kind in "iub" and (exps < 0).any():
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    return _pow_kernel(self, other, out=out)


pow = Op("pow", ("self", "other"), _pow_forward, (_pow_grad_self, _pow_grad_other))  # noqa: A001

# ---- transcendental ----------------------------------------------------------------------
exp = elementwise("exp", "self", (lambda grad, result: grad * result,), kind="float")
log = elementwise("log", "self", (lambda grad, self: grad / self,), kind="float")
log1p = elementwise("log1p", "self", (lambda grad, self: grad / (self + 1),), kind="float")
expm1 = elementwise("expm1", "self", (lambda grad, result: grad * (result + 1),), kind="float")
sqrt = elementwise("sqrt", "self", (lambda grad, result: grad / (result * 2),), kind="float")
rsqrt = elementwise("rsqrt", "self", (lambda grad, result: grad * result * result * result * -0.5,),
                    kind="float")
sin = elementwise("sin", "self", (lambda grad, self: grad * cos(self),), kind="float")
cos = elementwise("cos", "self", (lambda grad, self: -(grad * sin(self)),), kind="float")
erf = elementwise("erf", "self", (lambda grad, self: grad * exp(-(self * self)) * (2 / math.sqrt(math.pi)),),
                  kind="float")
tanh_backward = elementwise("tanh_backward", "grad_output, output", (
    lambda grad, output: tanh_backward(grad, output),
    lambda grad, grad_output, output: grad * grad_output * output * -2,
))
sigmoid_backward = elementwise("sigmoid_backward", "grad_output, output", (
    lambda grad, output: sigmoid_backward(grad, output),
    lambda grad, grad_output, output: grad * grad_output * (1 - output * 2),
))
tanh = elementwise("tanh", "self", (lambda grad, result: tanh_backward(grad, result),), kind="float")
sigmoid = elementwise("sigmoid", "self", (lambda grad, result: sigmoid_backward(grad, result),),
                      kind="float")

# ---- activations -------------------------------------------------------------------------
threshold_backward = elementwise("threshold_backward", "grad_output, self", (
    lambda grad, self: threshold_backward(grad, self),
    lambda grad: _zeros(grad),
))
relu = elementwise("relu", "self", (lambda grad, result: threshold_backward(grad, result),),
                   no_bool=RuntimeError)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)


def _gelu_grad(grad, self):
    cdf = (erf(self * (1 / math.sqrt(2))) + 1) * 0.5
    pdf = exp(self * self * -0.5) * _INV_SQRT_2PI
    return grad * (cdf + self * pdf)


def _silu_grad(grad, self):
    s = sigmoid(self)
    return grad * s * (self * (1 - s) + 1)


gelu = elementwise("gelu", "self", (_gelu_grad,), kind="float")
leaky_relu = elementwise("leaky_relu", "self, negative_slope", (
    lambda grad, self, negative_slope: where(self > 0, grad, grad * negative_slope),
))
elu = elementwise("elu", "self, alpha", (
    lambda grad, self, result, alpha: where(self > 0, grad, grad * (result + alpha)),
), kind="float")
silu = elementwise("silu", "self", (_silu_grad,), kind="float")
softplus = elementwise("softplus", "self, beta, threshold", (
    lambda grad, self, beta, threshold: where(self * beta > threshold, grad, grad * sigmoid(self * beta)),
), kind="float")

# ---- piecewise, rounding, selection -------------------------------------------------------
clamp_min = elementwise("clamp_min", "self, min", (
    lambda grad, self, min: where(self >= min, grad, 0.0),
    lambda grad, self, min: where(self < min, grad, 0.0),
))
clamp_max = elementwise("clamp_max", "self, max", (
    lambda grad, self, max: where(self <= max, grad, 0.0),
    lambda grad, self, max: where(self > max, grad, 0.0),
))
_clamp_both = elementwise("clamp", "self, min, max", (
    lambda grad, self, min, max: where(logical_and(self >= min, self <= max), grad, 0.0),
    # where min > max the result is max everywhere: the gradient goes to max (as in PyTorch)
    lambda grad, self, min, max: where(logical_and(self < min, min < max), grad, 0.0),
    lambda grad, self, min, max: where(logical_or(self > max, max < min), grad, 0.0),
))
sign = elementwise("sign", "self", (_zeros,))
floor = elementwise("floor", "self", (_zeros,), no_bool=NotImplementedError)
ceil = elementwise("ceil", "self", (_zeros,), no_bool=NotImplementedError)
round = elementwise("round", "self", (_zeros,), no_bool=NotImplementedError)  # noqa: A001


def _max_grad(grad, self, other):
    # ties split the gradient evenly between the operands; where either is NaN (no order)
    # both get it, as in PyTorch: grad unless self < other, halved where they are equal
    return grad * (logical_not(self < other) - (self == other) * 0.5)


maximum = elementwise("maximum", "self, other", (
    _max_grad, lambda grad, self, other: _max_grad(grad, other, self)), tensors_only=True)
minimum = elementwise("minimum", "self, other", (
    lambda grad, self, other: _max_grad(grad, other, self), _max_grad), tensors_only=True)
_where = elementwise("where", "condition, self, other", (
    None,
    lambda grad, condition: where(condition, grad, 0.0),
    lambda grad, condition: where(condition, 0.0, grad),
))

def _copy_forward(self, src, out):
    """Write ``src`` (broadcast, cast to the target's dtype) into ``out``: copy_ and fill_."""
    target = dtypes.from_numpy_dtype(out.dtype)
    if isinstance(src, np.ndarray):
        if broadcast_shapes(out.shape, src.shape) != out.shape:
            raise RuntimeError(f"output with shape {list(out.shape)} doesn't match the broadcast "
                               f"shape {list(broadcast_shapes(out.shape, src.shape))}")
        if target is dtypes.bool and src.dtype.kind != "b":
            src = ne(src, 0)._data
    else:
        check_representable(src, out.dtype)
        src = target.np.type(bool(src) if target is dtypes.bool else src)
    _check_inplace_target(out, out.shape, target)
    return ew.run("copy", out.dtype.name, out, src)


copy_op = Op("copy_", ("self", "src"), _copy_forward, (_zeros, lambda grad: grad),
             node_name="CopyBackwards")

# ---- comparison and logic (no gradient) --------------------------------------------------
eq = elementwise("eq", "self, other", kind="bool")
ne = elementwise("ne", "self, other", kind="bool")
lt = elementwise("lt", "self, other", kind="bool")
le = elementwise("le", "self, other", kind="bool")
gt = elementwise("gt", "self, other", kind="bool")
ge = elementwise("ge", "self, other", kind="bool")
isnan = elementwise("isnan", "self", kind="bool")
logical_not = elementwise("logical_not", "self", kind="bool")
logical_and = elementwise("logical_and", "self, other", kind="bool")
logical_or = elementwise("logical_or", "self, other", kind="bool")
logical_xor = elementwise("logical_xor", "self, other", kind="bool")
_bitwise_not = elementwise("bitwise_not", "self")


def where(condition, input, other):
    """``input`` where ``condition`` is True, else ``other`` (both broadcast)."""
    return _where(condition, input, other)


def clamp(input, min=None, max=None):
    """Clamp to ``[min, max]``; either bound may be None, a number or a tensor."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if max is None:
        return clamp_min(input, min)
    if min is None:
        return clamp_max(input, max)
    return _clamp_both(input, min, max)


clip = clamp


def _bitwise(name: str):
    op = elementwise(name, "self, other")

    def fn(input, other):
        _check_bitwise(input, other)
        return op(input, other)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"{name} of bool or integer tensors."
    return fn


def _check_bitwise(*operands) -> None:
    for o in operands:
        d = getattr(o, "dtype", None)
        if d is not None and d.is_floating_point:
            raise RuntimeError(f"bitwise operations are only defined for bool and integer tensors, got {d}")


bitwise_and = _bitwise("bitwise_and")
bitwise_or = _bitwise("bitwise_or")
bitwise_xor = _bitwise("bitwise_xor")


def bitwise_not(input):
    """Bitwise NOT of an integer tensor; logical NOT of a bool tensor."""
    _check_bitwise(input)
    return logical_not(input) if input.dtype is dtypes.bool else _bitwise_not(input)
