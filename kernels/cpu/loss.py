"""Fused softmax cross-entropy kernels.

Logits are seen as ``(A, C, B)``: A the batch, C the classes, B the product of any extra
dims (1 for the usual ``(N, C)``). Every loss is ``-sum_c q[c] * log_softmax(x)[c]`` for a
weighted target distribution ``q``:

* class indices ``t``: ``q = (1 - eps) * w[t] * onehot(t) + eps / C * w`` (``q = 0`` where
  ``t == ignore_index``);
* class probabilities ``y``: ``q = w * ((1 - eps) * y + eps / C)``.

so the gradient w.r.t. the logits is ``g * (softmax(x) * sum_c q - q)``. The stable,
vectorised parts come from ``reduce``: the forward kernels read ``log_softmax(x)`` (max
subtracted, so logits of any magnitude give a finite loss) and the backward kernels turn
``softmax(x)``, written into their output by the caller, into the gradient in place, one
pass over each row. Targets are validated by the caller (``first_bad_target``). Each
kernel is an inlined body with a serial and a parallel (``_par``) entry point;
``PARALLEL_MIN`` logits is where the parallel one pays.
"""

from __future__ import annotations

from numba import njit, prange

PARALLEL_MIN = 1 << 16


@njit(inline="always")
def _scale_row(row, scale):
    for c in range(row.shape[0]):
        row[c] *= scale


@njit(inline="always")
def _scale(p, p2, a, b, scale):
    """p[a, :, b] *= scale. p2 is p seen as (A, C * B): with B == 1 its rows are the class
    rows, contiguous, so the loop vectorises; otherwise the rows are strided views."""
    if p.shape[2] == 1:
        _scale_row(p2[a], scale)
    else:
        _scale_row(p[a, :, b], scale)


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
def _cross_entropy_indices(logp, t, w, ignore_index, eps, out):
    """out[a, b] = -sum_c q[c] * logp[a, c, b], q from class indices t (A, B)."""
    A, C, B = logp.shape
    for a in prange(A):
        for b in range(B):
            k = t[a, b]
            if k == ignore_index:
                out[a, b] = 0
                continue
            loss = -(1.0 - eps) * w[k] * logp[a, k, b]
            if eps != 0.0:
                s = 0.0
                for c in range(C):
                    s += w[c] * logp[a, c, b]
                loss -= eps / C * s
            out[a, b] = loss


@njit(inline="always")
def _cross_entropy_indices_backward(t, w, ignore_index, eps, g, p):
    """p[a, :, b] = g[a, b] * (p[a, :, b] * sum(q) - q), q from indices t; p holds
    softmax(x) on entry and the gradient on return."""
    A, C, B = p.shape
    wsum = 0.0
    for c in range(C):
        wsum += w[c]
    p2 = p.reshape(A, C * B)
    for a in prange(A):
        for b in range(B):
            k = t[a, b]
            if k == ignore_index:
                _scale(p, p2, a, b, 0.0)
                continue
            gab = float(g[a, b])
            _scale(p, p2, a, b, gab * ((1.0 - eps) * w[k] + eps / C * wsum))
            if eps != 0.0:
                for c in range(C):
                    p[a, c, b] -= gab * eps / C * w[c]
            p[a, k, b] -= gab * (1.0 - eps) * w[k]


@njit(inline="always")
def _cross_entropy_probs(logp, y, w, eps, out):
    """out[a, b] = -sum_c q[c] * logp[a, c, b], q = w * ((1 - eps) * y + eps / C)."""
    A, C, B = logp.shape
    for a in prange(A):
        for b in range(B):
            loss = 0.0
            for c in range(C):
                loss -= w[c] * ((1.0 - eps) * y[a, c, b] + eps / C) * logp[a, c, b]
            out[a, b] = loss


@njit(inline="always")
def _cross_entropy_probs_backward(y, w, eps, g, p):
    """p[a, :, b] = g[a, b] * (p[a, :, b] * sum(q) - q), q from probabilities y; p holds
    softmax(x) on entry and the gradient on return."""
    A, C, B = p.shape
    p2 = p.reshape(A, C * B)
    for a in prange(A):
        for b in range(B):
            total = 0.0
            for c in range(C):
                total += w[c] * ((1.0 - eps) * y[a, c, b] + eps / C)
            gab = float(g[a, b])
            _scale(p, p2, a, b, gab * total)
            for c in range(C):
                p[a, c, b] -= gab * w[c] * ((1.0 - eps) * y[a, c, b] + eps / C)


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
def cross_entropy_indices(logp, t, w, ignore_index, eps, out):
    """Serial ``_cross_entropy_indices``: for small batches, where a thread launch costs more than it saves."""
    _cross_entropy_indices(logp, t, w, ignore_index, eps, out)


@njit(cache=True, parallel=True, error_model="numpy")
def cross_entropy_indices_par(logp, t, w, ignore_index, eps, out):
    """Parallel (over the batch) ``_cross_entropy_indices``."""
    _cross_entropy_indices(logp, t, w, ignore_index, eps, out)


@njit(cache=True, error_model="numpy")
def cross_entropy_indices_backward(t, w, ignore_index, eps, g, p):
    """Serial ``_cross_entropy_indices_backward``: for small batches, where a thread launch costs more than it saves."""
    _cross_entropy_indices_backward(t, w, ignore_index, eps, g, p)


@njit(cache=True, parallel=True, error_model="numpy")
def cross_entropy_indices_backward_par(t, w, ignore_index, eps, g, p):
    """Parallel (over the batch) ``_cross_entropy_indices_backward``."""
    _cross_entropy_indices_backward(t, w, ignore_index, eps, g, p)


@njit(cache=True, error_model="numpy")
def cross_entropy_probs(logp, y, w, eps, out):
    """Serial ``_cross_entropy_probs``: for small batches, where a thread launch costs more than it saves."""
    _cross_entropy_probs(logp, y, w, eps, out)


@njit(cache=True, parallel=True, error_model="numpy")
def cross_entropy_probs_par(logp, y, w, eps, out):
    """Parallel (over the batch) ``_cross_entropy_probs``."""
    _cross_entropy_probs(logp, y, w, eps, out)


@njit(cache=True, error_model="numpy")
def cross_entropy_probs_backward(y, w, eps, g, p):
    """Serial ``_cross_entropy_probs_backward``: for small batches, where a thread launch costs more than it saves."""
    _cross_entropy_probs_backward(y, w, eps, g, p)


@njit(cache=True, parallel=True, error_model="numpy")
def cross_entropy_probs_backward_par(y, w, eps, g, p):
    """Parallel (over the batch) ``_cross_entropy_probs_backward``."""
    _cross_entropy_probs_backward(y, w, eps, g, p)
