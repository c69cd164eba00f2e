"""Fused scaled-dot-product attention, forward and backward, flash-attention style.

Operands are 4-D ``(A, B, T, D)`` views (any strides, the batch dims may be broadcast with
stride 0); a query row attends over the key rows of the same ``(a, b)``. The forward walks
a block of query rows over blocks of key rows with an online softmax (running row max
``m`` and sum ``l``, the output accumulated and rescaled as the max grows), so the
``T x S`` score matrix of a head never exists: a job holds one ``bq x BK`` tile (``bq``
from ``query_block``). It writes the output and the per-row log-sum-exp
``lse = m + log(l)``; the backward recomputes each tile's probabilities from ``lse``
(``P = exp(s - lse)``) and accumulates

    dV += P^T dO,   dP = dO V^T,   dS = P * (dP - rowsum(dO * O)) * scale,
    dQ += dS K,     dK += dS^T Q

tile by tile. Products are single-threaded BLAS calls (``blas.gemm``) on the tiles; the
parallelism is ``prange`` over (batch x heads x query blocks) forward and over
(batch x heads) backward, where one head's dK and dV accumulate in one job; when there
are too few heads for the threads, each head's query blocks are split over several jobs
with partial dK and dV summed afterwards (``query_splits``).

Per score the forward makes three passes over its tile (row max, exp, row sum) and the
backward one (P and dS together); sums are kept out of the exp loops, which stay
vectorised that way (``_row_sum``). The exps are of scores less their row's maximum (or
log-sum-exp), never positive: ``vmath.exp_term``, which flushes terms below e**-87 to 0.

Masks: ``mask`` is an additive float mask broadcast to ``(A, B, T, S)`` (a boolean mask is
turned into 0 / -inf by the caller), read only when ``has_mask``; ``causal`` keeps key
``j <= i`` (the top-left aligned lower triangle, as torch's ``is_causal``) and skips tiles
above the diagonal. A row whose every score is -inf gets a zero output and zero
gradients (torch's behaviour), its ``lse`` is -inf.
"""

from __future__ import annotations

from typing import Callable

import numba
import numpy as np
from numba import njit, prange, types
from numba.core.imputils import impl_ret_borrowed
from numba.extending import intrinsic

from . import elementwise, vmath
from .blas import gemm, ready_blas
from ..guard import guard_kernels

BQ = 128   # query rows per tile
BQ_SHORT = 32  # ... for sequences of at most 2 * BQ_SHORT queries (``query_block``)
BK = 512  # key rows per tile (512 against 256: SDPA 4x8x1024x64 fwd+bwd 0.91x the time)


@intrinsic
def _unit(typingctx, row):
    """A 1-D view typed C-contiguous: what a row of a 4-D operand is when its last dim
    has a unit stride, which the Python entry points ensure. Loops over a row of a
    non-contiguous array (a head sliced out of a fused projection) are otherwise indexed
    by its runtime stride and stay scalar."""
    if not (isinstance(row, types.Array) and row.ndim == 1):
        return None
    sig = row.copy(layout="C")(row)

    def codegen(context, builder, sig, args):
        return impl_ret_borrowed(context, builder, sig.return_type, args[0])
    return sig, codegen


@njit(inline="always")
def _scaled_rows(q, a, b, i0, i1, scale, qs):
    """qs[:ni] = scale * q[a, b, i0:i1], so that the score tiles need no scaling pass."""
    for r in range(i1 - i0):
        src, dst = _unit(q[a, b, i0 + r]), qs[r]
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
            masked = s[r, max(i0 + r + 1 - j0, 0):nj]  # a slice, indexed from 0: a loop from a
            for c in range(masked.shape[0]):  # runtime start is wraparound-checked, scalar
                masked[c] = neg


@njit(inline="always")
def _key_end(causal, i1, S):
    """The end of the key rows query rows below ``i1`` may see."""
    return min(i1, S) if causal else S


@njit(error_model="numpy", fastmath={"reassoc"})
def _row_dot(u, w, n):
    """u[0] * w[0] + ... + u[n-1] * w[n-1], reassociated so that LLVM vectorises it: a running
    sum is a chain it may not reorder, and eight hand-interleaved partial sums stayed scalar
    too (0.3 ns a value against 0.06 in L1)."""
    t = u[0] * 0
    for c in range(n):
        t += u[c] * w[c]
    return t


@njit(error_model="numpy", fastmath={"reassoc"})
def _row_sum(row, n):
    """row[0] + ... + row[n-1], reassociated to vectorise (see ``_row_dot``)."""
    t = row[0] * 0
    for c in range(n):
        t += row[c]
    return t


@njit(cache=True, error_model="numpy", parallel=True)
def sdpa_forward(q, k, v, mask, has_mask, causal, scale, bq, out, lse):
    """out[a, b] = softmax(scale * q k^T + mask) v; lse[a, b, i] = log-sum-exp of row i's scores."""
    A, B, L, _ = q.shape
    S, Ev = k.shape[2], v.shape[3]
    nqb = (L + bq - 1) // bq
    for job in prange(A * B * nqb):
        ab, qb = job // nqb, job % nqb
        a, b = ab // B, ab % B
        i0 = qb * bq
        i1 = min(i0 + bq, L)
        ni = i1 - i0
        s = np.empty((bq, BK), q.dtype)
        qs = np.empty((bq, q.shape[3]), q.dtype)
        _scaled_rows(q, a, b, i0, i1, scale, qs)
        acc = np.zeros((bq, Ev), q.dtype)
        m = np.full(bq, -np.inf, q.dtype)
        ell = np.zeros(bq, q.dtype)
        kend = _key_end(causal, i1, S)
        for j0 in range(0, kend, BK):
            j1 = min(j0 + BK, kend)
            nj = j1 - j0
            _scores(qs, k, mask, has_mask, causal, a, b, i0, i1, j0, j1, s)
            for r in range(ni):
                row = s[r]
                mx = m[r]
                for c in range(nj):
                    mx = vmath.shift_max(mx, row[c])
                if mx == -np.inf:  # shift_max may skip a NaN: then the row's result is NaN
                    for c in range(nj):
                        if row[c] != row[c]:
                            mx = row[c]
                if mx == -np.inf:  # nothing seen yet in this row: keep the zero tile
                    for c in range(nj):
                        row[c] = 0
                    continue
                for c in range(nj):  # no running sum here: it would keep the loop scalar
                    row[c] = vmath.exp_term(row[c] - mx)
                alpha = vmath.exp_term(m[r] - mx)
                ell[r] = ell[r] * alpha + _row_sum(row, nj)
                m[r] = mx
                if alpha != 1:
                    arow = acc[r]
                    for c in range(Ev):
                        arow[c] *= alpha
            gemm(s[:ni, :nj], v[a, b, j0:j1], acc[:ni], 1.0)
        for r in range(ni):
            orow = _unit(out[a, b, i0 + r])
            if ell[r] == 0:
                for c in range(Ev):
                    orow[c] = 0
                lse[a, b, i0 + r] = -np.inf
            else:
                inv = 1 / ell[r]
                for c in range(Ev):
                    orow[c] = acc[r, c] * inv
                lse[a, b, i0 + r] = m[r] + vmath.log(ell[r])


@njit(cache=True, error_model="numpy", parallel=True)
def sdpa_backward(q, k, v, mask, has_mask, causal, scale, bq, out, lse, dout, splits, dq, dk_part, dv_part):
    """Gradients of sdpa_forward given dout: dq ((A, B, L, E), any strides, overwritten) and
    the partial dk, dv of ``splits`` jobs per head (``(A, B*splits, S, *)``, any strides,
    overwritten; job (a, b, sp) writes ``[a, b*splits + sp]``).

    Job (ab, sp) takes query blocks sp, sp + splits, ... of head ab (strided, so causal
    heads split evenly); with ``splits == 1`` its partials are the gradients themselves,
    else the caller sums them (``sum_partials``). Per tile, after the two products
    ``s = qs k^T`` and ``dp = dO v^T``, one pass makes ``P = exp(s - lse)`` and
    ``dS = P (dp - delta)``; the scale is folded into ``qs`` (for dK) and into dQ at the
    end of its block."""
    A, B, L, E = q.shape
    S, Ev = k.shape[2], v.shape[3]
    nqb = (L + bq - 1) // bq
    for job in prange(A * B * splits):
        ab, sp = job // splits, job % splits
        a, b = ab // B, ab % B
        s = np.empty((bq, BK), q.dtype)
        dp = np.empty((bq, BK), q.dtype)
        qs = np.empty((bq, E), q.dtype)
        delta = np.empty(bq, q.dtype)
        dk, dv = dk_part[a, b * splits + sp], dv_part[a, b * splits + sp]
        for j in range(S):
            dkj, dvj = _unit(dk[j]), _unit(dv[j])
            for c in range(E):
                dkj[c] = 0
            for c in range(Ev):
                dvj[c] = 0
        for qb in range(sp, nqb, splits):
            i0 = qb * bq
            i1 = min(i0 + bq, L)
            ni = i1 - i0
            _scaled_rows(q, a, b, i0, i1, scale, qs)
            for r in range(ni):
                delta[r] = _row_dot(_unit(out[a, b, i0 + r]), _unit(dout[a, b, i0 + r]), Ev)
            for r in range(ni):
                dqr = _unit(dq[a, b, i0 + r])
                for c in range(E):
                    dqr[c] = 0
            kend = _key_end(causal, i1, S)
            for j0 in range(0, kend, BK):
                j1 = min(j0 + BK, kend)
                nj = j1 - j0
                _scores(qs, k, mask, has_mask, causal, a, b, i0, i1, j0, j1, s)
                gemm(dout[a, b, i0:i1], v[a, b, j0:j1].T, dp[:ni, :nj])
                for r in range(ni):
                    prow, drow, mr, dr = s[r], dp[r], lse[a, b, i0 + r], delta[r]
                    if mr == -np.inf:
                        for c in range(nj):
                            prow[c] = 0
                            drow[c] = 0
                    else:
                        for c in range(nj):
                            p = vmath.exp_term(prow[c] - mr)
                            prow[c] = p
                            drow[c] = p * (drow[c] - dr)
                ps, ds = s[:ni, :nj], dp[:ni, :nj]
                gemm(ps.T, dout[a, b, i0:i1], dv[j0:j1], 1.0)
                gemm(ds, k[a, b, j0:j1], dq[a, b, i0:i1], 1.0)
                gemm(ds.T, qs[:ni], dk[j0:j1], 1.0)
            for r in range(ni):
                dqr = _unit(dq[a, b, i0 + r])
                for c in range(E):
                    dqr[c] *= scale


@njit(cache=True, error_model="numpy", parallel=True)
def sum_partials(part, splits, total):
    """total[a, b] = part[a, b*splits] + ... + part[a, b*splits + splits - 1] (4-D arrays)."""
    A, B = total.shape[:2]
    for ab in prange(A * B):
        a, b = ab // B, ab % B
        t = total[a, b]
        for r in range(t.shape[0]):
            row = t[r]
            for c in range(t.shape[1]):
                row[c] = part[a, b * splits, r, c]
        for sp in range(1, splits):
            p = part[a, b * splits + sp]
            for r in range(t.shape[0]):
                row, prow = t[r], p[r]
                for c in range(t.shape[1]):
                    row[c] += prow[c]


def forward(q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: np.ndarray | None, causal: bool,
            scale: float, empty: Callable = np.empty) -> tuple[np.ndarray, np.ndarray]:
    """(out, lse) for 4-D float q (A, B, L, E), k (A, B, S, E), v (A, B, S, Ev) of one dtype;
    ``empty(shape, dtype)`` makes the results (the caller's allocator: np.empty's signature)."""
    ready_blas()
    q = _unit_rows(q)
    A, B, L, _ = q.shape
    # laid out as q (heads split out of rows: merging them back is a view), rows unit-stride
    out = _unit_rows(like(q, (A, B, L, v.shape[3]), empty), empty)
    lse = empty((A, B, L), q.dtype)
    sdpa_forward(q, k, v, _mask_or_dummy(mask, q), mask is not None, causal, q.dtype.type(scale), query_block(L),
                 out, lse)
    return out, lse


def backward(q, k, v, mask, causal, scale, out, lse, dout,
             empty: Callable = np.empty) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dq, dk, dv) for the operands and results of ``forward``, each with its dims in the
    order of its operand's (``like``), made by ``empty`` as in ``forward``."""
    ready_blas()
    q, out, dout = _unit_rows(q), _unit_rows(out), _unit_rows(dout)
    A, B, L, E = q.shape
    S, Ev = k.shape[2], v.shape[3]
    bq = query_block(L)
    splits = query_splits(A * B, -(-L // bq), numba.get_num_threads())
    dq, dk, dv = (_unit_rows(d, empty) for d in like_three(q, k, v, empty))
    if splits == 1:
        dk_part, dv_part = dk, dv
    else:
        dk_part = empty((A, B * splits, S, E), q.dtype)
        dv_part = empty((A, B * splits, S, Ev), q.dtype)
    sdpa_backward(q, k, v, _mask_or_dummy(mask, q), mask is not None, causal, q.dtype.type(scale), bq,
                  out, lse, dout, splits, dq, dk_part, dv_part)
    if splits > 1:
        sum_partials(dk_part, splits, dk)
        sum_partials(dv_part, splits, dv)
    return dq, dk, dv


def like(x: np.ndarray, shape: tuple, empty: Callable = np.empty) -> np.ndarray:
    """An empty array (by ``empty``) of ``shape`` (of x's rank) and x's dtype with its dims
    laid out in the order of x's strides (as torch's ``empty_like``: q sliced out of a fused
    qkv projection is not dense, but its gradient's transposes back are still views),
    C-contiguous where x is broadcast."""
    if any(n > 1 and st == 0 for n, st in zip(x.shape, x.strides)):
        return empty(shape, x.dtype)
    order = sorted(range(x.ndim), key=lambda d: -x.strides[d])
    return empty(tuple(shape[d] for d in order), x.dtype).transpose(np.argsort(order))


def like_three(q: np.ndarray, k: np.ndarray, v: np.ndarray, empty: Callable = np.empty) -> tuple:
    """``like`` for each of q, k and v. Where they are three equal slices, one after another,
    of one array (a fused qkv projection split in three), the three share one buffer laid
    out as that array, so that their gradients, moved back, join into its gradient with no
    copy (``Backend.joined_view``)."""
    if q.shape == k.shape == v.shape and q.strides == k.strides == v.strides and q.size and all(q.strides):
        gap = k.ctypes.data - q.ctypes.data
        if gap > 0 and v.ctypes.data - k.ctypes.data == gap and gap % q.itemsize == 0:
            order = sorted(range(q.ndim), key=lambda d: -q.strides[d])
            shape = [q.shape[d] for d in order]
            strides = [q.strides[d] // q.itemsize for d in order]
            for at in range(q.ndim + 1):  # where the three sit in the buffer's dims
                full = shape[:at] + [3] + shape[at:]
                c_strides, size = [], 1
                for n in reversed(full):
                    c_strides.insert(0, size)
                    size *= n
                if c_strides[at] * q.itemsize == gap and c_strides[:at] + c_strides[at + 1:] == strides:
                    buffer = empty(tuple(full), q.dtype)
                    back = np.argsort(order)
                    return tuple(buffer[(slice(None),) * at + (i,)].transpose(back) for i in range(3))
    return like(q, q.shape, empty), like(k, k.shape, empty), like(v, v.shape, empty)


def _unit_rows(x: np.ndarray, empty: Callable | None = None) -> np.ndarray:
    """``x`` if its rows (last dim) have a unit stride, as the kernels' row loops assume
    (``_unit``), else a C-contiguous copy of it; with ``empty``, x is a fresh result and
    its replacement is just a C-contiguous ``empty`` one."""
    if x.shape[3] <= 1 or x.strides[3] == x.itemsize:
        return x
    if empty is not None:
        return empty(x.shape, x.dtype)
    return elementwise.run("copy", x.dtype, np.empty(x.shape, x.dtype), x)


def query_block(L: int) -> int:
    """Query rows per tile for ``L`` queries: BQ, or BQ_SHORT for short sequences, where
    tall tiles would leave threads idle and, causally, compute a mostly masked tile (at
    L = 64, 32-row blocks ran the forward in 0.87x the time, the backward unchanged; at
    L = 1024, 128 rows beat 32 by 1.1x)."""
    return BQ_SHORT if L <= 2 * BQ_SHORT else BQ


def query_splits(heads: int, query_blocks: int, threads: int) -> int:
    """Jobs per head in the backward: one while the heads alone give every thread two
    jobs; else enough query-block groups for that (at most one per block). Each extra job
    holds partial dK and dV of its head, so at most ~2 x threads of them exist."""
    if heads >= 2 * threads:
        return 1
    return max(1, min(query_blocks, -(-2 * threads // heads)))


def _mask_or_dummy(mask, q):
    # one array type for both cases, so the kernel compiles once per dtype and layout
    return mask if mask is not None else np.broadcast_to(np.zeros(1, q.dtype), (1, 1, 1, 1))



guard_kernels(globals())
