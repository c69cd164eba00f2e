"""The op table: every differentiable op with the sample inputs it is tested on.

In the spirit of PyTorch's OpInfo. An ``OpInfo`` names the autodiff function and the
torch function computing the same thing, and how to draw sample operands: a list of
operand specs per sample, where a spec is a shape (a random tensor), ``Scalar(v)``
(a Python number), or ``NonContig(shape)`` (a strided view of a larger array). Values
are drawn from ``domain`` (kept away from kinks such as 0 for ``abs``). Generic tests in
``test_ops.py`` run each op over every sample: forward and gradients against torch
(float32 and float64), gradcheck and gradgradcheck (float64). Later ops join this table.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

import autodiff as ad
import autodiff.nn.functional as F


@dataclass(frozen=True)
class Scalar:
    value: float


@dataclass(frozen=True)
class NonContig:
    """A view with every other column of a (…, 2n) array: strided, not contiguous."""

    shape: tuple


@dataclass
class OpInfo:
    name: str
    fn: Callable
    ref: Callable
    samples: list
    domain: tuple = (-2.0, 2.0)
    away_from_zero: bool = False
    kwargs: dict = field(default_factory=dict)
    differentiable: bool = True
    gradgrad: bool = True

    def __str__(self) -> str:
        return self.name


UNARY = [[(3, 4)], [()], [(0, 3)], [NonContig((3, 4))], [(2, 3, 4)]]
CUBE = [[(3, 4, 5)], [NonContig((3, 4, 5))], [(3, 0, 5)]]
BINARY = [
    [(3, 4), (3, 4)],
    [(3, 4), (4,)],
    [(2, 1, 4), (3, 1)],
    [(), (3,)],
    [(0, 3), (3,)],
    [NonContig((3, 4)), (3, 4)],
    [(3, 4), Scalar(1.5)],
    [Scalar(-0.5), (2, 3)],
]


def draw(spec, dtype: np.dtype, info: OpInfo, rng: np.random.Generator):
    """The operand values for one spec: an array (possibly a strided view) or a number."""
    if isinstance(spec, Scalar):
        return spec.value
    shape = spec.shape if isinstance(spec, NonContig) else spec
    full = shape[:-1] + (shape[-1] * 2,) if isinstance(spec, NonContig) else shape
    lo, hi = info.domain
    values = rng.uniform(lo, hi, size=full)
    if info.away_from_zero:
        values = np.sign(values) * (np.abs(values) + 0.1)
    arr = np.asarray(values).astype(dtype)
    return arr[..., ::2] if isinstance(spec, NonContig) else arr


def _unary(name, domain=(-2.0, 2.0), away=False, ref=None, fn=None, **kw) -> OpInfo:
    return OpInfo(name, fn or getattr(ad, name), ref or getattr(torch, name), UNARY,
                  domain=domain, away_from_zero=away, **kw)


def _binary(name, domain=(-2.0, 2.0), away=False, ref=None, fn=None, samples=BINARY, **kw) -> OpInfo:
    return OpInfo(name, fn or getattr(ad, name), ref or getattr(torch, name), samples,
                  domain=domain, away_from_zero=away, **kw)


POSITIVE = (0.2, 3.0)

OPS = [
    _binary("add"), _binary("sub"), _binary("mul"),
    _binary("div", away=True),
    # a number dividend is in COMPARISONS: torch has no derivative of remainder(Scalar, Tensor)
    _binary("remainder", away=True, gradgrad=False, samples=BINARY[:7]),
    OpInfo("mod_operator", operator.mod, operator.mod, BINARY[:7], away_from_zero=True, gradgrad=False),
    _binary("pow", domain=(0.5, 2.0), samples=BINARY[:4] + BINARY[5:7] + [[Scalar(1.7), (2, 3)]]),
    OpInfo("pow_scalar_exponent", lambda x: x ** 3, lambda x: x ** 3, UNARY),
    OpInfo("pow_scalar_base", lambda x: 2.0 ** x, lambda x: 2.0 ** x, UNARY),
    _unary("neg"), _unary("abs", away=True), _unary("square"),
    _unary("exp"), _unary("log", domain=POSITIVE), _unary("log1p", domain=(-0.5, 2.0)),
    _unary("expm1"), _unary("sqrt", domain=POSITIVE), _unary("rsqrt", domain=POSITIVE),
    _unary("sin", domain=(-4.0, 4.0)), _unary("cos", domain=(-4.0, 4.0)),
    _unary("tanh"), _unary("sigmoid", domain=(-4.0, 4.0)), _unary("erf"),
    _unary("relu", away=True),
    _unary("gelu", fn=F.gelu, ref=torch.nn.functional.gelu),
    OpInfo("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"),
           lambda x: torch.nn.functional.gelu(x, approximate="tanh"), UNARY),
    _unary("silu", fn=F.silu, ref=torch.nn.functional.silu),
    OpInfo("softplus", F.softplus, torch.nn.functional.softplus, UNARY, domain=(-3.0, 3.0)),
    OpInfo("softplus_beta", lambda x: F.softplus(x, beta=2.0, threshold=1.0),
           lambda x: torch.nn.functional.softplus(x, beta=2.0, threshold=1.0), UNARY,
           domain=(-3.0, 3.0), away_from_zero=True),
    OpInfo("clamp", lambda x: ad.clamp(x, -0.5, 0.7), lambda x: torch.clamp(x, -0.5, 0.7), UNARY,
           away_from_zero=True),
    OpInfo("clamp_min", lambda x: ad.clamp(x, min=0.3), lambda x: torch.clamp(x, min=0.3), UNARY,
           away_from_zero=True),
    OpInfo("clamp_max", lambda x: x.clamp(max=-0.3), lambda x: x.clamp(max=-0.3), UNARY,
           away_from_zero=True),
    OpInfo("clamp_tensor_bounds", lambda x, lo, hi: ad.clamp(x, lo, hi),
           lambda x, lo, hi: torch.clamp(x, lo, hi),
           [[(3, 4), (4,), (3, 1)]], domain=(-2.0, 2.0)),
    _unary("sign", away=True), _unary("floor"), _unary("ceil"), _unary("round"),
    _binary("maximum", samples=BINARY[:6]), _binary("minimum", samples=BINARY[:6]),
    OpInfo("where", lambda x, y: ad.where(x > 0, x, y), lambda x, y: torch.where(x > 0, x, y),
           BINARY[:6], away_from_zero=True),
    OpInfo("sum", lambda x: x.sum(), lambda x: x.sum(), UNARY),
    OpInfo("mean", lambda x: x.mean(), lambda x: x.mean(), UNARY[:2] + UNARY[3:]),
    OpInfo("sum_dim", lambda x: x.sum(dim=-1), lambda x: x.sum(dim=-1), UNARY),
    OpInfo("sum_dims_keepdim", lambda x: x.sum(dim=(0, -1), keepdim=True),
           lambda x: x.sum(dim=(0, -1), keepdim=True), UNARY[:1] + UNARY[3:]),
    OpInfo("mean_dim", lambda x: x.mean(dim=0), lambda x: x.mean(dim=0), UNARY[:2] + UNARY[3:]),
    OpInfo("prod", lambda x: x.prod(), lambda x: x.prod(), UNARY, domain=(0.5, 1.5)),
    OpInfo("prod_dim", lambda x: x.prod(dim=-1), lambda x: x.prod(dim=-1), UNARY, domain=(0.5, 1.5)),
    OpInfo("prod_with_zeros", lambda x: (x * (x > 0.3)).prod(dim=0),
           lambda x: (x * (x > 0.3)).prod(dim=0), [[(4, 3)], [(5, 2)]], domain=(0.2, 1.5)),
    OpInfo("amax", lambda x: x.amax(dim=-1), lambda x: x.amax(dim=-1), UNARY[:2] + UNARY[3:]),
    OpInfo("amin_keepdim", lambda x: x.amin(dim=0, keepdim=True), lambda x: x.amin(dim=0, keepdim=True),
           UNARY[:2] + UNARY[3:]),
    OpInfo("max_full", lambda x: x.max(), lambda x: x.max(), UNARY[:2] + UNARY[3:]),
    OpInfo("max_dim", lambda x: x.max(dim=-1).values, lambda x: x.max(dim=-1).values, UNARY),
    OpInfo("min_dim", lambda x: x.min(dim=0, keepdim=True)[0], lambda x: x.min(dim=0, keepdim=True)[0],
           UNARY[:2] + UNARY[3:]),
    OpInfo("var", lambda x: x.var(dim=-1), lambda x: x.var(dim=-1), UNARY[:1] + UNARY[3:]),
    OpInfo("var_unbiased_false", lambda x: ad.var(x, unbiased=False), lambda x: torch.var(x, unbiased=False),
           UNARY[:1] + UNARY[3:]),
    OpInfo("std", lambda x: x.std(dim=0, correction=0), lambda x: x.std(dim=0, correction=0),
           UNARY[:1] + UNARY[3:]),
    OpInfo("norm", lambda x: x.norm(), lambda x: x.norm(), UNARY[:2] + UNARY[3:], away_from_zero=True),
    OpInfo("norm_dim", lambda x: ad.norm(x, dim=-1), lambda x: torch.norm(x, dim=-1), UNARY[:1] + UNARY[3:]),
    OpInfo("norm_p1", lambda x: ad.norm(x, p=1), lambda x: torch.norm(x, p=1), UNARY[:2], away_from_zero=True),
    OpInfo("norm_p3", lambda x: ad.norm(x, p=3, dim=0), lambda x: torch.norm(x, p=3, dim=0), UNARY[:1] + UNARY[3:],
           away_from_zero=True),
    OpInfo("norm_inf", lambda x: ad.norm(x, p=float("inf")), lambda x: torch.norm(x, p=float("inf")),
           UNARY[:2], away_from_zero=True),
    OpInfo("logsumexp", lambda x: x.logsumexp(dim=-1), lambda x: x.logsumexp(dim=-1), UNARY),
    OpInfo("softmax", lambda x: ad.softmax(x, dim=-1), lambda x: torch.softmax(x, dim=-1), UNARY),
    OpInfo("softmax_dim0", lambda x: x.softmax(dim=0), lambda x: x.softmax(dim=0), UNARY[:1] + UNARY[3:]),
    OpInfo("log_softmax", lambda x: ad.log_softmax(x, dim=-1), lambda x: torch.log_softmax(x, dim=-1), UNARY),
    OpInfo("log_softmax_dim0", lambda x: x.log_softmax(dim=0), lambda x: x.log_softmax(dim=0),
           UNARY[:1] + UNARY[3:]),
    OpInfo("cumsum", lambda x: x.cumsum(dim=-1), lambda x: x.cumsum(dim=-1), UNARY),
    OpInfo("cumsum_dim0", lambda x: x.cumsum(dim=0), lambda x: x.cumsum(dim=0), UNARY[:1] + UNARY[3:]),
    OpInfo("cumprod", lambda x: x.cumprod(dim=-1), lambda x: x.cumprod(dim=-1), UNARY, domain=(0.5, 1.5)),
    OpInfo("cumprod_with_zeros", lambda x: (x * (x > 0.4)).cumprod(dim=0),
           lambda x: (x * (x > 0.4)).cumprod(dim=0), [[(5, 3)], [(4, 2)]], domain=(0.2, 1.5)),
    OpInfo("matmul", lambda a, b: a @ b, lambda a, b: a @ b,
           [[(3, 4), (4, 2)], [(4,), (4,)], [(4,), (4, 3)], [(2, 4), (4,)], [(2, 3, 4), (4, 5)],
            [(2, 1, 3, 4), (3, 4, 2)], [NonContig((4, 3)), (3, 2)], [(0, 3), (3, 2)], [(2, 0), (0, 3)]]),
    OpInfo("matmul_transposed", lambda a, b: a.mT @ b.mT, lambda a, b: a.mT @ b.mT,
           [[(4, 3), (2, 4)], [(2, 4, 3), (2, 5, 4)]]),
    # attention's heads: (batch, tokens, heads * dim) viewed as (batch, heads, tokens, dim), the
    # heads interleaved along the rows, multiplied without a copy
    OpInfo("matmul_heads", lambda a, b: a.view(2, 3, 2, 4).transpose(1, 2) @ b.view(2, 3, 2, 4).permute(0, 2, 3, 1),
           lambda a, b: a.view(2, 3, 2, 4).transpose(1, 2) @ b.view(2, 3, 2, 4).permute(0, 2, 3, 1),
           [[(2, 3, 8), (2, 3, 8)]]),
    # three batch dims that no cut folds into two (reversed strides), against a broadcast one
    OpInfo("matmul_unfoldable_batch", lambda a, b: a.permute(2, 1, 0, 3, 4) @ b,
           lambda a, b: a.permute(2, 1, 0, 3, 4) @ b, [[(4, 3, 2, 3, 2), (2, 1, 4, 2, 3)]]),
    OpInfo("bmm", ad.bmm, torch.bmm, [[(2, 3, 4), (2, 4, 2)]]),
    OpInfo("mv", ad.mv, torch.mv, [[(3, 4), (4,)]]),
    OpInfo("dot", ad.dot, torch.dot, [[(5,), (5,)]]),
    OpInfo("outer", ad.outer, torch.outer, [[(3,), (4,)]]),
    OpInfo("addmm", lambda c, a, b: ad.addmm(c, a, b, beta=0.5, alpha=2.0),
           lambda c, a, b: torch.addmm(c, a, b, beta=0.5, alpha=2.0), [[(2, 3), (2, 4), (4, 3)], [(3,), (2, 4), (4, 3)]]),
    OpInfo("einsum_bmm", lambda a, b: ad.einsum("bij,bjk->bik", a, b),
           lambda a, b: torch.einsum("bij,bjk->bik", a, b), [[(2, 3, 4), (2, 4, 5)]]),
    OpInfo("einsum_mixed", lambda a, b: ad.einsum("ij,kjl->lki", a, b),
           lambda a, b: torch.einsum("ij,kjl->lki", a, b), [[(3, 4), (2, 4, 5)]]),
    OpInfo("einsum_sum_and_outer", lambda a, b: ad.einsum("ij,k", a, b),
           lambda a, b: torch.einsum("ij,k", a, b), [[(3, 4), (2,)]]),
    OpInfo("einsum_ellipsis_trace_free", lambda a, b: ad.einsum("...ij,...jk->...ik", a, b),
           lambda a, b: torch.einsum("...ij,...jk->...ik", a, b), [[(2, 3, 4), (2, 4, 3)]]),
    OpInfo("einsum_single", lambda a: ad.einsum("ijk->kj", a), lambda a: torch.einsum("ijk->kj", a),
           [[(2, 3, 4)]]),
    OpInfo("chain", lambda x, w: ((x * w + x).tanh() * 2 - w).sum(),
           lambda x, w: ((x * w + x).tanh() * 2 - w).sum(), BINARY[:6]),
    # ---- views, indexing and joining ----
    *[OpInfo(name, lambda *a, f=f: f(ad, *a), lambda *a, f=f: f(torch, *a), samples)
      for name, f, samples in [
        ("transpose", lambda m, x: x.transpose(0, -1), CUBE),
        ("permute", lambda m, x: x.permute(2, 0, 1), CUBE[:2]),
        ("movedim", lambda m, x: m.movedim(x, 0, -1), CUBE[:2]),
        ("t", lambda m, x: x.t(), [[(3, 4)], [NonContig((3, 4))], [(4,)], [()]]),
        ("mT", lambda m, x: x.mT, CUBE[:2]),
        ("unflatten", lambda m, x: x.unflatten(-1, (2, -1)), [[(3, 4)], [NonContig((3, 4))], [(0, 4)]]),
        ("narrow", lambda m, x: x.narrow(-1, 1, 2), CUBE),
        ("select", lambda m, x: m.select(x, 0, -1), CUBE),
        ("diagonal", lambda m, x: x.diagonal(1, -1, 0), CUBE[:2] + [[(3, 4)]]),
        ("unfold", lambda m, x: x.unfold(-1, 2, 1), CUBE[:2] + [[(5,)]]),
        ("as_strided", lambda m, x: m.as_strided(x, (3, 3), (1, 2), 1), [[(3, 4)], [(2, 6)]]),
        ("split", lambda m, x: m.cat(x.split([2, 3], -1)[::-1], -1), CUBE[:2]),
        ("chunk", lambda m, x: m.stack(x.chunk(2, 0)[0].unbind(1)), CUBE[:2]),
        ("broadcast_to", lambda m, x: m.broadcast_to(x, (2,) + x.shape), CUBE),
        ("getitem_basic", lambda m, x: x[1:, None, ..., ::2], CUBE[:2]),
        ("getitem_int", lambda m, x: x[-1, 2], CUBE[:2]),
        ("getitem_advanced", lambda m, x: x[[0, 2, 2], 1:, [1, 1, 0]], CUBE[:2]),
        ("getitem_apart", lambda m, x: x[m.tensor([[0], [1]]), :, m.tensor([2, 2, 3])], CUBE[:2]),
        ("getitem_mask", lambda m, x: x[x.detach() > 0], CUBE),
        ("index_select", lambda m, x: m.index_select(x, 1, m.tensor([0, 3, 3])), CUBE[:2]),
        ("index_add", lambda m, x, s: x.index_add(1, m.tensor([0, 0]), s, alpha=2), [[(3, 4, 5), (3, 2, 5)]]),
        ("index_copy", lambda m, x, s: x.index_copy(1, m.tensor([3, 0]), s), [[(3, 4, 5), (3, 2, 5)]]),
        ("gather", lambda m, x: m.gather(x, 2, m.tensor([[[0, 4], [1, 1]]])), CUBE[:2]),
        ("scatter", lambda m, x, s: x.scatter(0, m.tensor([[[2, 1]]]), s), [[(3, 4, 5), (1, 1, 2)]]),
        ("scatter_add", lambda m, x, s: m.scatter_add(x, 0, m.tensor([[[2, 2]], [[2, 0]]]), s),
         [[(3, 4, 5), (2, 1, 2)], [NonContig((3, 4, 5)), (2, 1, 2)]]),
        ("masked_fill", lambda m, x: x.masked_fill(x.detach() > 0, 2.0), CUBE),
        ("masked_select", lambda m, x: x.masked_select(x.detach()[0] > 0), CUBE[:2]),
        ("take_along_dim", lambda m, x: m.take_along_dim(x, m.tensor([[[1], [0], [2], [1]]]), 2), CUBE[:2]),
        ("cat", lambda m, x, y: m.cat([x, y * 2, x[:, :1]], 1), [[(3, 4, 5), (3, 4, 5)], [NonContig((3, 4, 5)), (3, 4, 5)]]),
        ("stack", lambda m, x, y: m.stack([x, y], -1), BINARY[:1] + [[(), ()]]),
        ("hstack", lambda m, x, y: m.hstack([x, y]), BINARY[:1] + [[(3,), (2,)]]),
        ("vstack", lambda m, x, y: m.vstack([x, y]), BINARY[:1] + [[(4,), (4,)]]),
        ("repeat", lambda m, x: x.repeat(2, 1, 3), [[(3, 4)], [()], [NonContig((3, 4))]]),
        ("tile", lambda m, x: x.tile((2,)), CUBE),
        ("flip", lambda m, x: x.flip((0, -1)), CUBE),
        ("roll", lambda m, x: x.roll((1, -2), (0, 2)), CUBE),
        ("roll_flat", lambda m, x: x.roll(3), CUBE[:2] + [[()]]),
        ("tril", lambda m, x: x.tril(1), CUBE),
        ("triu", lambda m, x: m.triu(x, -1), CUBE),
        ("pad", lambda m, x: m.nn.functional.pad(x, (1, 2, 0, -1), value=0.5), CUBE[:2]),
        ("pad_reflect", lambda m, x: m.nn.functional.pad(x, (2, 1), mode="reflect"), CUBE[:2]),
        ("pad_replicate", lambda m, x: m.nn.functional.pad(x, (2, 1, 1, 1), mode="replicate"), CUBE[:2]),
        ("pad_circular", lambda m, x: m.nn.functional.pad(x, (2, 1), mode="circular"), CUBE[:2]),
        ("clone", lambda m, x: m.clone(x), CUBE),
    ]],
]

# Ops with bool (or, for floor division, integer-valued) results: compared with torch, no gradients.
COMPARISONS = [
    OpInfo(name, fn, fn_ref, BINARY, away_from_zero=True, differentiable=False)
    for name, fn, fn_ref in (("floor_divide", ad.floor_divide, torch.floor_divide),
                             ("floordiv_operator", operator.floordiv, operator.floordiv))
] + [
    OpInfo("remainder_of_a_number", operator.mod, operator.mod, BINARY[7:], away_from_zero=True,
           differentiable=False),
] + [
    OpInfo(name, getattr(operator, name), getattr(operator, name), BINARY, differentiable=False)
    for name in ("eq", "ne", "lt", "le", "gt", "ge")
] + [
    OpInfo(name, lambda a, b, f=getattr(ad, name): f(a > 0, b < 0),
           lambda a, b, f=getattr(torch, name): f(a > 0, b < 0), BINARY[:6], differentiable=False)
    for name in ("logical_and", "logical_or", "logical_xor")
] + [
    OpInfo("logical_not", lambda a: ad.logical_not(a > 0), lambda a: torch.logical_not(a > 0), UNARY,
           differentiable=False),
    OpInfo("bool_operators", lambda a, b: ~((a > 0) & (b < 0)) | ((a > 1) ^ (b > 1)),
           lambda a, b: ~((a > 0) & (b < 0)) | ((a > 1) ^ (b > 1)), BINARY[:6], differentiable=False),
    OpInfo("isnan", lambda a: ad.isnan(a.log()), lambda a: torch.isnan(a.log()), UNARY,
           differentiable=False),
] + [  # on finite values, +inf and -inf (1/a where |a| <= 1 is divided by 0)
    OpInfo(name, lambda a, n=name: getattr(a.reciprocal() / (a.abs() > 1), n)(),
           lambda a, n=name: getattr(a.reciprocal() / (a.abs() > 1), n)(), UNARY, differentiable=False)
    for name in ("isfinite", "isinf", "isposinf", "isneginf")
] + [  # NaN (0/0 where |a| <= 0.5), +-inf (1/0) and finite values replaced (gradients: tests/test_ops.py)
    OpInfo("nan_to_num", lambda a, m=ad: m.nan_to_num(a.reciprocal() / (a.abs() > 1) + a * 0 / (a.abs() > 0.5),
                                                       posinf=9.0),
           lambda a: torch.nan_to_num(a.reciprocal() / (a.abs() > 1) + a * 0 / (a.abs() > 0.5), posinf=9.0), UNARY,
           differentiable=False),
]

# ---- autodiff.nn.functional: layers and losses (tests/op_table_nn.py) -------------------------
from op_table_nn import NN_OPS  # noqa: E402

OPS += NN_OPS

# ---- sorting, diagonals and the layers built with them (tests/op_table_breadth.py) ------------
from op_table_breadth import BREADTH_OPS  # noqa: E402

OPS += BREADTH_OPS

OPS.append(_unary("reciprocal", domain=POSITIVE))
