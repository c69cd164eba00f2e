"""``MultivariateNormal``: a Gaussian over vectors, by covariance, precision or scale_tril.

Everything runs on the lower Cholesky factor ``L`` of the covariance (``linalg.cholesky``
of a covariance; of a precision, through the flipped factorisation torch uses), so
``log_prob`` and ``entropy`` need only triangular solves and ``L``'s diagonal.
"""

from __future__ import annotations

import math

import numpy as np

from ..factories import eye, randn
from ..ops.joining import flip
from ..ops.linalg import cholesky, solve_triangular
from . import constraints
from .distribution import Distribution


def _precision_to_scale_tril(p):
    lf = cholesky(flip(p, (-2, -1)))
    l_inv = flip(lf, (-2, -1)).mT
    return solve_triangular(l_inv, eye(p.shape[-1], dtype=p.dtype), upper=False)


def batch_mahalanobis(scale_tril, x):
    """``|L^-1 x|^2`` over the last dimension, broadcasting ``L``'s batch against ``x``'s."""
    return solve_triangular(scale_tril, x.unsqueeze(-1), upper=False).squeeze(-1).pow(2).sum(-1)


class MultivariateNormal(Distribution):
    """As ``torch.distributions.MultivariateNormal``; exactly one of ``covariance_matrix``,
    ``precision_matrix`` and ``scale_tril``. ``rsample`` is ``loc + L eps``."""

    arg_constraints = {"loc": constraints.real_vector, "covariance_matrix": constraints.positive_definite,
                       "precision_matrix": constraints.positive_definite, "scale_tril": constraints.lower_cholesky}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, covariance_matrix=None, precision_matrix=None, scale_tril=None,
                 validate_args: bool | None = None) -> None:
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        given = [(n, m) for n, m in (("covariance_matrix", covariance_matrix),
                                     ("precision_matrix", precision_matrix), ("scale_tril", scale_tril))
                 if m is not None]
        if len(given) != 1:
            raise ValueError("Exactly one of covariance_matrix or precision_matrix or scale_tril may be specified.")
        name, matrix = given[0]
        if matrix.dim() < 2:
            raise ValueError(f"{name} matrix must be at least two-dimensional, with optional leading batch "
                             "dimensions")
        batch = tuple(np.broadcast_shapes(matrix.shape[:-2], loc.shape[:-1]))
        n = loc.shape[-1]
        setattr(self, name, matrix.expand(batch + (n, n)))
        self.loc = loc.expand(batch + (n,))
        self._given = ("loc", name)
        super().__init__(batch, (n,), validate_args=validate_args)
        if name == "scale_tril":
            self._unbroadcasted_scale_tril = matrix
        elif name == "covariance_matrix":
            self._unbroadcasted_scale_tril = cholesky(matrix)
        else:
            self._unbroadcasted_scale_tril = _precision_to_scale_tril(matrix)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    def _scale_tril(self):
        n = self._event_shape[0]
        return self._unbroadcasted_scale_tril.expand(self._batch_shape + (n, n))

    @property
    def variance(self):
        return self._unbroadcasted_scale_tril.pow(2).sum(-1).expand(self._batch_shape + self._event_shape)

    def _matrices(self, name):
        if name in self._given:
            return self.__dict__[name]
        lt = self._unbroadcasted_scale_tril
        if name == "scale_tril":
            return self._scale_tril()
        cov = lt @ lt.mT
        n = self._event_shape[0]
        if name == "covariance_matrix":
            return cov.expand(self._batch_shape + (n, n))
        inv = solve_triangular(lt, eye(n, dtype=lt.dtype), upper=False)
        return (inv.mT @ inv).expand(self._batch_shape + (n, n))

    def __getattr__(self, name):
        if name in ("scale_tril", "covariance_matrix", "precision_matrix") and "_unbroadcasted_scale_tril" in self.__dict__:
            return self._matrices(name)
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        eps = randn(shape, dtype=self.loc.dtype)
        return self.loc + (self._unbroadcasted_scale_tril @ eps.unsqueeze(-1)).squeeze(-1)

    def _half_log_det(self):
        return self._unbroadcasted_scale_tril.diagonal(0, -2, -1).log().sum(-1)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        m = batch_mahalanobis(self._unbroadcasted_scale_tril, value - self.loc)
        return -0.5 * (self._event_shape[0] * math.log(2 * math.pi) + m) - self._half_log_det()

    def entropy(self):
        h = 0.5 * self._event_shape[0] * (1.0 + math.log(2 * math.pi)) + self._half_log_det()
        return h if not self._batch_shape else h.expand(self._batch_shape)
