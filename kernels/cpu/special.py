"""Special functions over flat arrays: ``lgamma``, ``digamma``, ``polygamma(n)`` (n >= 1).

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
_digamma, _polygamma = _scalar.digamma, _scalar.polygamma


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
def _gamma_sample_grad(x, alpha):
    """dx/dalpha of a Gamma(alpha, 1) sample x held at its CDF value (implicit
    reparameterisation): -(dP(alpha, x)/dalpha) / (dP(alpha, x)/dx), P the regularised lower
    incomplete gamma. With P = sum_n x^(alpha+n) e^-x / Gamma(alpha+n+1), the ratio is
    -sum_n r_n (log x - psi(alpha+n+1)), r_0 = x / alpha, r_n = r_(n-1) x / (alpha+n);
    summed until the terms past the peak (n > x) fall below 1e-17 of the total."""
    if x <= 0.0:
        return 0.0
    logx = math.log(x)
    r = x / alpha
    psi = _digamma(alpha + 1.0)
    acc = -r * (logx - psi)
    n = 0
    while True:
        n += 1
        psi += 1.0 / (alpha + n)
        r *= x / (alpha + n)
        term = r * (logx - psi)
        acc -= term
        if n > x and abs(term) <= 1e-17 * abs(acc) or n > 100000:
            return acc


@njit(cache=True, error_model="numpy")
def gamma_sample_grad(x, alpha, out):
    for i in range(x.size):
        out[i] = _gamma_sample_grad(np.float64(x[i]), np.float64(alpha[i]))


guard_kernels(globals())
