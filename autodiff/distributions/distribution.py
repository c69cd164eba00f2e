"""``Distribution``: the base class (shapes, argument and sample validation, sample/rsample).

As in torch, arguments are validated by default (``validate_args=None`` means the
class default, ``Distribution.set_default_validate_args`` changes it): every parameter
given is checked against ``arg_constraints``, and ``log_prob`` checks its value against
``support``, raising ValueError naming the parameter, the distribution and the values.
"""

from __future__ import annotations

import numbers

import numpy as np

from .. import dtypes
from ..autograd.grad_mode import no_grad
from ..factories import tensor
from ..tensor import Tensor
from . import constraints


def broadcast_all(*values) -> tuple:
    """Tensors of a common shape from tensors and numbers (numbers take the tensors' float
    dtype, or the default one)."""
    like = next((v for v in values if isinstance(v, Tensor)), None)
    dt = like.dtype if like is not None and like.is_floating_point() else dtypes.get_default_dtype()
    ts = [v if isinstance(v, Tensor) else tensor(v, dtype=dt) for v in values]
    shape = tuple(np.broadcast_shapes(*[t.shape for t in ts]))
    return tuple(t if t.shape == shape else t.expand(shape) for t in ts)


class Distribution:
    """Base class of probability distributions, as ``torch.distributions.Distribution``."""

    has_rsample = False
    has_enumerate_support = False
    arg_constraints: dict[str, constraints.Constraint] = {}
    support: constraints.Constraint | None = None
    _validate_args = True

    @staticmethod
    def set_default_validate_args(value: bool) -> None:
        if value not in (True, False):
            raise ValueError
        Distribution._validate_args = value

    def __init__(self, batch_shape: tuple = (), event_shape: tuple = (), validate_args: bool | None = None) -> None:
        self._batch_shape = tuple(batch_shape)
        self._event_shape = tuple(event_shape)
        if validate_args is not None:
            self._validate_args = validate_args
        if self._validate_args:
            for name, constraint in self.arg_constraints.items():
                if name not in self._given or isinstance(constraint, constraints._Dependent):
                    continue
                value = getattr(self, name)
                if not bool(constraint.check(value).all()):
                    raise ValueError(
                        f"Expected parameter {name} ({type(value).__name__} of shape {tuple(value.shape)}) of "
                        f"distribution {self!r} to satisfy the constraint {constraint!r}, but found invalid "
                        f"values:\n{value}")

    _given: tuple = ()

    @property
    def batch_shape(self) -> tuple:
        return self._batch_shape

    @property
    def event_shape(self) -> tuple:
        return self._event_shape

    def _extended_shape(self, sample_shape=()) -> tuple:
        if isinstance(sample_shape, numbers.Integral):
            sample_shape = (sample_shape,)
        return tuple(sample_shape) + self._batch_shape + self._event_shape

    def sample(self, sample_shape=()) -> Tensor:
        """A sample (no gradient flows through it)."""
        with no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape=()) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement rsample")

    def sample_n(self, n: int) -> Tensor:
        return self.sample((n,))

    def log_prob(self, value: Tensor) -> Tensor:
        raise NotImplementedError

    def entropy(self) -> Tensor:
        raise NotImplementedError

    def perplexity(self) -> Tensor:
        return self.entropy().exp()

    @property
    def mean(self) -> Tensor:
        raise NotImplementedError

    @property
    def variance(self) -> Tensor:
        raise NotImplementedError

    @property
    def stddev(self) -> Tensor:
        return self.variance.sqrt()

    def _validate_sample(self, value: Tensor) -> None:
        if not isinstance(value, Tensor):
            raise ValueError("The value argument to log_prob must be a Tensor")
        event = len(self._event_shape)
        if tuple(value.shape[len(value.shape) - event:]) != self._event_shape:
            raise ValueError(f"The right-most size of value must match event_shape: {tuple(value.shape)} vs "
                             f"{self._event_shape}.")
        if not bool(self.support.check(value).all()):
            raise ValueError(f"Expected value argument ({type(value).__name__} of shape {tuple(value.shape)}) to be "
                             f"within the support ({self.support!r}) of the distribution {self!r}, but found "
                             f"invalid values:\n{value}")

    def __repr__(self) -> str:
        args = ", ".join(f"{name}: {getattr(self, name).item() if getattr(self, name).numel() == 1 else tuple(getattr(self, name).shape)}"
                         for name in self.arg_constraints if name in self._given)
        return f"{type(self).__name__}({args})"


def finfo(d: dtypes.dtype) -> np.finfo:
    return np.finfo(d.np)
