"""Special functions over flat arrays: ``lgamma``, ``digamma``, ``trigamma``.

Each kernel maps a flat C-contiguous float array into a flat output of the same dtype,
computing in float64 (the recurrences and series below lose accuracy in float32) and
rounding once. digamma and trigamma shift small arguments up with the recurrence
``psi(x) = psi(x + 1) - 1/x``, use the asymptotic series from x >= 6, and reflect
negative arguments; at the poles (0, -1, -2, ...) digamma is -inf at 0 and NaN
elsewhere, as torch's is.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from ..guard import guard_kernels


@njit(cache=True, error_model="numpy")
def _digamma(x):
    if x == 0.0:
        return -np.inf if math.copysign(1.0, x) > 0 else np.inf
    if x < 0.0:
        if x == math.floor(x):
            return np.nan
        return _digamma(1.0 - x) - math.pi / math.tan(math.pi * x)
    acc = 0.0
    while x < 6.0:
        acc -= 1.0 / x
        x += 1.0
    f = 1.0 / (x * x)
    series = f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 - f * (1.0 / 132)))))
    return acc + math.log(x) - 0.5 / x - series


@njit(cache=True, error_model="numpy")
def _trigamma(x):
    if x <= 0.0 and x == math.floor(x):
        return np.inf
    if x < 0.0:
        s = math.sin(math.pi * x)
        return -_trigamma(1.0 - x) + math.pi * math.pi / (s * s)
    acc = 0.0
    while x < 6.0:
        acc += 1.0 / (x * x)
        x += 1.0
    f = 1.0 / (x * x)
    series = 1.0 / x + f / 2 + f / x * (1.0 / 6 - f * (1.0 / 30 - f * (1.0 / 42 - f * (1.0 / 30))))
    return acc + series


@njit(cache=True, error_model="numpy")
def lgamma(x, out):
    for i in range(x.size):
        out[i] = math.lgamma(np.float64(x[i]))


@njit(cache=True, error_model="numpy")
def digamma(x, out):
    for i in range(x.size):
        out[i] = _digamma(np.float64(x[i]))


@njit(cache=True, error_model="numpy")
def trigamma(x, out):
    for i in range(x.size):
        out[i] = _trigamma(np.float64(x[i]))



guard_kernels(globals())
