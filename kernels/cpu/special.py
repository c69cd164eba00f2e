"""Special functions over flat arrays: ``lgamma``, ``digamma``, ``polygamma(n)`` (n >= 1), and
the reparameterised gradient of Gamma samples (``gamma_sample_grad``).

Each kernel maps a flat C-contiguous float array into a flat output of the same dtype,
computing in float64 and rounding once. The scalar functions are ``kernels.special_scalar``'s,
compiled here with ``njit`` (the CUDA kernels compile the same definitions).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from .. import special_scalar
from ..guard import guard_kernels
from ..portable import compile_for

_scalar = compile_for(special_scalar.FUNCTIONS, njit(error_model="numpy"))
_digamma, _polygamma, _gamma_sample_grad = _scalar.digamma, _scalar.polygamma, _scalar.gamma_sample_grad


@njit(cache=True, error_model="numpy")
def lgamma(x, out):
    for i in range(x.size):
        out[i] = math.lgamma(np.float64(x[i]))


@njit(cache=True, error_model="numpy")
def digamma(x, out):
    for i in range(x.size):
        out[i] = _digamma(np.float64(x[i]))


@njit(cache=True, error_model="numpy")
def polygamma(n, x, out):
    for i in range(x.size):
        out[i] = _polygamma(n, np.float64(x[i]))


@njit(cache=True, error_model="numpy")
def gamma_sample_grad(x, alpha, out):
    for i in range(x.size):
        out[i] = _gamma_sample_grad(np.float64(x[i]), np.float64(alpha[i]))


guard_kernels(globals())
