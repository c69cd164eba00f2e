"""``autodiff.distributions``: probability distributions and KL divergences, as
``torch.distributions``, built from differentiable autodiff ops."""

from . import constraints
from .beta import Beta
from .discrete import Bernoulli, Categorical
from .distribution import Distribution
from .gamma import Dirichlet, Gamma
from .kl import kl_divergence, register_kl
from .multivariate_normal import MultivariateNormal
from .normal import Normal, Uniform

__all__ = ["Bernoulli", "Beta", "Categorical", "Dirichlet", "Distribution", "Gamma", "MultivariateNormal", "Normal", "Uniform",
           "constraints", "kl_divergence", "register_kl"]
