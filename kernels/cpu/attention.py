"""Fused scaled-dot-product attention, forward and backward, flash-attention style.

Operands are 4-D ``(A, B, T, D)`` views (any strides, the batch dims may be broadcast with
stride 0); a query row attends over the key rows of the same ``(a, b)``. The forward walks
a block of query rows over blocks of key rows with an online softmax (running row max
``m`` and sum ``l``, the output accumulated and rescaled as the max grows), so the
``T x S`` score matrix of a head never exists: a job holds one ``BQ x BK`` tile. It writes
the output and the per-row log-sum-exp ``lse = m + log(l)``; the backward recomputes each
tile's probabilities from ``lse`` (``P = exp(s - lse)``) and accumulates

    dV += P^T dO,   dP = dO V^T,   dS = P * (dP - rowsum(dO * O)) * scale,
    dQ += dS K,     dK += dS^T Q

tile by tile. Products are single-threaded BLAS calls (``blas.gemm``) on the tiles; the
parallelism is ``prange`` over (batch x heads x query blocks) forward and over
(batch x heads) backward, where one head's dK and dV accumulate in one job.

Masks: ``mask`` is an additive float mask broadcast to ``(A, B, T, S)`` (a boolean mask is
turned into 0 / -inf by the caller), read only when ``has_mask``; ``causal`` keeps key
``j <= i`` (the top-left aligned lower triangle, as torch's ``is_causal``) and skips tiles
above the diagonal. A row whose every score is -inf gets a zero output and zero
gradients (torch's behaviour), its ``lse`` is -inf.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from . import vmath
from .blas import gemm, one_blas_thread
from ..guard import guard_kernels

BQ = 128   # query rows per tile
BK = 256  # key rows per tile


@njit(inline="always")
def _scaled_rows(q, a, b, i0, i1, scale, qs):
    """qs[:ni] = scale * q[a, b, i0:i1], so that the score tiles need no scaling pass."""
    for r in range(i1 - i0):
        src, dst = q[a, b, i0 + r], qs[r]
        for c in range(src.shape[0]):
            dst[c] = src[c] * scale


@njit(inline="always")
def _scores(qs, k, mask, has_mask, causal, a, b, i0, i1, j0, j1, s):
    """s[:ni, :nj] = qs[:ni] @ k[j0:j1]^T (+ mask), causally masked entries -inf."""
    ni, nj = i1 - i0, j1 - j0
    gemm(qs[:ni], k[a, b, j0:j1].T, s[:ni, :nj])
    if has_mask:
        for r in range(ni):
            row, mrow = s[r], mask[a, b, i0 + r]
            for c in range(nj):
                row[c] += mrow[j0 + c]
    if causal and j1 > i0 + 1:
        neg = -np.inf
        for r in range(ni):
            row = s[r]
            for c in range(max(i0 + r + 1 - j0, 0), nj):
                row[c] = neg


@njit(inline="always")
def _key_end(causal, i1, S):
    """The end of the key rows query rows below ``i1`` may see."""
    return min(i1, S) if causal else S


@njit(cache=True, error_model="numpy", parallel=True)
def sdpa_forward(q, k, v, mask, has_mask, causal, scale, out, lse):
    """out[a, b] = softmax(scale * q k^T + mask) v; lse[a, b, i] = log-sum-exp of row i's scores."""
    A, B, L, _ = q.shape
    S, Ev = k.shape[2], v.shape[3]
    nqb = (L + BQ - 1) // BQ
    for job in prange(A * B * nqb):
        ab, qb = job // nqb, job % nqb
        a, b = ab // B, ab % B
        i0 = qb * BQ
        i1 = min(i0 + BQ, L)
        ni = i1 - i0
        s = np.empty((BQ, BK), q.dtype)
        qs = np.empty((BQ, q.shape[3]), q.dtype)
        _scaled_rows(q, a, b, i0, i1, scale, qs)
        acc = np.zeros((BQ, Ev), q.dtype)
        m = np.full(BQ, -np.inf, q.dtype)
        ell = np.zeros(BQ, q.dtype)
        kend = _key_end(causal, i1, S)
        for j0 in range(0, kend, BK):
            j1 = min(j0 + BK, kend)
            nj = j1 - j0
            _scores(qs, k, mask, has_mask, causal, a, b, i0, i1, j0, j1, s)
            for r in range(ni):
                row = s[r]
                mx = m[r]
                for c in range(nj):
                    mx = vmath.maximum(mx, row[c])
                if mx == -np.inf:  # nothing seen yet in this row: keep the zero tile
                    for c in range(nj):
                        row[c] = 0
                    continue
                alpha = vmath.exp(m[r] - mx)
                tot = scale * 0
                for c in range(nj):
                    p = vmath.exp(row[c] - mx)
                    row[c] = p
                    tot += p
                ell[r] = ell[r] * alpha + tot
                m[r] = mx
                arow = acc[r]
                for c in range(Ev):
                    arow[c] *= alpha
            gemm(s[:ni, :nj], v[a, b, j0:j1], acc[:ni], 1.0)
        for r in range(ni):
            orow = out[a, b, i0 + r]
            if ell[r] == 0:
                for c in range(Ev):
                    orow[c] = 0
                lse[a, b, i0 + r] = -np.inf
            else:
                for c in range(Ev):
                    orow[c] = acc[r, c] / ell[r]
                lse[a, b, i0 + r] = m[r] + vmath.log(ell[r])


@njit(cache=True, error_model="numpy", parallel=True)
def sdpa_backward(q, k, v, mask, has_mask, causal, scale, out, lse, dout, dq, dk, dv):
    """dq, dk, dv (C-contiguous (A, B, *, *), overwritten) of sdpa_forward, given dout."""
    A, B, L, _ = q.shape
    S, Ev = k.shape[2], v.shape[3]
    for ab in prange(A * B):
        a, b = ab // B, ab % B
        s = np.empty((BQ, BK), q.dtype)
        dp = np.empty((BQ, BK), q.dtype)
        qs = np.empty((BQ, q.shape[3]), q.dtype)
        delta = np.empty(BQ, q.dtype)
        dq[a, b] = 0
        dk[a, b] = 0
        dv[a, b] = 0
        for i0 in range(0, L, BQ):
            i1 = min(i0 + BQ, L)
            ni = i1 - i0
            _scaled_rows(q, a, b, i0, i1, scale, qs)
            for r in range(ni):
                t = scale * 0
                orow, grow = out[a, b, i0 + r], dout[a, b, i0 + r]
                for c in range(Ev):
                    t += orow[c] * grow[c]
                delta[r] = t
            kend = _key_end(causal, i1, S)
            for j0 in range(0, kend, BK):
                j1 = min(j0 + BK, kend)
                nj = j1 - j0
                _scores(qs, k, mask, has_mask, causal, a, b, i0, i1, j0, j1, s)
                for r in range(ni):
                    row, mr = s[r], lse[a, b, i0 + r]
                    if mr == -np.inf:
                        for c in range(nj):
                            row[c] = 0
                    else:
                        for c in range(nj):
                            row[c] = vmath.exp(row[c] - mr)
                ps = s[:ni, :nj]
                gemm(ps.T, dout[a, b, i0:i1], dv[a, b, j0:j1], 1.0)
                gemm(dout[a, b, i0:i1], v[a, b, j0:j1].T, dp[:ni, :nj])
                for r in range(ni):
                    prow, drow, dr = s[r], dp[r], delta[r]
                    for c in range(nj):
                        drow[c] = prow[c] * (drow[c] - dr) * scale
                ds = dp[:ni, :nj]
                gemm(ds, k[a, b, j0:j1], dq[a, b, i0:i1], 1.0)
                gemm(ds.T, q[a, b, i0:i1], dk[a, b, j0:j1], 1.0)


def forward(q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: np.ndarray | None, causal: bool,
            scale: float) -> tuple[np.ndarray, np.ndarray]:
    """(out, lse) for 4-D float q (A, B, L, E), k (A, B, S, E), v (A, B, S, Ev) of one dtype."""
    one_blas_thread()
    A, B, L, _ = q.shape
    out = np.empty((A, B, L, v.shape[3]), q.dtype)
    lse = np.empty((A, B, L), q.dtype)
    sdpa_forward(q, k, v, _mask_or_dummy(mask, q), mask is not None, causal, q.dtype.type(scale), out, lse)
    return out, lse


def backward(q, k, v, mask, causal, scale, out, lse, dout) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dq, dk, dv), C-contiguous, for the operands and results of ``forward``."""
    one_blas_thread()
    shape = q.shape[:2]
    dq = np.empty(shape + q.shape[2:], q.dtype)
    dk = np.empty(shape + k.shape[2:], q.dtype)
    dv = np.empty(shape + v.shape[2:], q.dtype)
    sdpa_backward(q, k, v, _mask_or_dummy(mask, q), mask is not None, causal, q.dtype.type(scale), out,
                  lse, dout, dq, dk, dv)
    return dq, dk, dv


def _mask_or_dummy(mask, q):
    # one array type for both cases, so the kernel compiles once per dtype and layout
    return mask if mask is not None else np.broadcast_to(np.zeros(1, q.dtype), (1, 1, 1, 1))



guard_kernels(globals())
