"""Differential fuzzing of the optimizers against torch: every hyper-parameter at, inside
and past its valid range (torch's ValueError and wording), empty and 0-d parameters, empty
parameter lists, duplicated, frozen, non-leaf and gradient-less parameters, two parameter
groups, a single tensor instead of a list; then a state_dict round trip into a fresh
optimizer. The parameters after the last step must match torch's."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from .budget import examples
from .cases import Case
from .check import differential
from .strategies import shapes

seeds = st.integers(0, 2**16)


def _value(good, bad):
    """Mostly a valid value, sometimes one past the range."""
    return st.one_of(good, good, good, bad)


_RATE = _value(st.sampled_from([1e-3, 0.01, 0.1]), st.sampled_from([-0.1, 0.0]))
_EPS = _value(st.sampled_from([1e-8, 1e-6]), st.just(-1e-8))
_DECAY = _value(st.sampled_from([0.0, 0.01]), st.just(-0.1))
_BETAS = _value(st.just((0.9, 0.999)), st.sampled_from([(1.0, 0.999), (0.9, -0.1), (-0.1, 0.9)]))
_FLAG = st.booleans()

HYPER = {
    "SGD": {"lr": _RATE, "momentum": _value(st.sampled_from([0.0, 0.9]), st.just(-0.5)),
            "dampening": st.sampled_from([0.0, 0.0, 0.1]), "weight_decay": _DECAY, "nesterov": _FLAG,
            "maximize": _FLAG},
    "Adam": {"lr": _RATE, "betas": _BETAS, "eps": _EPS, "weight_decay": _DECAY, "amsgrad": _FLAG,
             "maximize": _FLAG},
    "AdamW": {"lr": _RATE, "betas": _BETAS, "eps": _EPS, "weight_decay": _DECAY, "amsgrad": _FLAG},
    "Adagrad": {"lr": _RATE, "lr_decay": _value(st.just(0.0), st.just(-0.1)), "weight_decay": _DECAY,
                "initial_accumulator_value": _value(st.sampled_from([0.0, 0.1]), st.just(-0.1)), "eps": _EPS},
    "RMSprop": {"lr": _RATE, "alpha": _value(st.sampled_from([0.99, 0.9]), st.just(-0.1)), "eps": _EPS,
                "weight_decay": _DECAY, "momentum": _value(st.sampled_from([0.0, 0.9]), st.just(-0.1)),
                "centered": _FLAG},
    "Adadelta": {"lr": _value(st.just(1.0), st.just(-1.0)), "rho": _value(st.just(0.9), st.just(1.1)),
                 "eps": _EPS, "weight_decay": _DECAY},
    "Adamax": {"lr": _RATE, "betas": _BETAS, "eps": _EPS, "weight_decay": _DECAY},
    "NAdam": {"lr": _RATE, "betas": _BETAS, "eps": _EPS, "weight_decay": _DECAY,
              "momentum_decay": _value(st.just(4e-3), st.just(-1.0))},
    "RAdam": {"lr": _RATE, "betas": _BETAS, "eps": _EPS, "weight_decay": _DECAY},
}
LAYOUTS = ["dup", "frozen", "nonleaf", "groups", "single", "nograd"]


@st.composite
def optim_cases(draw):
    name = draw(st.sampled_from(sorted(HYPER)))
    kwargs = {k: draw(v) for k, v in HYPER[name].items() if draw(st.booleans())}
    dtype = draw(st.sampled_from(["float32", "float32", "float64"]))
    n = draw(st.sampled_from([0, 1, 2, 2, 3]))
    values = st.floats(-2, 2, allow_nan=False, width=32)
    arrays = [draw(hnp.arrays(np.dtype(dtype), draw(shapes(max_dims=2, max_side=3)), elements=values))
              for _ in range(n)]
    layout = tuple(x for x in LAYOUTS if draw(st.integers(0, 7)) == 0)
    return Case("optim", (name, arrays, kwargs, layout, draw(st.integers(1, 3))), seed=draw(seeds))


@examples(40)
@given(case=optim_cases())
def test_optimizers_match_torch(worker, case):
    differential(worker, case, "optim", known=_refused_duplicates)


def _refused_duplicates(ours, ref) -> bool:
    """torch warns about a duplicated parameter and updates it once per occurrence;
    autodiff refuses it (ValueError), deliberately."""
    return ours[0] == "raise" and "duplicate parameters" in ours[2] and ref[0] == "ok"
