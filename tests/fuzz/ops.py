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

OPS.update({
    "join.cat": _func("cat"), "join.stack": _func("stack"),
    "loss.cross_entropy": _functional("cross_entropy"), "loss.nll_loss": _functional("nll_loss"),
})


def _embedding(lib, indices, weight, **kwargs):
    """F.embedding, and the weight after it (``max_norm`` renormalises rows in place)."""
    out = F(lib).embedding(indices, weight, **kwargs)
    return out, weight.detach().clone()


OPS["nn.embedding"] = _embedding


def _dropout(lib, x, p, training, inplace):
    """F.dropout, reduced to what does not depend on the random mask: the output itself where
    it is deterministic (not training, p = 0 or 1), else whether every element is 0 or x/(1-p)."""
    if inplace:
        x = x.clone()
    before = x.detach().clone()
    y = F(lib).dropout(x, p=p, training=training, inplace=inplace)
    if not training or p in (0, 1) or y.numel() == 0:
        return y
    y, scaled = y.detach(), before / (1 - p)
    kept = ((y - scaled).abs() <= scaled.abs() * 1e-5) | (y.isnan() & scaled.isnan())
    return kept | (y == 0), lib.tensor(list(y.shape), dtype=lib.int64)


OPS["nn.dropout"] = _dropout


def _optimize(lib, name, arrays, kwargs, layout, steps):
    """Optimizer ``name`` (``kwargs``) over parameters made from ``arrays``, arranged as
    ``layout`` says (see test_fuzz_optim), for ``steps`` steps of a fixed quadratic loss; then a
    state_dict round trip into a fresh optimizer and one more step. The parameters are the result."""
    params = [lib.nn.Parameter(lib.tensor(a.copy())) for a in arrays]
    weights = [lib.tensor(((a * 7 + 3) % 5 - 2).astype(a.dtype)) for a in arrays]
    chosen = params
    if "dup" in layout and params:
        chosen = params + params[:1]
    if "frozen" in layout and params:
        params[-1].requires_grad_(False)
    if "nonleaf" in layout and params:
        chosen = [params[0] * 2] + params[1:]
    groups = chosen
    if "groups" in layout:
        groups = [{"params": chosen[:1]}, {"params": chosen[1:], "lr": 0.05}]
    if "single" in layout and params:
        groups = params[0]
    opt = getattr(lib.optim, name)(groups, **kwargs)

    def step(o):
        o.zero_grad()
        loss = None
        for p, w in zip(params, weights):
            if p.requires_grad and p.numel():
                term = ((p - 0.5) * (p - 0.5) * w).sum()
                loss = term if loss is None else loss + term
        if loss is not None:
            loss.backward()
        if "nograd" in layout and params:
            params[0].grad = None
        o.step()

    for _ in range(steps):
        step(opt)
    again = getattr(lib.optim, name)(groups, **kwargs)
    again.load_state_dict(opt.state_dict())
    step(again)
    return [p.detach().clone() for p in params]


OPS["optim"] = _optimize


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
