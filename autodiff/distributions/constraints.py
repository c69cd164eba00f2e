"""Constraints on distribution parameters and supports, as ``torch.distributions.constraints``.

``check(value)`` returns a bool tensor over the batch (event dimensions reduced), which
``Distribution`` uses to validate arguments and samples.
"""

from __future__ import annotations

from ..autograd.grad_mode import no_grad
from ..ops import elementwise as ew
from ..tensor import Tensor


class Constraint:
    """A region values may lie in; ``event_dim`` dims on the right form one event."""

    is_discrete = False
    event_dim = 0

    def check(self, value: Tensor) -> Tensor:
        raise NotImplementedError

    def __repr__(self) -> str:
        return type(self).__name__.lstrip("_") + "()"


class _Real(Constraint):
    def check(self, value):
        return value == value  # not NaN


class _Boolean(Constraint):
    is_discrete = True

    def check(self, value):
        return ew.logical_or(value == 0, value == 1)


class _GreaterThan(Constraint):
    def __init__(self, lower_bound: float) -> None:
        self.lower_bound = lower_bound

    def check(self, value):
        return value > self.lower_bound

    def __repr__(self) -> str:
        return f"GreaterThan(lower_bound={self.lower_bound})"


class _LessThan(Constraint):
    def __init__(self, upper_bound) -> None:
        self.upper_bound = upper_bound

    def check(self, value):
        return value < self.upper_bound

    def __repr__(self) -> str:
        return f"LessThan(upper_bound={self.upper_bound})"


class _Interval(Constraint):
    def __init__(self, lower_bound, upper_bound) -> None:
        self.lower_bound, self.upper_bound = lower_bound, upper_bound

    def check(self, value):
        return ew.logical_and(self.lower_bound <= value, value <= self.upper_bound)

    def __repr__(self) -> str:
        return f"Interval(lower_bound={self.lower_bound}, upper_bound={self.upper_bound})"


class _IntegerInterval(_Interval):
    is_discrete = True

    def check(self, value):
        return ew.logical_and(value.floor() == value, super().check(value))

    def __repr__(self) -> str:
        return f"IntegerInterval(lower_bound={self.lower_bound}, upper_bound={self.upper_bound})"


class _Simplex(Constraint):
    event_dim = 1

    def check(self, value):
        return ew.logical_and((value >= 0).all(-1), ((value.sum(-1) - 1).abs() < 1e-6))


class _IndependentReal(Constraint):
    event_dim = 1

    def check(self, value):
        return (value == value).all(-1)

    def __repr__(self) -> str:
        return "IndependentConstraint(Real(), 1)"


class _LowerCholesky(Constraint):
    event_dim = 2

    def check(self, value):
        lower = (value.tril() == value).all(-1).all(-1)
        return ew.logical_and(lower, (value.diagonal(0, -2, -1) > 0).all(-1))


class _PositiveDefinite(Constraint):
    event_dim = 2

    def check(self, value):
        from ..factories import tensor
        from ..ops.linalg import cholesky

        symmetric = ((value - value.mT).abs() <= 1e-6 * (1 + value.abs())).all(-1).all(-1)
        flat = value.reshape((-1,) + tuple(value.shape[-2:]))
        ok = []
        with no_grad():
            for m in flat.unbind(0):
                try:
                    cholesky(m)
                    ok.append(True)
                except RuntimeError:
                    ok.append(False)
        return ew.logical_and(symmetric, tensor(ok).reshape(value.shape[:-2]))


class _Dependent(Constraint):
    """A constraint that depends on other parameters (checked by the distribution itself)."""

    def check(self, value):
        raise ValueError("Cannot determine validity of dependent constraint")


real = _Real()
real_vector = _IndependentReal()
boolean = _Boolean()
positive = _GreaterThan(0.0)
unit_interval = _Interval(0.0, 1.0)
simplex = _Simplex()
lower_cholesky = _LowerCholesky()
positive_definite = _PositiveDefinite()
dependent = _Dependent()
interval = _Interval
integer_interval = _IntegerInterval
greater_than = _GreaterThan
less_than = _LessThan


class _GreaterThanEq(_GreaterThan):
    def check(self, value):
        return value >= self.lower_bound

    def __repr__(self) -> str:
        return f"GreaterThanEq(lower_bound={self.lower_bound})"


class _Independent(Constraint):
    """``base`` over the last ``reinterpreted_batch_ndims`` dims taken as one event."""

    def __init__(self, base: Constraint, reinterpreted_batch_ndims: int) -> None:
        self.base, self.reinterpreted_batch_ndims = base, reinterpreted_batch_ndims
        self.event_dim = base.event_dim + reinterpreted_batch_ndims

    def check(self, value):
        ok = self.base.check(value)
        for _ in range(self.reinterpreted_batch_ndims):
            ok = ok.all(-1)
        return ok

    def __repr__(self) -> str:
        return f"IndependentConstraint({self.base!r}, {self.reinterpreted_batch_ndims})"


nonnegative = _GreaterThanEq(0.0)
greater_than_eq = _GreaterThanEq
independent = _Independent
