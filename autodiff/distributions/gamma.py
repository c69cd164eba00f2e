"""``Gamma(concentration, rate)`` and ``Dirichlet(concentration)``, with ``rsample``.

Both sample through ``ops.gamma.standard_gamma``, whose gradient with respect to the
concentration is the implicit reparameterisation one. A Dirichlet sample is normalised
Gamma samples, differentiated through that normalisation; torch instead differentiates
the Dirichlet (Beta) CDF. Both are exact reparameterised gradients of the same
distribution (same expectations), but per sample they differ.
"""

from __future__ import annotations

from ..ops.gamma import standard_gamma
from ..ops.special import digamma, lgamma
from . import constraints
from .distribution import Distribution, broadcast_all, finfo


def _tiny(x):
    """Samples clamped away from 0 (log_prob stays finite), as torch does."""
    return x.clamp(min=float(finfo(x.dtype).tiny))


class Gamma(Distribution):
    """The gamma distribution with shape ``concentration`` and inverse scale ``rate``."""

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    _given = ("concentration", "rate")

    def __init__(self, concentration, rate, validate_args: bool | None = None) -> None:
        self.concentration, self.rate = broadcast_all(concentration, rate)
        super().__init__(self.concentration.shape, validate_args=validate_args)

    @property
    def mean(self):
        return self.concentration / self.rate

    @property
    def mode(self):
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self):
        return self.concentration / self.rate.pow(2)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        return _tiny(standard_gamma(self.concentration.expand(shape)) / self.rate.expand(shape))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        a, b = self.concentration, self.rate
        return a * b.log() + (a - 1) * value.log() - b * value - lgamma(a)

    def entropy(self):
        a = self.concentration
        return a - self.rate.log() + lgamma(a) + (1.0 - a) * digamma(a)


class Dirichlet(Distribution):
    """The Dirichlet distribution over the simplex of the last dim of ``concentration``."""

    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True
    _given = ("concentration",)

    def __init__(self, concentration, validate_args: bool | None = None) -> None:
        if concentration.dim() < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        super().__init__(concentration.shape[:-1], concentration.shape[-1:], validate_args=validate_args)

    @property
    def mean(self):
        return self.concentration / self.concentration.sum(-1, keepdim=True)

    @property
    def variance(self):
        total = self.concentration.sum(-1, keepdim=True)
        return self.concentration * (total - self.concentration) / (total.pow(2) * (total + 1))

    def rsample(self, sample_shape=()):
        gammas = standard_gamma(self.concentration.expand(self._extended_shape(sample_shape)))
        return _tiny(gammas / gammas.sum(-1, keepdim=True))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        conc = self.concentration
        return ((conc - 1.0) * value.log()).sum(-1) + lgamma(conc.sum(-1)) - lgamma(conc).sum(-1)

    def entropy(self):
        conc = self.concentration
        k, total = conc.shape[-1], conc.sum(-1)
        return (lgamma(conc).sum(-1) - lgamma(total) - (k - total) * digamma(total)
                - ((conc - 1.0) * digamma(conc)).sum(-1))
