"""Fused softmax cross-entropy kernels.

Logits are seen as ``(A, C, B)``: A the batch, C the classes, B the product of any extra
dims (1 for the usual ``(N, C)``). Every loss is ``-sum_c q[c] * log_softmax(x)[c]`` for a
weighted target distribution ``q``:

* class indices ``t``: ``q = (1 - eps) * w[t] * onehot(t) + eps / C * w`` (``q = 0`` where
  ``t == ignore_index``);
* class probabilities ``y``: ``q = w * ((1 - eps) * y + eps / C)``.

so the gradient w.r.t. the logits is ``g * (softmax(x) * sum_c q - q)``.

Each row of classes gets its maximum ``m`` and ``s = sum_c exp(x[c] - m)`` first
(``_stats``), so ``log_softmax(x)[c] = (x[c] - m) - log(s)``: finite for logits of any
magnitude, and exact in ``x[c] - m`` where a float32 ``logsumexp`` would round. The
forward then reads one logit per row (plus a pass under label smoothing); the backward
writes ``scale * exp(x - m)`` and subtracts the target terms. With ``B == 1`` the rows
are contiguous and the loops vectorise: the shift by ``vmath.shift_max``, vmath's exp,
and sums that the entry points' ``fastmath={"reassoc"}`` lets LLVM split into lanes (the
vmath functions are compiled apart, without it). Targets are validated by the caller
(``first_bad_target``). Each kernel is an inlined body with a serial and a parallel
(``_par``) entry point; ``PARALLEL_MIN`` logits is where the parallel one pays.
"""

from __future__ import annotations

import math

from numba import njit, prange

from . import vmath
from ..guard import guard_kernels

PARALLEL_MIN = 1 << 16
_FAST = {"reassoc"}


@njit(inline="always")
def _row_stats(xr):
    """(max, sum(exp(xr - max))) of one row, in its dtype; NaN (and +inf) give NaN."""
    # Both loops run over the whole row from 0 (the max reads xr[0] twice): a loop from 1
    # leaves a vector's width less one of every row to the scalar remainder loop.
    m = xr[0]
    for c in range(xr.shape[0]):
        m = vmath.shift_max(m, xr[c])  # any NaN reaches s through its exp term
    s = xr.dtype.type(0)
    for c in range(xr.shape[0]):
        s += vmath.exp(xr[c] - m)
    return m, s


@njit(inline="always")
def _row_softmax(xr, m, scale, orow):
    """orow = scale * exp(xr - m)."""
    for c in range(xr.shape[0]):
        orow[c] = scale * vmath.exp(xr[c] - m)


@njit(inline="always")
def _stats(x, x2, a, b):
    """``_row_stats`` of x[a, :, b]. x2 is x seen as (A, C * B): with B == 1 its rows are
    the class rows, contiguous, which the loops need to vectorise."""
    if x.shape[2] == 1:
        return _row_stats(x2[a])
    return _row_stats(x[a, :, b])


@njit(inline="always")
def _softmax_times(x, x2, a, b, m, scale, out, out2):
    """out[a, :, b] = scale * exp(x[a, :, b] - m); x2, out2 as in ``_stats``."""
    if x.shape[2] == 1:
        _row_softmax(x2[a], m, scale, out2[a])
    else:
        _row_softmax(x[a, :, b], m, scale, out[a, :, b])


@njit(cache=True, error_model="numpy")
def first_bad_target(t, C, ignore_index):
    """The first target outside [0, C) other than ignore_index, or ignore_index if none."""
    flat = t.reshape(-1)
    for i in range(flat.size):
        v = flat[i]
        if (v < 0 or v >= C) and v != ignore_index:
            return v
    return ignore_index


@njit(cache=True, error_model="numpy")
def target_weight_sum(t, w, ignore_index):
    """sum of w[t] over the targets that are not ignore_index (mean reduction's divisor)."""
    flat = t.reshape(-1)
    s = 0.0
    for i in range(flat.size):
        v = flat[i]
        if v != ignore_index:
            s += w[v]
    return s


@njit(inline="always")
def _cross_entropy_indices(x, t, w, ignore_index, eps, out):
    """out[a, b] = -sum_c q[c] * log_softmax(x[a, :, b])[c], q from class indices t (A, B)."""
    A, C, B = x.shape
    x2 = x.reshape(A, C * B)
    for a in prange(A):
        for b in range(B):
            k = t[a, b]
            if k == ignore_index:
                out[a, b] = 0
                continue
            m, s = _stats(x, x2, a, b)
            fm, log_s = float(m), math.log(float(s))
            loss = (1.0 - eps) * w[k] * ((fm - x[a, k, b]) + log_s)
            if eps != 0.0:
                acc = 0.0
                for c in range(C):
                    acc += w[c] * ((fm - x[a, c, b]) + log_s)
                loss += eps / C * acc
            out[a, b] = loss


@njit(inline="always")
def _cross_entropy_indices_backward(x, t, w, ignore_index, eps, g, out):
    """out[a, :, b] = g[a, b] * (softmax(x[a, :, b]) * sum(q) - q), q from indices t."""
    A, C, B = x.shape
    wsum = 0.0
    for c in range(C):
        wsum += w[c]
    x2, out2 = x.reshape(A, C * B), out.reshape(A, C * B)
    for a in prange(A):
        for b in range(B):
            k = t[a, b]
            m, s = _stats(x, x2, a, b)
            if k == ignore_index:  # 0 * softmax, NaN where the row's softmax is (torch's too)
                _softmax_times(x, x2, a, b, m, 0.0 / float(s), out, out2)
                continue
            gab = float(g[a, b])
            total = (1.0 - eps) * w[k] + eps / C * wsum
            _softmax_times(x, x2, a, b, m, gab * total / float(s), out, out2)
            if eps != 0.0:
                for c in range(C):
                    out[a, c, b] -= gab * eps / C * w[c]
            out[a, k, b] -= gab * (1.0 - eps) * w[k]


@njit(inline="always")
def _cross_entropy_probs(x, y, w, eps, out):
    """out[a, b] = -sum_c q[c] * log_softmax(x[a, :, b])[c], q = w * ((1 - eps) * y + eps / C)."""
    A, C, B = x.shape
    x2 = x.reshape(A, C * B)
    for a in prange(A):
        for b in range(B):
            m, s = _stats(x, x2, a, b)
            fm, log_s = float(m), math.log(float(s))
            loss = 0.0
            for c in range(C):
                loss += w[c] * ((1.0 - eps) * y[a, c, b] + eps / C) * ((fm - x[a, c, b]) + log_s)
            out[a, b] = loss


@njit(inline="always")
def _cross_entropy_probs_backward(x, y, w, eps, g, out):
    """out[a, :, b] = g[a, b] * (softmax(x[a, :, b]) * sum(q) - q), q from probabilities y."""
    A, C, B = x.shape
    x2, out2 = x.reshape(A, C * B), out.reshape(A, C * B)
    for a in prange(A):
        for b in range(B):
            m, s = _stats(x, x2, a, b)
            total = 0.0
            for c in range(C):
                total += w[c] * ((1.0 - eps) * y[a, c, b] + eps / C)
            gab = float(g[a, b])
            _softmax_times(x, x2, a, b, m, gab * total / float(s), out, out2)
            for c in range(C):
                out[a, c, b] -= gab * w[c] * ((1.0 - eps) * y[a, c, b] + eps / C)


@njit(cache=True, parallel=True, error_model="numpy")
def target_distribution(t, w, ignore_index, eps, out):
    """out[a, :, b] = q for class indices t (A, B): the dense weighted target distribution."""
    A, C, B = out.shape
    for a in prange(A):
        for b in range(B):
            k = t[a, b]
            for c in range(C):
                out[a, c, b] = 0 if k == ignore_index else eps / C * w[c]
            if k != ignore_index:
                out[a, k, b] += (1.0 - eps) * w[k]


@njit(cache=True, error_model="numpy", fastmath=_FAST)
def cross_entropy_indices(x, t, w, ignore_index, eps, out):
    """Serial ``_cross_entropy_indices``: for small batches, where a thread launch costs more than it saves."""
    _cross_entropy_indices(x, t, w, ignore_index, eps, out)


@njit(cache=True, parallel=True, error_model="numpy", fastmath=_FAST)
def cross_entropy_indices_par(x, t, w, ignore_index, eps, out):
    """Parallel (over the batch) ``_cross_entropy_indices``."""
    _cross_entropy_indices(x, t, w, ignore_index, eps, out)


@njit(cache=True, error_model="numpy", fastmath=_FAST)
def cross_entropy_indices_backward(x, t, w, ignore_index, eps, g, out):
    """Serial ``_cross_entropy_indices_backward``: for small batches, where a thread launch costs more than it saves."""
    _cross_entropy_indices_backward(x, t, w, ignore_index, eps, g, out)


@njit(cache=True, parallel=True, error_model="numpy", fastmath=_FAST)
def cross_entropy_indices_backward_par(x, t, w, ignore_index, eps, g, out):
    """Parallel (over the batch) ``_cross_entropy_indices_backward``."""
    _cross_entropy_indices_backward(x, t, w, ignore_index, eps, g, out)


@njit(cache=True, error_model="numpy", fastmath=_FAST)
def cross_entropy_probs(x, y, w, eps, out):
    """Serial ``_cross_entropy_probs``: for small batches, where a thread launch costs more than it saves."""
    _cross_entropy_probs(x, y, w, eps, out)


@njit(cache=True, parallel=True, error_model="numpy", fastmath=_FAST)
def cross_entropy_probs_par(x, y, w, eps, out):
    """Parallel (over the batch) ``_cross_entropy_probs``."""
    _cross_entropy_probs(x, y, w, eps, out)


@njit(cache=True, error_model="numpy", fastmath=_FAST)
def cross_entropy_probs_backward(x, y, w, eps, g, out):
    """Serial ``_cross_entropy_probs_backward``: for small batches, where a thread launch costs more than it saves."""
    _cross_entropy_probs_backward(x, y, w, eps, g, out)


@njit(cache=True, parallel=True, error_model="numpy", fastmath=_FAST)
def cross_entropy_probs_backward_par(x, y, w, eps, g, out):
    """Parallel (over the batch) ``_cross_entropy_probs_backward``."""
    _cross_entropy_probs_backward(x, y, w, eps, g, out)



guard_kernels(globals())
