"""Special functions as differentiable ops: ``lgamma``, ``digamma``, ``polygamma(n, x)``.

Derivatives chain down the polygamma family: lgamma' = digamma, digamma' = polygamma(1, .),
polygamma(n, .)' = polygamma(n + 1, .), so every order of derivative exists. Integer
inputs give the default float dtype, as in torch.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..backends import backend_of
from ..backends.meta import MetaArray
from .op import Op


def _result_dtype(x) -> np.dtype:
    return x.dtype if x.dtype.kind == "f" else dtypes.get_default_dtype().np


def _run(kernel: str, x: np.ndarray, *args) -> np.ndarray:
    """The backend's ``special.<kernel>(*args, flat, out)`` over a flat contiguous copy of ``x``."""
    be, dt = backend_of(x), _result_dtype(x)
    flat = be.copy(x, dt).reshape(-1) if not (x.flags.c_contiguous and x.dtype == dt) else x.reshape(-1)
    out = be.empty((flat.size,), dt)
    getattr(be.special, kernel)(*args, flat, out)
    return out.reshape(x.shape)


def _meta(x, n: int = 0) -> MetaArray:
    return MetaArray(x.shape, _result_dtype(x))


def _polygamma_forward(x: np.ndarray, n: int = 1) -> np.ndarray:
    return _run("polygamma", x, n)


_polygamma = Op("polygamma", ("self",), _polygamma_forward,
                (lambda grad, self, n: grad * _polygamma(self, n=n + 1),), meta=_meta)
digamma = Op("digamma", ("self",), lambda x: _run("digamma", x),
             (lambda grad, self: grad * _polygamma(self, n=1),), meta=_meta)
lgamma = Op("lgamma", ("self",), lambda x: _run("lgamma", x), (lambda grad, self: grad * digamma(self),), meta=_meta)


def polygamma(n: int, input):
    """``polygamma(n, x)``, the n-th derivative of digamma (n = 0 is digamma itself)."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"polygamma(): argument 'n' must be int, not {type(n).__name__}")
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    return digamma(input) if n == 0 else _polygamma(input, n=n)
