"""``kl_divergence(p, q)`` with ``register_kl`` dispatch, as ``torch.distributions.kl``."""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from ..ops import elementwise as ew
from ..ops.special import digamma, lgamma
from .beta import Beta
from .discrete import Bernoulli, Categorical
from .distribution import Distribution
from .multivariate_normal import MultivariateNormal, batch_mahalanobis
from .normal import Normal, Uniform
from ..ops.linalg import solve_triangular

_KL: dict[tuple[type, type], Callable] = {}


def register_kl(type_p: type, type_q: type) -> Callable:
    """Decorator registering ``fn(p, q)`` as the KL divergence of ``type_p`` from ``type_q``."""
    def decorator(fn):
        _KL[type_p, type_q] = fn
        return fn
    return decorator


def kl_divergence(p: Distribution, q: Distribution):
    """KL(p || q), batched; NotImplementedError for pairs without a registered formula."""
    for tp in type(p).__mro__:
        for tq in type(q).__mro__:
            if (tp, tq) in _KL:
                return _KL[tp, tq](p, q)
    raise NotImplementedError(f"No KL(p || q) is implemented for p type {type(p).__name__} and q type "
                              f"{type(q).__name__}")


_INF = math.inf


@register_kl(Normal, Normal)
def _kl_normal_normal(p, q):
    var_ratio = (p.scale / q.scale).pow(2)
    t1 = ((p.loc - q.loc) / q.scale).pow(2)
    return 0.5 * (var_ratio + t1 - 1 - var_ratio.log())


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p, q):
    sp = ew.softplus
    t1 = p.probs * (sp(-q.logits, 1.0, 20.0) - sp(-p.logits, 1.0, 20.0))
    t1 = ew.where(p.probs == 0, t1 * 0, ew.where(q.probs == 0, t1 * 0 + _INF, t1))
    t2 = (1 - p.probs) * (sp(q.logits, 1.0, 20.0) - sp(p.logits, 1.0, 20.0))
    t2 = ew.where(p.probs == 1, t2 * 0, ew.where(q.probs == 1, t2 * 0 + _INF, t2))
    return t1 + t2


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(p, q):
    t = p.probs * (p.logits - q.logits)
    t = ew.where(p.probs == 0, t * 0, ew.where(q.probs == 0, t * 0 + _INF, t))
    return t.sum(-1)


@register_kl(Uniform, Uniform)
def _kl_uniform_uniform(p, q):
    result = ((q.high - q.low) / (p.high - p.low)).log()
    outside = ew.logical_or(q.low > p.low, q.high < p.high)
    return ew.where(outside, result * 0 + _INF, result)


@register_kl(Beta, Beta)
def _kl_beta_beta(p, q):
    pc, qc = p._concentration, q._concentration
    sum_p, sum_q = pc.sum(-1), qc.sum(-1)
    t1 = lgamma(sum_p) - lgamma(sum_q)
    t2 = (lgamma(pc) - lgamma(qc)).sum(-1)
    t3 = pc - qc
    t4 = digamma(pc) - digamma(sum_p).unsqueeze(-1)
    return t1 - t2 + (t3 * t4).sum(-1)


@register_kl(MultivariateNormal, MultivariateNormal)
def _kl_mvn_mvn(p, q):
    if p.event_shape != q.event_shape:
        raise ValueError("KL-divergence between two Multivariate Normals with different event shapes cannot "
                         "be computed")
    lp, lq = p._unbroadcasted_scale_tril, q._unbroadcasted_scale_tril
    half_term1 = lq.diagonal(0, -2, -1).log().sum(-1) - lp.diagonal(0, -2, -1).log().sum(-1)
    n = p.event_shape[0]
    batch = tuple(np.broadcast_shapes(lq.shape[:-2], lp.shape[:-2]))
    term2 = solve_triangular(lq.expand(batch + (n, n)), lp.expand(batch + (n, n)), upper=False).pow(2).sum(-1).sum(-1)
    term3 = batch_mahalanobis(lq, q.loc - p.loc)
    return half_term1 + 0.5 * (term2 + term3 - n)
