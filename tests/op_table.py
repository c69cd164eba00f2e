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
    OpInfo("chain", lambda x, w: ((x * w + x).tanh() * 2 - w).sum(),
           lambda x, w: ((x * w + x).tanh() * 2 - w).sum(), BINARY[:6]),
]

# Ops with bool results: compared with torch, no gradients.
COMPARISONS = [
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
]
