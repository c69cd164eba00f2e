"""Fused softmax cross-entropy on the device, over ``kernels.cpu.loss``'s (A, C, B) layout.

The math and the contract are the CPU kernels' (see ``kernels/cpu/loss.py``): every loss
is ``-sum_c q[c] * log_softmax(x)[c]`` for the weighted target distribution ``q``, and its
gradient w.r.t. the logits is ``g * (softmax(x) * sum(q) - q)``. One thread per row
``(a, b)`` (grid-stride over the A*B rows), each walking its C classes three times (max,
sum of exp, write): rows are independent, so the row count fills the GPU for any batch
of useful size. The loss and the weights are float64, as on the CPU (``w`` is float64
there too); the per-class exponentials are in the logits' dtype.

Targets are validated by the caller before a launch (``first_bad`` below, or the bounds
the backend knew when the targets came from the host), so ``x[a, k, b]`` never reads out
of range.
"""

from __future__ import annotations

import math

from numba import cuda

from . import launch


@cuda.jit(cache=True)
def indices_k(x, t, w, ignore_index, eps, out):
    """out[a, b] = loss of row (a, b) against class index t[a, b]."""
    a_n, c_n, b_n = x.shape
    for r in range(cuda.grid(1), a_n * b_n, cuda.gridsize(1)):
        a = r // b_n
        b = r - a * b_n
        k = t[a, b]
        if k == ignore_index:
            out[a, b] = 0
            continue
        m = x[a, 0, b]
        for c in range(1, c_n):
            v = x[a, c, b]
            m = v if (v > m or v != v) else m
        s = 0.0
        for c in range(c_n):
            s += math.exp(x[a, c, b] - m)
        fm = float(m)
        ls = math.log(s)
        loss = (1.0 - eps) * w[k] * ((fm - x[a, k, b]) + ls)
        if eps != 0.0:
            acc = 0.0
            for c in range(c_n):
                acc += w[c] * ((fm - x[a, c, b]) + ls)
            loss += eps / c_n * acc
        out[a, b] = loss


@cuda.jit(cache=True)
def indices_backward_k(x, t, w, ignore_index, eps, g, out):
    """out[a, :, b] = g[a, b] * (softmax(x[a, :, b]) * sum(q) - q), q from class indices."""
    a_n, c_n, b_n = x.shape
    wsum = 0.0
    for c in range(c_n):
        wsum += w[c]
    for r in range(cuda.grid(1), a_n * b_n, cuda.gridsize(1)):
        a = r // b_n
        b = r - a * b_n
        k = t[a, b]
        m = x[a, 0, b]
        for c in range(1, c_n):
            v = x[a, c, b]
            m = v if (v > m or v != v) else m
        s = 0.0
        for c in range(c_n):
            s += math.exp(x[a, c, b] - m)
        if k == ignore_index:  # 0 * softmax, NaN where the row's softmax is (torch's too)
            for c in range(c_n):
                out[a, c, b] = 0.0 / s * math.exp(x[a, c, b] - m)
            continue
        gab = float(g[a, b])
        scale = gab * ((1.0 - eps) * w[k] + eps / c_n * wsum) / s
        for c in range(c_n):
            out[a, c, b] = scale * math.exp(x[a, c, b] - m) - gab * eps / c_n * w[c]
        out[a, k, b] -= gab * (1.0 - eps) * w[k]


@cuda.jit(cache=True)
def probs_k(x, y, w, eps, out):
    """out[a, b] = -sum_c q[c] * log_softmax(x[a, :, b])[c], q = w * ((1 - eps) * y + eps / C)."""
    a_n, c_n, b_n = x.shape
    for r in range(cuda.grid(1), a_n * b_n, cuda.gridsize(1)):
        a = r // b_n
        b = r - a * b_n
        m = x[a, 0, b]
        for c in range(1, c_n):
            v = x[a, c, b]
            m = v if (v > m or v != v) else m
        s = 0.0
        for c in range(c_n):
            s += math.exp(x[a, c, b] - m)
        fm = float(m)
        ls = math.log(s)
        loss = 0.0
        for c in range(c_n):
            loss += w[c] * ((1.0 - eps) * y[a, c, b] + eps / c_n) * ((fm - x[a, c, b]) + ls)
        out[a, b] = loss


@cuda.jit(cache=True)
def probs_backward_k(x, y, w, eps, g, out):
    """out[a, :, b] = g[a, b] * (softmax(x[a, :, b]) * sum(q) - q), q from probabilities y."""
    a_n, c_n, b_n = x.shape
    for r in range(cuda.grid(1), a_n * b_n, cuda.gridsize(1)):
        a = r // b_n
        b = r - a * b_n
        m = x[a, 0, b]
        for c in range(1, c_n):
            v = x[a, c, b]
            m = v if (v > m or v != v) else m
        s = 0.0
        total = 0.0
        for c in range(c_n):
            s += math.exp(x[a, c, b] - m)
            total += w[c] * ((1.0 - eps) * y[a, c, b] + eps / c_n)
        gab = float(g[a, b])
        for c in range(c_n):
            q = w[c] * ((1.0 - eps) * y[a, c, b] + eps / c_n)
            out[a, c, b] = gab * total / s * math.exp(x[a, c, b] - m) - gab * q


@cuda.jit(cache=True)
def target_distribution_k(t, w, ignore_index, eps, out):
    """out[a, :, b] = q for class indices t (A, B)."""
    a_n, c_n, b_n = out.shape
    for r in range(cuda.grid(1), a_n * b_n, cuda.gridsize(1)):
        a = r // b_n
        b = r - a * b_n
        k = t[a, b]
        for c in range(c_n):
            out[a, c, b] = 0 if k == ignore_index else eps / c_n * w[c]
        if k != ignore_index:
            out[a, k, b] += (1.0 - eps) * w[k]


@cuda.jit(cache=True)
def first_bad_k(t, c_n, ignore_index, pos):
    """pos[0] = min(pos[0], the flat position of each target outside [0, C) but ignore_index)."""
    for i in range(cuda.grid(1), t.shape[0], cuda.gridsize(1)):
        v = t[i]
        if (v < 0 or v >= c_n) and v != ignore_index:
            cuda.atomic.min(pos, 0, i)


@cuda.jit(cache=True)
def weight_sum_k(t, w, ignore_index, acc):
    """acc[0] += w[t[i]] over the targets other than ignore_index (validated before)."""
    for i in range(cuda.grid(1), t.shape[0], cuda.gridsize(1)):
        v = t[i]
        if v != ignore_index:
            cuda.atomic.add(acc, 0, w[v])


def _rows(x) -> tuple[int, int]:
    return launch.grid(x.shape[0] * x.shape[2])


def cross_entropy_indices(x, t, w, ignore_index, eps, out) -> None:
    indices_k[_rows(x)](x, t, w, ignore_index, eps, out)


def cross_entropy_indices_backward(x, t, w, ignore_index, eps, g, out) -> None:
    indices_backward_k[_rows(x)](x, t, w, ignore_index, eps, g, out)


def cross_entropy_probs(x, y, w, eps, out) -> None:
    probs_k[_rows(x)](x, y, w, eps, out)


def cross_entropy_probs_backward(x, y, w, eps, g, out) -> None:
    probs_backward_k[_rows(x)](x, y, w, eps, g, out)


def target_distribution(t, w, ignore_index, eps, out) -> None:
    target_distribution_k[_rows(out)](t, w, ignore_index, eps, out)


def first_bad(t, c_n: int, ignore_index: int, pos) -> None:
    """Write into the 1-element int64 ``pos`` (preset to ``t.size``) the first bad position of flat ``t``."""
    first_bad_k[launch.grid(t.shape[0])](t, c_n, ignore_index, pos)


def weight_sum(t, w, ignore_index: int, acc) -> None:
    """Add into the 1-element float64 ``acc`` (preset to 0) the weights of the counted targets of flat ``t``."""
    weight_sum_k[launch.grid(t.shape[0])](t, w, ignore_index, acc)


KERNELS = {"indices": indices_k, "indices_backward": indices_backward_k, "probs": probs_k,
           "probs_backward": probs_backward_k, "target_distribution": target_distribution_k,
           "first_bad": first_bad_k, "weight_sum": weight_sum_k}
