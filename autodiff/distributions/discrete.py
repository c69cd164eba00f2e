"""``Bernoulli`` and ``Categorical``, parameterised by ``probs`` or ``logits`` (one of them)."""

from __future__ import annotations

import numpy as np

from ..autograd.grad_mode import no_grad
from ..factories import rand
from ..nn.functions.loss import binary_cross_entropy_with_logits
from ..ops.reduction import cumsum, softmax
from . import constraints
from .distribution import Distribution, broadcast_all, finfo


def _one_of(probs, logits) -> None:
    if (probs is None) == (logits is None):
        raise ValueError("Either `probs` or `logits` must be specified, but not both.")


def clamp_probs(probs):
    eps = float(finfo(probs.dtype).eps)
    return probs.clamp(min=eps, max=1 - eps)


class Bernoulli(Distribution):
    """The Bernoulli distribution over {0, 1}."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args: bool | None = None) -> None:
        _one_of(probs, logits)
        if probs is not None:
            (self.probs,) = broadcast_all(probs)
            p = clamp_probs(self.probs)
            self.logits = p.log() - (-p).log1p()
            self._given = ("probs",)
        else:
            (self.logits,) = broadcast_all(logits)
            self.probs = self.logits.sigmoid()
            self._given = ("logits",)
        super().__init__(self.probs.shape, validate_args=validate_args)

    @property
    def mean(self):
        return self.probs

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        with no_grad():
            return (rand(shape, dtype=self.probs.dtype) < self.probs.expand(shape)).to(self.probs.dtype)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return -binary_cross_entropy_with_logits(logits, value, reduction="none")

    def entropy(self):
        return binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none")


class Categorical(Distribution):
    """A distribution over ``{0, ..., K-1}`` (the last dimension of ``probs``/``logits``);
    probabilities are normalised to sum to 1, logits to log-sum-exp 0."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args: bool | None = None) -> None:
        _one_of(probs, logits)
        given = probs if probs is not None else logits
        if given.dim() < 1:
            raise ValueError(f"`{'probs' if probs is not None else 'logits'}` parameter must be at least "
                             "one-dimensional.")
        if probs is not None:
            self.probs = probs / probs.sum(-1, keepdim=True)
            self.logits = clamp_probs(self.probs).log()
            self._given = ("probs",)
        else:
            self.logits = logits - logits.logsumexp(-1, keepdim=True)
            self.probs = softmax(self.logits, -1)
            self._given = ("logits",)
        self._num_events = self.probs.shape[-1]
        super().__init__(self.probs.shape[:-1], validate_args=validate_args)

    @property
    def support(self):
        return constraints.integer_interval(0, self._num_events - 1)

    @property
    def param_shape(self) -> tuple:
        return self.probs.shape

    def sample(self, sample_shape=()):
        """Inverse-CDF sampling: the first category whose cumulative probability exceeds a uniform draw."""
        shape = self._extended_shape(sample_shape)
        with no_grad():
            cdf = cumsum(self.probs.detach(), -1)
            u = rand(shape + (1,), dtype=self.probs.dtype)
            index = (cdf.expand(shape + (self._num_events,)) <= u).sum(-1)
            return index.clamp_max(self._num_events - 1)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        value = value.long().unsqueeze(-1)
        shape = tuple(np.broadcast_shapes(value.shape, self.logits.shape))
        value = value.expand(shape[:-1] + (1,))
        return self.logits.expand(shape).gather(-1, value).squeeze(-1)

    def entropy(self):
        logits = self.logits.clamp(min=float(finfo(self.logits.dtype).min))
        return -(logits * self.probs).sum(-1)
