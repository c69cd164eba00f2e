"""Reductions, softmax and cross-entropy, forward + backward, on float32.

``sum``, ``amax``, ``logsumexp`` and ``softmax`` over each axis of an n x n matrix
(n = 2048; the two axes exercise the reduce kernels' (A, K, B) layouts: K strided for
dim=0, contiguous for dim=1), and ``cross_entropy`` of n x n logits against class
targets. The NumPy baselines write each backward by hand (the gradient is materialised,
as autodiff and torch do, not left as a broadcast view). ``bench_cuda.py`` reuses
``REDUCTIONS``.
"""

from __future__ import annotations

import numpy as np
import pytest

import autodiff as ad
from benchmarks.common import LIBS, Workload, fwd_bwd, pick, random_inputs


def _spread(g, dim, shape):
    """``g`` (reduced over ``dim``) broadcast back to ``shape``, as a new array."""
    return np.broadcast_to(np.expand_dims(g, dim), shape).copy()


def _sum(x, dim):
    return x.sum(dim), lambda g: (_spread(g, dim, x.shape),)


def _amax(x, dim):
    out = x.max(dim)
    return out, lambda g: ((x == np.expand_dims(out, dim)) * np.expand_dims(g, dim),)


def _exp_shifted(x, dim):
    """``exp(x - max)`` and its sum over ``dim`` (kept), the stable core of both softmaxes."""
    m = x.max(dim, keepdims=True)
    e = np.exp(x - m)
    return m, e, e.sum(dim, keepdims=True)


def _logsumexp(x, dim):
    m, e, s = _exp_shifted(x, dim)
    return (m + np.log(s)).squeeze(dim), lambda g: (e / s * np.expand_dims(g, dim),)


def _softmax(x, dim):
    _, e, s = _exp_shifted(x, dim)
    y = e / s
    return y, lambda g: (y * (g - (g * y).sum(dim, keepdims=True)),)


def _cross_entropy(z, target):
    m, e, s = _exp_shifted(z, 1)
    rows = np.arange(len(target))
    loss = np.mean(m[:, 0] + np.log(s[:, 0]) - z[rows, target])

    def backward(g):
        grad = e / s
        grad[rows, target] -= 1
        return (grad * (g / len(target)),)
    return loss, backward


def _over(dim, method, numpy_fn) -> Workload:
    return Workload(lambda T, x: getattr(x, method)(dim=dim), lambda x: numpy_fn(x, dim))


REDUCTIONS = {f"{name} dim={dim}": _over(dim, name, fn)
              for name, fn in (("sum", _sum), ("amax", _amax), ("logsumexp", _logsumexp), ("softmax", _softmax))
              for dim in (0, 1)}
CROSS_ENTROPY = Workload(lambda T, z, t: T.nn.functional.cross_entropy(z, t), _cross_entropy)


def _n(request) -> int:
    return pick(request, full=2048, quick=1024, smoke=64)


@pytest.mark.parametrize("op", list(REDUCTIONS))
@pytest.mark.parametrize("lib", LIBS)
def test_reduction(benchmark, request, lib, op):
    n = _n(request)
    fwd_bwd(benchmark, request, lib, f"reduce {op} fwd+bwd {n}x{n}", REDUCTIONS[op], random_inputs((n, n)))


@pytest.mark.skipif(not hasattr(ad.nn.functional, "cross_entropy"),
                    reason="autodiff.nn.functional.cross_entropy does not exist yet")
@pytest.mark.parametrize("lib", LIBS)
def test_cross_entropy(benchmark, request, lib):
    n = _n(request)
    target = np.random.default_rng(2).integers(0, n, n)
    fwd_bwd(benchmark, request, lib, f"reduce cross_entropy fwd+bwd {n}x{n}", CROSS_ENTROPY,
            random_inputs((n, n)), (target,))
