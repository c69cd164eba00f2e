"""The ops the fuzz suite runs, each as ``fn(lib, *operands, **params)`` for lib = autodiff or torch.

Both libraries spell these the same way (that is the point of the public API); an entry
exists only to name the op and to reach ``lib.nn.functional`` or a method.
"""

from __future__ import annotations

from .cases import view_step


def F(lib):
    return lib.nn.functional


def _method(name):
    return lambda lib, x, *a, **k: getattr(x, name)(*a, **k)


def _func(name):
    return lambda lib, *a, **k: getattr(lib, name)(*a, **k)


def _functional(name):
    return lambda lib, *a, **k: getattr(F(lib), name)(*a, **k)


UNARY = ["exp", "log", "sqrt", "tanh", "sigmoid", "relu", "abs", "neg", "sin", "cos", "floor", "ceil",
         "sign", "square", "rsqrt", "log1p", "expm1", "erf"]
BINARY = ["add", "sub", "mul", "div", "pow", "maximum", "minimum", "eq", "lt", "ge"]
REDUCTIONS = ["sum", "mean", "amax", "amin", "argmax", "logsumexp", "softmax", "log_softmax", "cumsum",
              "prod"]
FULL_REDUCTIONS = ["sum", "mean", "max", "min", "prod"]
ACTIVATIONS = ["gelu", "silu", "softplus", "leaky_relu", "elu", "relu", "sigmoid", "tanh"]

OPS: dict = {}
OPS.update({f"unary.{n}": _func(n) for n in UNARY})
OPS.update({f"binary.{n}": _func(n) for n in BINARY})
OPS.update({f"reduce.{n}": _method(n) for n in REDUCTIONS})
OPS.update({f"full.{n}": _method(n) for n in FULL_REDUCTIONS})
OPS.update({f"act.{n}": _functional(n) for n in ACTIVATIONS})
OPS.update({
    "view.transpose": _method("transpose"), "view.flatten": _method("flatten"),
    "view.squeeze": _method("squeeze"), "view.unsqueeze": _method("unsqueeze"),
    "view.narrow": _method("narrow"), "view.permute": _method("permute"),
    "view.reshape": _method("reshape"),
    "index.gather": _method("gather"), "index.scatter": _method("scatter"),
    "index.scatter_add": _method("scatter_add"), "index.index_select": _method("index_select"),
    "index.index_add": _method("index_add"),
    "nn.linear": _functional("linear"), "nn.conv1d": _functional("conv1d"),
    "nn.conv2d": _functional("conv2d"), "nn.max_pool2d": _functional("max_pool2d"),
    "nn.avg_pool2d": _functional("avg_pool2d"), "nn.layer_norm": _functional("layer_norm"),
    "loss.mse_loss": _functional("mse_loss"), "loss.l1_loss": _functional("l1_loss"),
    "loss.smooth_l1_loss": _functional("smooth_l1_loss"), "loss.huber_loss": _functional("huber_loss"),
    "loss.binary_cross_entropy": _functional("binary_cross_entropy"),
    "matmul": _func("matmul"), "einsum": _func("einsum"),
    "clamp": _func("clamp"), "where": lambda lib, c, a, b: lib.where(c > 0, a, b),
})


def _inplace(lib, base, steps, op, value):
    """Write ``op`` with ``value`` into the view ``steps`` make of ``base`` (a clone of the
    leaf, so that gradients flow through the write); the whole base is the result."""
    base = base.clone()
    target = base
    for step in steps:
        target = view_step(target, step)
    if op == "setitem":
        target[...] = value
    elif op == "fill_":
        target.fill_(value)
    elif op == "zero_":
        target.zero_()
    elif op == "init.constant_":
        lib.nn.init.constant_(target, value)
    else:
        getattr(target, op)(value)
    return base


OPS["inplace"] = _inplace


def _inplace_masked(lib, base, steps, mask, value):
    base = base.clone()
    target = base
    for step in steps:
        target = view_step(target, step)
    target.masked_fill_(mask, value)
    return base


OPS["inplace_masked"] = _inplace_masked


def _abort(lib):
    """Kills the process: the harness's own test that a crash is reported, not fatal."""
    import os

    os.abort()


OPS["harness.abort"] = _abort
