"""Fused softmax cross-entropy kernels.

Logits are seen as ``(A, C, B)``: A the batch, C the classes, B the product of any extra
dims (1 for the usual ``(N, C)``). Every loss is ``-sum_c q[c] * log_softmax(x)[c]`` for a
weighted target distribution ``q``:

* class indices ``t``: ``q = (1 - eps) * w[t] * onehot(t) + eps / C * w`` (``q = 0`` where
  ``t == ignore_index``);
* class probabilities ``y``: ``q = w * ((1 - eps) * y + eps / C)``.

so the gradient w.r.t. the logits is ``g * (softmax(x) * sum_c q - q)``. The forward
computes ``logsumexp`` with the max subtracted and accumulates in float64, so logits of
any magnitude give a finite loss; the backward recomputes the softmax (one extra pass
over C values is cheaper than saving it). Targets are validated by the caller
(``first_bad_target``). Each kernel is an inlined body with a serial and a parallel
(``_par``) entry point; ``PARALLEL_MIN`` logits is where the parallel one pays.
"""

from __future__ import annotations

import math

from numba import njit, prange

from . import vmath

PARALLEL_MIN = 1 << 16


@njit(inline="always")
def _logsumexp(x, a, b):
    C = x.shape[1]
    m = x[a, 0, b]
    for c in range(1, C):
        v = x[a, c, b]
        if v > m or v != v:
            m = v
    if math.isinf(m):
        return float(m)
    s = 0.0
    for c in range(C):
        s += vmath.exp(x[a, c, b] - m)  # vectorisable exp in x's dtype; the sum in float64
    return float(m) + math.log(s)


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
    for a in prange(A):
        for b in range(B):
            k = t[a, b]
            if k == ignore_index:
                out[a, b] = 0
                continue
            lse = _logsumexp(x, a, b)
            loss = (1.0 - eps) * w[k] * (lse - x[a, k, b])
            if eps != 0.0:
                s = 0.0
                for c in range(C):
                    s += w[c] * (lse - x[a, c, b])
                loss += eps / C * s
            out[a, b] = loss


@njit(inline="always")
def _cross_entropy_indices_backward(x, t, w, ignore_index, eps, g, out):
    """out[a, :, b] = g[a, b] * (softmax(x[a, :, b]) * sum(q) - q), q from indices t."""
    A, C, B = x.shape
    wsum = 0.0
    for c in range(C):
        wsum += w[c]
    for a in prange(A):
        for b in range(B):
            k = t[a, b]
            if k == ignore_index:
                for c in range(C):
                    out[a, c, b] = 0
                continue
            lse = _logsumexp(x, a, b)
            gab = float(g[a, b])
            total = (1.0 - eps) * w[k] + eps / C * wsum
            for c in range(C):
                q = eps / C * w[c]
                if c == k:
                    q += (1.0 - eps) * w[k]
                out[a, c, b] = gab * (vmath.exp(float(x[a, c, b]) - lse) * total - q)


@njit(inline="always")
def _cross_entropy_probs(x, y, w, eps, out):
    """out[a, b] = -sum_c q[c] * log_softmax(x[a, :, b])[c], q = w * ((1 - eps) * y + eps / C)."""
    A, C, B = x.shape
    for a in prange(A):
        for b in range(B):
            lse = _logsumexp(x, a, b)
            loss = 0.0
            for c in range(C):
                loss += w[c] * ((1.0 - eps) * y[a, c, b] + eps / C) * (lse - x[a, c, b])
            out[a, b] = loss


@njit(inline="always")
def _cross_entropy_probs_backward(x, y, w, eps, g, out):
    """out[a, :, b] = g[a, b] * (softmax(x[a, :, b]) * sum(q) - q), q from probabilities y."""
    A, C, B = x.shape
    for a in prange(A):
        for b in range(B):
            lse = _logsumexp(x, a, b)
            total = 0.0
            for c in range(C):
                total += w[c] * ((1.0 - eps) * y[a, c, b] + eps / C)
            gab = float(g[a, b])
            for c in range(C):
                q = w[c] * ((1.0 - eps) * y[a, c, b] + eps / C)
                out[a, c, b] = gab * (vmath.exp(float(x[a, c, b]) - lse) * total - q)


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


@njit(cache=True, error_model="numpy")
def cross_entropy_indices(x, t, w, ignore_index, eps, out):
    """Serial ``_cross_entropy_indices``: for small batches, where a thread launch costs more than it saves."""
    _cross_entropy_indices(x, t, w, ignore_index, eps, out)


@njit(cache=True, parallel=True, error_model="numpy")
def cross_entropy_indices_par(x, t, w, ignore_index, eps, out):
    """Parallel (over the batch) ``_cross_entropy_indices``."""
    _cross_entropy_indices(x, t, w, ignore_index, eps, out)


@njit(cache=True, error_model="numpy")
def cross_entropy_indices_backward(x, t, w, ignore_index, eps, g, out):
    """Serial ``_cross_entropy_indices_backward``: for small batches, where a thread launch costs more than it saves."""
    _cross_entropy_indices_backward(x, t, w, ignore_index, eps, g, out)


@njit(cache=True, parallel=True, error_model="numpy")
def cross_entropy_indices_backward_par(x, t, w, ignore_index, eps, g, out):
    """Parallel (over the batch) ``_cross_entropy_indices_backward``."""
    _cross_entropy_indices_backward(x, t, w, ignore_index, eps, g, out)


@njit(cache=True, error_model="numpy")
def cross_entropy_probs(x, y, w, eps, out):
    """Serial ``_cross_entropy_probs``: for small batches, where a thread launch costs more than it saves."""
    _cross_entropy_probs(x, y, w, eps, out)


@njit(cache=True, parallel=True, error_model="numpy")
def cross_entropy_probs_par(x, y, w, eps, out):
    """Parallel (over the batch) ``_cross_entropy_probs``."""
    _cross_entropy_probs(x, y, w, eps, out)


@njit(cache=True, error_model="numpy")
def cross_entropy_probs_backward(x, y, w, eps, g, out):
    """Serial ``_cross_entropy_probs_backward``: for small batches, where a thread launch costs more than it saves."""
    _cross_entropy_probs_backward(x, y, w, eps, g, out)


@njit(cache=True, parallel=True, error_model="numpy")
def cross_entropy_probs_backward_par(x, y, w, eps, g, out):
    """Parallel (over the batch) ``_cross_entropy_probs_backward``."""
    _cross_entropy_probs_backward(x, y, w, eps, g, out)
