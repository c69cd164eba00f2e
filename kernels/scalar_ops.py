"""The scalar functions behind every elementwise kernel, as expression templates.

Each entry maps an op name to ``(parameters, expression)``: Python source for one
element of the result. The CPU code generator (``kernels.cpu.elementwise``) pastes
the expression into its loop templates; a CUDA or fused-kernel generator can paste
the same text into its own templates. That is why these are strings and not
functions: one definition, many generated kernels.

Conventions inside an expression:

* ``T(c)`` is a constant of the kernel's compute dtype (``np.float32(0.5)`` in a
  float32 kernel) so float32 arithmetic stays float32;
* ``vm.name(x)`` is a vectorisable math function (``kernels.cpu.vmath`` on the CPU);
* ``np.`` is NumPy as Numba understands it.

Comparisons and NaN: expressions are written so NaN propagates (``x > y`` is False
for NaN, so the NaN operand is what falls through) as PyTorch does.
"""

from __future__ import annotations

SCALAR_OPS: dict[str, tuple[str, str]] = {
    # arithmetic
    "add": ("a, b", "a + b"),
    "sub": ("a, b", "a - b"),
    "mul": ("a, b", "a * b"),
    "div": ("a, b", "a / b"),
    "pow": ("a, b", "a ** b"),
    # Python's (torch's) modulo, the sign of the divisor's; a zero result keeps the dividend's
    # sign (torch's fmod-based rule: -0.0 % 1.5 is -0.0)
    "remainder": ("a, b", "(a % b) if (a % b) != 0 else T(0) * a"),
    "floor_divide": ("a, b", "a // b"),
    "neg": ("x", "-x"),
    "abs": ("x", "abs(x)"),
    "square": ("x", "x * x"),
    # transcendental
    "exp": ("x", "vm.exp(x)"),
    "log": ("x", "vm.log(x)"),
    "log1p": ("x", "vm.log1p(x)"),
    "expm1": ("x", "vm.expm1(x)"),
    "sqrt": ("x", "np.sqrt(x)"),
    "rsqrt": ("x", "T(1) / np.sqrt(x)"),
    "sin": ("x", "vm.sin(x)"),
    "cos": ("x", "vm.cos(x)"),
    "tanh": ("x", "vm.tanh(x)"),
    "sigmoid": ("x", "vm.sigmoid(x)"),
    "erf": ("x", "vm.erf(x)"),
    # activations
    "relu": ("x", "T(0) if x <= T(0) else x"),
    "gelu": ("x", "T(0.5) * x * (T(1) + vm.erf(x * T(0.7071067811865476)))"),
    "silu": ("x", "x * vm.sigmoid(x)"),
    "leaky_relu": ("x, slope", "x if x > T(0) else x * slope"),
    "elu": ("x, alpha", "x if x > T(0) else alpha * vm.expm1(x)"),
    "softplus": ("x, beta, threshold",
                 "x if x * beta > threshold else vm.log1p(vm.exp(x * beta)) / beta"),
    # fused backward kernels (each is an op with its own derivative in autodiff.ops)
    "tanh_backward": ("g, y", "g * (T(1) - y * y)"),
    "sigmoid_backward": ("g, y", "g * y * (T(1) - y)"),
    "threshold_backward": ("g, y", "T(0) if y <= T(0) else g"),  # NaN passes, as torch
    "gelu_backward": ("g, x", "g * (T(0.5) * (T(1) + vm.erf(x * T(0.7071067811865476)))"
                              " + x * T(0.3989422804014327) * vm.exp(x * x * T(-0.5)))"),
    # piecewise and rounding
    "clamp": ("x, lo, hi", "_clamp_max(_clamp_min(x, lo), hi)"),
    "clamp_min": ("x, lo", "_clamp_min(x, lo)"),
    "clamp_max": ("x, hi", "_clamp_max(x, hi)"),
    "sign": ("x", "T(1) if x > T(0) else (T(-1) if x < T(0) else T(0))"),  # sign(nan) = sign(-0) = 0, as torch
    "floor": ("x", "np.floor(x)"),
    "ceil": ("x", "np.ceil(x)"),
    "round": ("x", "np.rint(x)"),
    "maximum": ("a, b", "a if (a > b or a != a) else b"),
    "minimum": ("a, b", "a if (a < b or a != a) else b"),
    "where": ("c, a, b", "a if c else b"),
    "copy": ("x", "x"),
    # comparisons and logic (bool results)
    "eq": ("a, b", "a == b"),
    "ne": ("a, b", "a != b"),
    "lt": ("a, b", "a < b"),
    "le": ("a, b", "a <= b"),
    "gt": ("a, b", "a > b"),
    "ge": ("a, b", "a >= b"),
    "isnan": ("x", "x != x"),
    # x - x is 0 for a finite x (an integer's always) and NaN for an infinite or NaN one
    "isfinite": ("x", "x - x == x - x"),
    "isinf": ("x", "x == x and x - x != x - x"),
    "isposinf": ("x", "x > T(0) and x - x != x - x"),
    "isneginf": ("x", "x < T(0) and x - x != x - x"),
    "nan_to_num": ("x, nan, posinf, neginf",
                   "nan if x != x else ((posinf if x > T(0) else neginf) if x - x != x - x else x)"),
    "logical_not": ("x", "not x"),
    "logical_and": ("a, b", "bool(a) and bool(b)"),
    "logical_or": ("a, b", "bool(a) or bool(b)"),
    "logical_xor": ("a, b", "bool(a) != bool(b)"),
    "bitwise_and": ("a, b", "a & b"),
    "bitwise_or": ("a, b", "a | b"),
    "bitwise_xor": ("a, b", "a ^ b"),
    "bitwise_not": ("x", "~x"),
}

# Helpers the expressions may call; pasted into every generated module.
# ``_clamp_min(nan, lo)`` is nan because ``nan < lo`` is False; a NaN bound gives NaN, as
# in torch (``lo != lo`` is only true for NaN).
PRELUDE = '''
@njit(inline="always")
def _clamp_min(x, lo):
    return lo if (x < lo or lo != lo) else x


@njit(inline="always")
def _clamp_max(x, hi):
    return hi if (x > hi or hi != hi) else x
'''


def arity(name: str) -> int:
    """Number of operands of scalar op ``name``."""
    return len(SCALAR_OPS[name][0].split(","))


def define(name: str, params: str, expr: str) -> None:
    """Add the scalar expression of a new elementwise op (its kernels are generated on first use)."""
    known = SCALAR_OPS.get(name)
    if known is not None and known != (params, expr):
        raise ValueError(f"scalar op {name!r} is already defined as {known}")
    SCALAR_OPS[name] = (params, expr)
