"""The affine kernel ``out = x @ w.T (+ bias)``: one BLAS GEMM (``np.dot`` inside ``@njit``)
and the bias added over the result's rows in the same call.

``x`` (M, K) and ``w`` (N, K) may each be C- or F-contiguous (a transposed view is
F-contiguous; BLAS takes either without a copy); ``out`` (M, N) is C-contiguous.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, error_model="numpy")
def linear(x, w, bias, has_bias, out):
    """out = x @ w.T, plus bias[j] on every column j when has_bias. The bias pass is
    serial: it is memory-bound and cheap next to the GEMM, and a thread launch would cost
    more than it saves at the usual layer sizes."""
    np.dot(x, w.T, out)
    if has_bias:
        M, N = out.shape
        for i in range(M):
            for j in range(N):
                out[i, j] += bias[j]
