"""Special functions as differentiable ops: ``lgamma``, ``digamma``, ``polygamma(1, x)``.

Derivatives chain down the polygamma family: lgamma' = digamma, digamma' = trigamma
(``polygamma(1, .)``). Trigamma's own derivative (polygamma(2, .)) is not implemented, so
digamma can be differentiated once and lgamma twice. Integer inputs give the default
float dtype, as in torch.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..backends import backend_of
from ..backends.meta import MetaArray
from .op import Op


def _result_dtype(x) -> np.dtype:
    return x.dtype if x.dtype.kind == "f" else dtypes.get_default_dtype().np


def _forward(kernel: str):
    """Run the backend's ``special.<kernel>`` over a flat contiguous copy of ``x``."""

    def forward(x: np.ndarray) -> np.ndarray:
        be, dt = backend_of(x), _result_dtype(x)
        flat = be.copy(x, dt).reshape(-1) if not (x.flags.c_contiguous and x.dtype == dt) else x.reshape(-1)
        out = be.empty((flat.size,), dt)
        getattr(be.special, kernel)(flat, out)
        return out.reshape(x.shape)
    return forward


def _meta(x) -> MetaArray:
    return MetaArray(x.shape, _result_dtype(x))


def _no_grad_rule(grad, self):
    raise NotImplementedError("the derivative of polygamma(1, x) (polygamma(2, x)) is not implemented")


_trigamma = Op("polygamma", ("self",), _forward("trigamma"), (_no_grad_rule,), node_name="PolygammaBackward0",
               meta=_meta)
digamma = Op("digamma", ("self",), _forward("digamma"), (lambda grad, self: grad * _trigamma(self),), meta=_meta)
lgamma = Op("lgamma", ("self",), _forward("lgamma"), (lambda grad, self: grad * digamma(self),), meta=_meta)


def polygamma(n: int, input):
    """``polygamma(n, x)`` for n = 0 (digamma) and n = 1 (trigamma)."""
    if n == 0:
        return digamma(input)
    if n == 1:
        return _trigamma(input)
    raise NotImplementedError(f"polygamma(n={n}) is implemented for n = 0 and 1 only")
