"""Elementwise ops: one declaration each, forward kernel beside backward rule.

The forward of every op here is the generated kernel of the same name in
``kernels.scalar_ops`` (``Op`` names its kernel); the backward rules are written with
differentiable ops, so they can be differentiated again. Fused backward kernels
(``tanh_backward``, ``sigmoid_backward``, ``threshold_backward``) are ops in their own
right, with their own rules, so the fast path and higher-order gradients coexist.

Result dtypes (``kind``): ``promote`` — torch.result_type of the operands;
``float`` — the same, but integers give the default float (``exp``, ``/``);
``bool`` — comparisons and logic, computed in the promoted dtype; ``nonbool`` — the
promoted dtype, but bool gives int64 (``square``, which torch computes as ``pow(x, 2)``).
"""

from __future__ import annotations

import math

import numpy as np

from kernels import scalar_ops

from .. import dtypes
from .. import profiler as _profiler  # noqa: F401  (its hook sits in Op.__call__)
from ..backends import backend_for, backend_of, contiguous, is_storage, storage_backend
from ..backends.layout import elementwise_strides
from ..tensor import Tensor
from .checks import check_not_bool, check_representable, check_tensors
from ..autograd.grad_mode import is_grad_enabled
from .op import Op, _check_inplace_allowed

# the public forms an op declares (``variants.py``): ``autodiff.exp``, ``x.exp()``, ``x.exp_()``
ALL = "function, method, inplace"
FUNCTION_AND_METHOD = "function, method"


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


def _promotion(kernel: str, kind: str, cond_arg: bool, vals: tuple) -> tuple:
    """(compute dtype, result dtype, broadcast shape) of an elementwise op's operands."""
    typed = vals[1:] if cond_arg else vals
    first = typed[0]
    if is_storage(first) and all(is_storage(v) and v.dtype == first.dtype for v in typed):
        compute = dtypes.from_numpy_dtype(first.dtype)  # no promotion needed
    else:
        compute = dtypes.result_type(typed)
    if kind == "float" and not compute.is_floating_point:
        compute = dtypes.get_default_dtype()
    if kind == "nonbool" and compute == dtypes.bool:
        compute = dtypes.int64
    result = dtypes.bool if kind == "bool" else compute
    shapes = [v.shape for v in vals if is_storage(v)]
    if not shapes:
        raise TypeError(f"{kernel}(): expected at least one Tensor operand, got "
                        + ", ".join(type(v).__name__ for v in vals))
    return compute, result, broadcast_shapes(*shapes)


def _metadata(kernel: str, kind: str, cond_arg: bool = False):
    """The metadata rule of an elementwise op: promoted dtype, broadcast shape."""

    def meta(*vals, out=None):
        _, result, shape = _promotion(kernel, kind, cond_arg, vals)
        if out is not None:
            _check_inplace_target(out, shape, result)
            return out
        return backend_for("meta").empty_strided(shape, elementwise_strides(shape, vals), result.np)

    return meta


def _forward(kernel: str, kind: str, cond_arg: bool = False):
    """The implementation of an elementwise op: promote, broadcast, allocate and run the
    kernel. (``Op.__call__`` first tries the backend's flat fast path.)"""

    def forward(*vals, out=None):
        be = backend_of(out) if out is not None else storage_backend(vals)
        compute, result, shape = _promotion(kernel, kind, cond_arg, vals)
        np_dt = compute.np
        operands = [_cast(be, v, np_dt) for v in (vals[1:] if cond_arg else vals)]
        if cond_arg:
            operands.insert(0, vals[0] if is_storage(vals[0]) else np.bool_(vals[0]))
        if out is None:  # laid out as torch lays it out: following the operands' strides
            out = be.empty_strided(shape, elementwise_strides(shape, vals), result.np)
        else:
            _check_inplace_target(out, shape, result)
            if not out.size:  # an empty target (maybe a read-only expanded view): nothing to write
                return out
        return be.elementwise(kernel, compute.name, out, *operands)

    return forward


def _cast(be, v, np_dt):
    """An operand in the compute dtype: arrays copied by the backend, numbers as NumPy scalars."""
    if is_storage(v):
        return v if v.dtype == np_dt else be.copy(v, np_dt)
    return np_dt.type(v)


def _check_inplace_target(out, shape: tuple, result: dtypes.dtype) -> None:
    if out.shape != shape:
        raise RuntimeError(
            f"output with shape {list(out.shape)} doesn't match the broadcast shape {list(shape)}"
        )
    target = dtypes.from_numpy_dtype(out.dtype)
    if not dtypes.can_cast(result, target):
        raise RuntimeError(
            f"result type {result.scalar_name} can't be cast to the desired output type {target.scalar_name}"
        )
    if out.size and (any(s == 0 and n > 1 for s, n in zip(out.strides, out.shape)) or not out.flags.writeable):
        raise RuntimeError(
            "unsupported operation: more than one element of the written-to tensor refers to a "
            "single memory location. Please clone() the tensor before performing the operation."
        )


def elementwise(name: str, inputs: str, vjp=(), kind: str = "promote", kernel: str | None = None,
                node_name: str | None = None, variants: str = "", expr: tuple[str, str] | None = None,
                no_bool: type | None = None, tensors_only: bool = False, int_division: bool = False) -> Op:
    """Declare an elementwise op whose forward is the generated kernel ``kernel`` (default: name).

    ``kind`` gives the result dtype: ``promote`` (torch.result_type of the operands),
    ``float`` (the same, but integers give the default float) or ``bool``. ``expr``
    (``("x", "x * x")``) defines the kernel's scalar expression where ``kernels.scalar_ops``
    does not have it yet; ``variants`` are the public forms (see ``variants.py``).
    ``no_bool``: the exception type torch raises for a bool tensor operand (None: bools are
    fine); ``tensors_only``: every operand must be a tensor (TypeError for a number, as torch);
    ``int_division``: an integer division by a zero divisor (the second operand) is torch's
    RuntimeError (Numba's integer ``%`` and ``//`` would return 0), so integer operands take
    the checked path."""
    names = tuple(n.strip() for n in inputs.split(","))
    kernel = kernel or name
    if expr is not None:
        scalar_ops.define(kernel, *expr)
    cond_arg = names[0] == "condition"
    forward = _forward(kernel, kind, cond_arg)
    if no_bool is not None or tensors_only:  # operands torch rejects for this op
        forward = _checked_operands(forward, name, names, no_bool, tensors_only)
    if int_division:
        forward = _checked_divisor(forward)
    takes = "f" if kind == "float" or int_division else "fiu" if no_bool is not None or kind == "nonbool" \
        else "fiub"  # the dtype kinds the flat kernels take (the rest go the checked way)
    flat = None if cond_arg else (kernel, kind == "bool", takes, not tensors_only)
    return Op(name, names, forward, vjp, node_name=node_name,
              meta=_metadata(kernel, kind, cond_arg), variants=variants, flat=flat)


def _checked_divisor(forward):
    def checked(self, other, **params):
        if _is_integer(self) and _is_integer(other) and _has_zero(other):
            raise RuntimeError("ZeroDivisionError")
        return forward(self, other, **params)
    return checked


def _is_integer(value) -> bool:
    kind = getattr(getattr(value, "dtype", None), "kind", None)
    return kind in ("i", "u", "b") if kind is not None else isinstance(value, int)


def _has_zero(value) -> bool:
    if not is_storage(value):
        return value == 0
    flat = contiguous(value).reshape(-1)
    return backend_of(value).index.count_nonzero(flat) < flat.size


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


def _with_alpha(op: Op) -> Op:
    """``alpha`` of add and sub (``torch.add(input, other, *, alpha=1)``): ``other`` is scaled
    by it first, in the forward and in the metadata rule; torch's errors for a floating alpha
    with integral operands and a bool alpha with others. The rules read ``alpha`` from the
    node's parameters."""
    scale, scale_meta = _forward("mul", "promote"), _metadata("mul", "promote")

    def scaled(rule, scale):
        def run(self, other, *, alpha=1, out=None):
            if alpha != 1 or type(alpha) is bool:
                result = _promotion(op.name, "promote", False, (self, other))[1]
                if isinstance(alpha, bool) and result != dtypes.bool:
                    raise RuntimeError("Boolean alpha only supported for Boolean results.")
                if isinstance(alpha, float) and not result.is_floating_point:
                    raise RuntimeError("For integral input tensors, argument alpha must not be a floating "
                                       "point number.")
                if not is_storage(other):
                    other = other * alpha
                elif result == dtypes.bool:  # True or False scales a bool as `and` does
                    other = other if alpha else scale(other, False)
                else:
                    other = scale(other, alpha)
            return rule(self, other, out=out)
        run.__name__ = run.__qualname__ = op.name  # (in Python's own argument errors)
        return run

    op.forward, op.meta = scaled(op.forward, scale), scaled(op.meta, scale_meta)
    return op


# ---- arithmetic ------------------------------------------------------------------------
add = _with_alpha(elementwise("add", "self, other", (lambda grad: grad,
                                                     lambda grad, alpha=1: grad if alpha == 1 else grad * alpha)))
sub = _with_alpha(elementwise("sub", "self, other", (lambda grad: grad,
                                                     lambda grad, alpha=1: -grad if alpha == 1 else grad * -alpha),
                              no_bool=RuntimeError))
mul = elementwise("mul", "self, other", (lambda grad, other: grad * other,
                                         lambda grad, self: grad * self), variants=ALL)
div = elementwise("div", "self, other", (lambda grad, other: grad / other,
                                         lambda grad, self, other: -grad * self / (other * other)),
                  kind="float", variants=ALL)


floor_divide = elementwise("floor_divide", "self, other", int_division=True, variants=ALL)
remainder = elementwise("remainder", "self, other", (
    lambda grad: grad, lambda grad, self, other: -grad * floor_divide(self, other)), int_division=True,
    variants=ALL)


def _reciprocal_forward(self, out=None):
    return div.forward(1, self, out=out)


# 1 / x on div's kernel; its rule reads the result only, so a later write to x is no error
reciprocal = Op("reciprocal", ("self",), _reciprocal_forward, (lambda grad, result: -grad * result * result,),
                meta=lambda self: div.meta(1, self), variants=ALL)
neg = elementwise("neg", "self", (lambda grad: -grad,), no_bool=RuntimeError, variants=ALL)
abs = elementwise("abs", "self", (lambda grad, self: grad * sign(self),),  # noqa: A001
                  no_bool=NotImplementedError, variants=ALL)
square = elementwise("square", "self", (lambda grad, self: grad * self * 2,), kind="nonbool", variants=ALL)


def _pow_grad_self(grad, self, exponent):
    # d/dx x**p = p * x**(p-1); where p == 0 the gradient is 0 (not 0 * inf at x == 0).
    if not isinstance(exponent, Tensor):
        return _zeros(grad) if exponent == 0 else grad * exponent * self ** (exponent - 1)
    return where(exponent == 0, 0.0, grad * exponent * self ** (exponent - 1))


def _pow_grad_exponent(grad, self, exponent, result):
    # d/dp x**p = x**p * log(x); taken as 0 where x == 0 and p >= 0 (PyTorch's convention;
    # for p < 0 it is inf * -inf = -inf there)
    if not isinstance(self, Tensor):
        return grad * result * math.log(self) if self != 0 else _zeros(grad)
    return where(logical_and(self == 0, exponent >= 0), 0.0, grad * result * log(self))


_pow_kernel = _forward("pow", "promote")
_pow_meta = _metadata("pow", "promote")


def _pow_forward(self, other, out=None):
    exps = other if is_storage(other) else np.asarray(other)
    bases = self if is_storage(self) else np.asarray(self)
    if is_storage(other) and exps.dtype.kind == bases.dtype.kind == "b":
        # a bool tensor exponent of a bool base (torch allows a Python bool exponent)
        raise NotImplementedError("\"pow\" not implemented for 'Bool'")
    if exps.dtype.kind in "iu" and bases.dtype.kind in "iub" and (exps < 0).any():
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    return _pow_kernel(self, other, out=out)


pow = Op("pow", ("self", "exponent"), _pow_forward, (_pow_grad_self, _pow_grad_exponent),  # noqa: A001
         meta=_pow_meta, variants=ALL)

# ---- transcendental ----------------------------------------------------------------------
exp = elementwise("exp", "self", (lambda grad, result: grad * result,), kind="float", variants=ALL)
log = elementwise("log", "self", (lambda grad, self: grad / self,), kind="float", variants=ALL)
log1p = elementwise("log1p", "self", (lambda grad, self: grad / (self + 1),), kind="float", variants=ALL)
expm1 = elementwise("expm1", "self", (lambda grad, result: grad * (result + 1),), kind="float", variants=ALL)
sqrt = elementwise("sqrt", "self", (lambda grad, result: grad / (result * 2),), kind="float", variants=ALL)
rsqrt = elementwise("rsqrt", "self", (lambda grad, result: grad * result * result * result * -0.5,),
                    kind="float", variants=ALL)
sin = elementwise("sin", "self", (lambda grad, self: grad * cos(self),), kind="float", variants=ALL)
cos = elementwise("cos", "self", (lambda grad, self: -(grad * sin(self)),), kind="float", variants=ALL)
erf = elementwise("erf", "self", (lambda grad, self: grad * exp(-(self * self)) * (2 / math.sqrt(math.pi)),),
                  kind="float", variants=ALL)
tanh_backward = elementwise("tanh_backward", "grad_output, output", (
    lambda grad, output: tanh_backward(grad, output),
    lambda grad, grad_output, output: grad * grad_output * output * -2,
))
sigmoid_backward = elementwise("sigmoid_backward", "grad_output, output", (
    lambda grad, output: sigmoid_backward(grad, output),
    lambda grad, grad_output, output: grad * grad_output * (1 - output * 2),
))
tanh = elementwise("tanh", "self", (lambda grad, result: tanh_backward(grad, result),), kind="float", variants=ALL)
sigmoid = elementwise("sigmoid", "self", (lambda grad, result: sigmoid_backward(grad, result),),
                      kind="float", variants=ALL)

# ---- activations -------------------------------------------------------------------------
threshold_backward = elementwise("threshold_backward", "grad_output, self", (
    lambda grad, self: threshold_backward(grad, self),
    lambda grad: _zeros(grad),
))
relu = elementwise("relu", "self", (lambda grad, result: threshold_backward(grad, result),),
                   no_bool=RuntimeError, variants=ALL)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)


def _gelu_backward_grad_self(grad, grad_output, self):
    """d/dx of grad_output * (cdf(x) + x * pdf(x)) = grad_output * pdf(x) * (2 - x * x)."""
    return grad * grad_output * exp(self * self * -0.5) * _INV_SQRT_2PI * (2 - self * self)


# GELU's gradient g * (cdf(x) + x * pdf(x)) in one kernel (instead of nine ops)
gelu_backward = elementwise("gelu_backward", "grad_output, self", (
    lambda grad, self: gelu_backward(grad, self),
    _gelu_backward_grad_self,
), kind="float")


def _silu_grad(grad, self):
    s = sigmoid(self)
    return grad * s * (self * (1 - s) + 1)


gelu = elementwise("gelu", "self", (lambda grad, self: gelu_backward(grad, self),), kind="float")
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
), variants=ALL)
clamp_max = elementwise("clamp_max", "self, max", (
    lambda grad, self, max: where(self <= max, grad, 0.0),
    lambda grad, self, max: where(self > max, grad, 0.0),
), variants=ALL)
_clamp_both = elementwise("clamp", "self, min, max", (
    lambda grad, self, min, max: where(logical_and(self >= min, self <= max), grad, 0.0),
    # where min > max the result is max everywhere: the gradient goes to max (as in PyTorch)
    lambda grad, self, min, max: where(logical_and(self < min, min < max), grad, 0.0),
    lambda grad, self, min, max: where(logical_or(self > max, max < min), grad, 0.0),
))
_nan_to_num = elementwise("nan_to_num", "self, nan, posinf, neginf", (
    lambda grad, self, nan, posinf, neginf: where(isfinite(self), grad, 0.0),
))
sign = elementwise("sign", "self", (_zeros,), variants=ALL)
floor = elementwise("floor", "self", (_zeros,), no_bool=NotImplementedError, variants=ALL)
ceil = elementwise("ceil", "self", (_zeros,), no_bool=NotImplementedError, variants=ALL)
round = elementwise("round", "self", (_zeros,), no_bool=NotImplementedError, variants=ALL)  # noqa: A001


def _max_grad(grad, self, other):
    # ties split the gradient evenly between the operands; where either is NaN (no order)
    # both get it, as in PyTorch: grad unless self < other, halved where they are equal
    return grad * (logical_not(self < other) * 1.0 - (self == other) * 0.5)


maximum = elementwise("maximum", "self, other", (
    _max_grad, lambda grad, self, other: _max_grad(grad, other, self)), tensors_only=True, variants=FUNCTION_AND_METHOD)
minimum = elementwise("minimum", "self, other", (
    lambda grad, self, other: _max_grad(grad, other, self), _max_grad), tensors_only=True, variants=FUNCTION_AND_METHOD)
_where = elementwise("where", "condition, self, other", (
    None,
    lambda grad, condition: where(condition, grad, 0.0),
    lambda grad, condition: where(condition, 0.0, grad),
))

def _copy_forward(self, src, out, overlap_ok: bool = False):
    """Write ``src`` (broadcast, cast to the target's dtype) into ``out``: copy_, and fill_
    (``overlap_ok``: every element gets the one value, so an expanded target is fine)."""
    target = dtypes.from_numpy_dtype(out.dtype)
    if is_storage(src):
        if broadcast_shapes(out.shape, src.shape) != out.shape:
            raise RuntimeError(f"output with shape {list(out.shape)} doesn't match the broadcast "
                               f"shape {list(broadcast_shapes(out.shape, src.shape))}")
        if target is dtypes.bool and src.dtype.kind != "b":
            src = ne(src, 0)._data
    else:
        check_representable(src, out.dtype)
        src = target.np.type(bool(src) if target is dtypes.bool else src)
    if not overlap_ok:
        _check_inplace_target(out, out.shape, target)
    if not out.size:  # an empty target (maybe a read-only expanded view): nothing to write
        return out
    return backend_of(out).elementwise("copy", out.dtype, out, src)


def _copy_meta(self, src, out=None):
    out = self if out is None else out  # (an in-place op on the meta device writes into self)
    if is_storage(src) and broadcast_shapes(out.shape, src.shape) != out.shape:
        raise RuntimeError(f"output with shape {list(out.shape)} doesn't match the broadcast "
                           f"shape {list(broadcast_shapes(out.shape, src.shape))}")
    return out


copy_op = Op("copy_", ("self", "src"), _copy_forward, (_zeros, lambda grad: grad),
             node_name="CopyBackwards", meta=_copy_meta)


def copy_(self, src):
    """``self.copy_(src)``; a tensor copied into itself changes nothing and torch returns
    before its overlap checks (also for an expanded one): only the version moves on. A
    source on another device is moved first (differentiably, as torch copies across devices)."""
    if src is not self:
        if isinstance(src, Tensor) and src.device != self.device:
            src = src.to(self.device)
        return copy_op.apply_(self, src)
    if is_grad_enabled() and self.requires_grad:
        _check_inplace_allowed(self)
    self._version_counter[0] += 1
    return self


def _fill_forward(self, value, out):
    if is_storage(value) and value.ndim:
        raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with {value.ndim} "
                           "dimensions.")
    return _copy_forward(self, value, out, overlap_ok=True)


fill_op = Op("fill_", ("self", "value"), _fill_forward, (_zeros, lambda grad: grad),
             node_name="FillBackward0", meta=_copy_meta)
fill_op.internal_overlap_ok = True

# ---- comparison and logic (no gradient) --------------------------------------------------
eq = elementwise("eq", "self, other", kind="bool", variants=FUNCTION_AND_METHOD)
ne = elementwise("ne", "self, other", kind="bool", variants=FUNCTION_AND_METHOD)
lt = elementwise("lt", "self, other", kind="bool", variants=FUNCTION_AND_METHOD)
le = elementwise("le", "self, other", kind="bool", variants=FUNCTION_AND_METHOD)
gt = elementwise("gt", "self, other", kind="bool", variants=FUNCTION_AND_METHOD)
ge = elementwise("ge", "self, other", kind="bool", variants=FUNCTION_AND_METHOD)
isnan = elementwise("isnan", "self", kind="bool", variants=FUNCTION_AND_METHOD)
isfinite = elementwise("isfinite", "self", kind="bool", variants=FUNCTION_AND_METHOD)
isinf = elementwise("isinf", "self", kind="bool", variants=FUNCTION_AND_METHOD)
isposinf = elementwise("isposinf", "self", kind="bool", variants=FUNCTION_AND_METHOD)
isneginf = elementwise("isneginf", "self", kind="bool", variants=FUNCTION_AND_METHOD)
logical_not = elementwise("logical_not", "self", kind="bool", variants=FUNCTION_AND_METHOD)
logical_and = elementwise("logical_and", "self, other", kind="bool", variants=FUNCTION_AND_METHOD)
logical_or = elementwise("logical_or", "self, other", kind="bool", variants=FUNCTION_AND_METHOD)
logical_xor = elementwise("logical_xor", "self, other", kind="bool", variants=FUNCTION_AND_METHOD)
_bitwise_not = elementwise("bitwise_not", "self")


def where(condition, input, other):
    """``input`` where ``condition`` is True, else ``other`` (both broadcast)."""
    return _where(condition, input, other)


def clamp_bounds(min, max):
    """``(min, max)`` as torch binds them: both numbers or both tensors (either may be None).

    Next to a number, a 0-d tensor that needs no grad binds as a number (torch's argument
    parser converts it); any other mix is torch's TypeError.
    """
    if min is None or max is None or isinstance(min, Tensor) == isinstance(max, Tensor):
        return min, max

    def number(b):
        if isinstance(b, Tensor) and b.dim() == 0 and not b.requires_grad:
            return b.item()
        return b

    min, max = number(min), number(max)
    if isinstance(min, Tensor) != isinstance(max, Tensor):
        kind = {True: "Tensor", False: None}
        raise TypeError(
            "clamp() received an invalid combination of arguments - got (Tensor, "
            f"max={kind[isinstance(max, Tensor)] or type(max).__name__}, "
            f"min={kind[isinstance(min, Tensor)] or type(min).__name__}), but expected one of:\n"
            " * (Tensor input, Tensor min = None, Tensor max = None, *, Tensor out = None)\n"
            " * (Tensor input, Number min = None, Number max = None, *, Tensor out = None)\n")
    return min, max


def clamp(input, min=None, max=None):
    """Clamp to ``[min, max]``; either bound may be None, a number or a tensor (not one of each)."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    min, max = clamp_bounds(min, max)
    if max is None:
        return clamp_min(input, min)
    if min is None:
        return clamp_max(input, max)
    return _clamp_both(input, min, max)


clip = clamp


def nan_bounds(input, nan: float, posinf, neginf) -> tuple:
    """nan_to_num's replacements for a float ``input``: posinf/neginf default to its dtype's
    largest and lowest finite values."""
    info = np.finfo(input.dtype.np)
    return nan, info.max if posinf is None else posinf, info.min if neginf is None else neginf


def nan_to_num(input, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None):
    """NaN, +inf and -inf replaced by ``nan``, ``posinf`` and ``neginf``; the gradient passes
    where the input is finite (0 elsewhere), as torch's. An integer or bool tensor has none:
    a copy of it comes back."""
    if not input.dtype.is_floating_point:
        return input.clone()
    return _nan_to_num(input, *nan_bounds(input, nan, posinf, neginf))


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
