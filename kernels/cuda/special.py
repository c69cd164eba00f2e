"""Special functions on the device: ``lgamma``, ``digamma``, ``polygamma(n)`` (n >= 1).

As ``kernels.cpu.special``: flat C-contiguous float arrays in, a flat output of the same
dtype out, computed in float64 and rounded once, one grid-stride thread per element. The
scalar functions are ``kernels.special_scalar``'s, compiled as device functions (the CPU
kernels compile the same definitions); lgamma is libdevice's.
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda

from .. import special_scalar
from ..portable import compile_for
from . import launch

# inlined into the kernels (Numba compiles a called, not inlined, device function for the
# current device, which needs a driver: compile_ptx on a machine with no GPU could not)
_scalar = compile_for(special_scalar.FUNCTIONS, cuda.jit(device=True, inline="always"))
_digamma, _polygamma, _gamma_sample_grad = _scalar.digamma, _scalar.polygamma, _scalar.gamma_sample_grad


@cuda.jit(cache=True)
def lgamma_k(x, out):
    for i in range(cuda.grid(1), x.size, cuda.gridsize(1)):
        out[i] = math.lgamma(np.float64(x[i]))


@cuda.jit(cache=True)
def digamma_k(x, out):
    for i in range(cuda.grid(1), x.size, cuda.gridsize(1)):
        out[i] = _digamma(np.float64(x[i]))


@cuda.jit(cache=True)
def polygamma_k(n, x, out):
    for i in range(cuda.grid(1), x.size, cuda.gridsize(1)):
        out[i] = _polygamma(n, np.float64(x[i]))


@cuda.jit(cache=True)
def gamma_sample_grad_k(x, alpha, out):
    for i in range(cuda.grid(1), x.size, cuda.gridsize(1)):
        out[i] = _gamma_sample_grad(np.float64(x[i]), np.float64(alpha[i]))


def lgamma(x, out) -> None:
    lgamma_k[launch.grid(x.size)](x, out)


def digamma(x, out) -> None:
    digamma_k[launch.grid(x.size)](x, out)


def polygamma(n: int, x, out) -> None:
    polygamma_k[launch.grid(x.size)](n, x, out)


def gamma_sample_grad(x, alpha, out) -> None:
    gamma_sample_grad_k[launch.grid(x.size)](x, alpha, out)


KERNELS = {"lgamma": lgamma_k, "digamma": digamma_k, "polygamma": polygamma_k,
           "gamma_sample_grad": gamma_sample_grad_k}
