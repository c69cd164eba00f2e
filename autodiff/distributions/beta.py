"""``Beta(concentration1, concentration0)`` on (0, 1), with lgamma/digamma ops for its
density and entropy (computed as torch does, through the two-category Dirichlet)."""

from __future__ import annotations

from ..ops import elementwise as ew
from ..ops.joining import stack
from ..ops.special import digamma, lgamma
from . import constraints
from .distribution import Distribution, broadcast_all
from .gamma import Dirichlet


def xlogy(x, y):
    """``x * log(y)``, 0 where ``x`` is 0."""
    return ew.where(x == 0, x * 0, x * y.log())


class Beta(Distribution):
    """The beta distribution: the first coordinate of a two-category Dirichlet, as torch
    builds it; ``rsample`` is reparameterised through the Dirichlet's Gamma samples."""

    arg_constraints = {"concentration1": constraints.positive, "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True
    _given = ("concentration1", "concentration0")

    def __init__(self, concentration1, concentration0, validate_args: bool | None = None) -> None:
        self.concentration1, self.concentration0 = broadcast_all(concentration1, concentration0)
        super().__init__(self.concentration1.shape, validate_args=validate_args)

    @property
    def _concentration(self):
        return stack([self.concentration1, self.concentration0], -1)

    @property
    def mean(self):
        return self.concentration1 / (self.concentration1 + self.concentration0)

    @property
    def variance(self):
        total = self.concentration1 + self.concentration0
        return self.concentration1 * self.concentration0 / (total.pow(2) * (total + 1))

    def rsample(self, sample_shape=()):
        return Dirichlet(self._concentration).rsample(sample_shape).select(-1, 0)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        heads_tails = stack([value, 1.0 - value], -1)
        conc = self._concentration
        return xlogy(conc - 1.0, heads_tails).sum(-1) + lgamma(conc.sum(-1)) - lgamma(conc).sum(-1)

    def entropy(self):
        conc = self._concentration
        total = conc.sum(-1)
        k = 2
        return (lgamma(conc).sum(-1) - lgamma(total) - (k - total) * digamma(total)
                - ((conc - 1.0) * digamma(conc)).sum(-1))
