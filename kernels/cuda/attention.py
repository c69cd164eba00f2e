"""Fused scaled-dot-product attention on the device, forward and backward, flash-attention style.

The layout and semantics are ``kernels.cpu.attention``'s: 4-D ``(A, B, T, D)`` operands of
any non-negative strides (a broadcast batch has stride 0), passed as flat device arrays
and their element strides (``window.at``), so views need no copy; an additive ``mask``
broadcast to ``(A, B, L, S)``, read only when ``has_mask``; ``causal`` keeps key ``j <= i``;
a row whose every score is -inf gets a zero output, zero gradients and ``lse`` -inf.

Every kernel works on ``BQ x BK`` score tiles (``BQ = TY*TM`` rows, ``BK = TX*TN``
columns): a block of ``TY x TX`` threads, each holding ``TM x TN`` scores in registers,
computed as a GEMM tile (``kernels.cuda.matmul``'s scheme: the head dim walked ``BD`` at
a time through shared memory). No ``L x S`` matrix reaches global memory:

* ``forward_k``, one block per (head, query tile), walks the key tiles with an online
  softmax: the tile's probabilities go to shared memory, one thread per row updates the
  running max ``m`` and sum ``l``, and the output tile is rescaled and accumulated
  (``P V``) in ``out`` itself; the last key tile folds in ``1 / l`` and writes
  ``lse = m + log(l)``.
* ``dq_k``, one block per (head, query tile), recomputes ``P = exp(s - lse)`` and
  ``dP = dO V^T`` tile by tile and accumulates ``dQ += dS K`` with
  ``dS = P (dP - delta) scale``, ``delta = rowsum(dO * O)``, which it also stores for
  ``dkv_k``.
* ``dkv_k``, one block per (head, key tile), walks the query tiles with keys as the tile
  rows and accumulates ``dV += P^T dO`` and ``dK += dS^T Q``.

So every output element has one owner block: no atomics, and results do not depend on
the schedule. Causal kernels skip the tiles above the diagonal. Arithmetic stays in the
data's dtype, as on the CPU. Blocks grid-stride over their jobs (``launch.MAX_BLOCKS``).

The tile shape is pasted into a generated module (shared and local arrays need constant
shapes), one per dtype and ``Tiles``, written to the kernel cache by ``kernels.codegen``.
``TILES`` holds the shape per dtype; float64 gets smaller tiles so its shared memory
stays under the 48 KiB a block may hold statically.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import NamedTuple

from .. import codegen
from . import launch


class Tiles(NamedTuple):
    """Threads per block (``ty`` x ``tx``), scores per thread (``tm`` x ``tn``), head-dim step ``bd``."""

    ty: int = 16
    tx: int = 16
    tm: int = 4
    tn: int = 4
    bd: int = 16


# per dtype; tests shrink them (e.g. Tiles(2, 4, 3, 1, 4): 6 x 4 tiles of 8 threads)
TILES = {"float32": Tiles(), "float64": Tiles(tm=2, tn=2)}

KERNELS = ("forward_k", "dq_k", "dkv_k")

_BODY = '''
BQ = TY * TM  # rows of a score tile
BK = TX * TN  # columns of a score tile, and the output columns of one accumulate pass
NT = TY * TX
PQ, PK = BQ + 1, BK + 1  # padded rows of the shared tiles, against bank conflicts
NEG_INF = T(-np.inf)


@cuda.jit(device=True, inline="always")
def tile_of(job, tiles, B):
    """(a, b, first row) of job ``job`` when each of the A x B heads has ``tiles`` tiles of BQ rows."""
    ab = job // tiles
    a = ab // B
    return a, ab - a * B, (job - ab * tiles) * BQ


@cuda.jit(device=True, inline="always")
def product(x, xs, x0, nx, y, ys, y0, ny, n, a, b, Xs, Ys, acc):
    """acc[i, j] = sum over d < n of x[a, b, x0 + ty + i*TY, d] * y[a, b, y0 + tx + j*TX, d];
    rows at or past nx (ny) count as zeros."""
    tx = cuda.threadIdx.x
    ty = cuda.threadIdx.y
    tid = ty * TX + tx
    ar = cuda.local.array(TM, T)
    br = cuda.local.array(TN, T)
    for i in range(TM):
        for j in range(TN):
            acc[i, j] = T(0)
    for d0 in range(0, n, BD):
        for e in range(tid, BQ * BD, NT):
            r = e // BD
            kk = e - r * BD
            Xs[kk, r] = x[at(xs, a, b, x0 + r, d0 + kk)] if (x0 + r < nx and d0 + kk < n) else T(0)
        for e in range(tid, BK * BD, NT):
            c = e // BD
            kk = e - c * BD
            Ys[kk, c] = y[at(ys, a, b, y0 + c, d0 + kk)] if (y0 + c < ny and d0 + kk < n) else T(0)
        cuda.syncthreads()
        for kk in range(BD):
            for i in range(TM):
                ar[i] = Xs[kk, ty + i * TY]
            for j in range(TN):
                br[j] = Ys[kk, tx + j * TX]
            for i in range(TM):
                for j in range(TN):
                    acc[i, j] += ar[i] * br[j]
        cuda.syncthreads()


@cuda.jit(device=True, inline="always")
def mask_scores(acc, scale, mask, ms, has_mask, causal, a, b, r0, c0, L, S, keys_are_rows):
    """Scores from the products of the tile at rows r0, columns c0: scaled, plus the mask;
    -inf where causally masked or out of range. Rows are queries and columns keys, or the
    other way round with ``keys_are_rows``."""
    tx = cuda.threadIdx.x
    ty = cuda.threadIdx.y
    for i in range(TM):
        row = r0 + ty + i * TY
        for j in range(TN):
            col = c0 + tx + j * TX
            qi, kj = (col, row) if keys_are_rows else (row, col)
            s = NEG_INF
            if qi < L and kj < S and not (causal and kj > qi):
                s = acc[i, j] * scale
                if has_mask:
                    s += mask[at(ms, a, b, qi, kj)]
            acc[i, j] = s


@cuda.jit(device=True, inline="always")
def score_grads(s, dp, lse_s, delta_s, scale, keys_are_rows):
    """s = P = exp(s - lse), dp = dS = P (dp - delta) scale, lse and delta by the tile's query
    (its row, or its column with ``keys_are_rows``); P is 0 in a row with no key."""
    tx = cuda.threadIdx.x
    ty = cuda.threadIdx.y
    for i in range(TM):
        for j in range(TN):
            qi = tx + j * TX if keys_are_rows else ty + i * TY
            m = lse_s[qi]
            p = T(0) if m == NEG_INF else math.exp(s[i, j] - m)
            s[i, j] = p
            dp[i, j] = p * (dp[i, j] - delta_s[qi]) * scale


@cuda.jit(device=True, inline="always")
def stage(acc, Ps):
    """Ps[tx + j*TX, ty + i*TY] = acc[i, j]: the tile transposed, as ``accumulate`` reads it."""
    tx = cuda.threadIdx.x
    ty = cuda.threadIdx.y
    for i in range(TM):
        for j in range(TN):
            Ps[tx + j * TX, ty + i * TY] = acc[i, j]


@cuda.jit(device=True, inline="always")
def accumulate(Ps, z, zs, z0, nz, ncols, a, b, out, os, r0, nr, alpha, rescale, fresh, Zs, o):
    """out[a, b, r0 + r, c] = old + sum over j < BK of Ps[j, r] * z[a, b, z0 + j, c] for the
    rows r0 + r < nr and the columns c < ncols, where old is 0 when ``fresh``, else
    out * alpha[r] with ``rescale`` (alpha is read only then), else out. z rows at or past nz
    count as zeros."""
    tx = cuda.threadIdx.x
    ty = cuda.threadIdx.y
    tid = ty * TX + tx
    ar = cuda.local.array(TM, T)
    br = cuda.local.array(TN, T)
    for c0 in range(0, ncols, BK):
        for e in range(tid, BK * BK, NT):
            j = e // BK
            c = e - j * BK
            Zs[j, c] = z[at(zs, a, b, z0 + j, c0 + c)] if (z0 + j < nz and c0 + c < ncols) else T(0)
        cuda.syncthreads()
        for i in range(TM):
            r = ty + i * TY
            for j in range(TN):
                c = c0 + tx + j * TX
                old = T(0)
                if not fresh and r0 + r < nr and c < ncols:
                    old = out[at(os, a, b, r0 + r, c)]
                    if rescale:
                        old *= alpha[r]
                o[i, j] = old
        for kk in range(BK):
            for i in range(TM):
                ar[i] = Ps[kk, ty + i * TY]
            for j in range(TN):
                br[j] = Zs[kk, tx + j * TX]
            for i in range(TM):
                for j in range(TN):
                    o[i, j] += ar[i] * br[j]
        for i in range(TM):
            r = r0 + ty + i * TY
            for j in range(TN):
                c = c0 + tx + j * TX
                if r < nr and c < ncols:
                    out[at(os, a, b, r, c)] = o[i, j]
        cuda.syncthreads()


@cuda.jit(device=True, inline="always")
def zero_rows(out, os, a, b, r0, nr, ncols):
    """out[a, b, r0:min(r0 + BQ, nr), :ncols] = 0."""
    tid = cuda.threadIdx.y * TX + cuda.threadIdx.x
    for e in range(tid, BQ * ncols, NT):
        r = e // ncols
        if r0 + r < nr:
            out[at(os, a, b, r0 + r, e - r * ncols)] = T(0)


@cuda.jit(cache=True)
def forward_k(q, qs, k, ks, v, vs, mask, ms, has_mask, causal, scale, out, os, lse, shape):
    """out = softmax(scale q k^T + mask) v and lse, the rows' log-sum-exp."""
    Xs = cuda.shared.array((BD, PQ), T)
    Ys = cuda.shared.array((BD, PK), T)
    Ps = cuda.shared.array((BK, PQ), T)
    Zs = cuda.shared.array((BK, BK), T)
    m_s = cuda.shared.array(BQ, T)
    l_s = cuda.shared.array(BQ, T)
    alpha = cuda.shared.array(BQ, T)
    s = cuda.local.array((TM, TN), T)
    o = cuda.local.array((TM, TN), T)
    tid = cuda.threadIdx.y * TX + cuda.threadIdx.x
    A, B, L, S, E, Ev = shape
    nqb = (L + BQ - 1) // BQ
    for job in range(cuda.blockIdx.x, A * B * nqb, cuda.gridDim.x):
        a, b, q0 = tile_of(job, nqb, B)
        for r in range(tid, BQ, NT):
            m_s[r] = NEG_INF
            l_s[r] = T(0)
        kend = min(q0 + BQ, L, S) if causal else S
        for k0 in range(0, kend, BK):
            product(q, qs, q0, L, k, ks, k0, S, E, a, b, Xs, Ys, s)
            mask_scores(s, scale, mask, ms, has_mask, causal, a, b, q0, k0, L, S, False)
            stage(s, Ps)
            cuda.syncthreads()
            last = k0 + BK >= kend
            for r in range(tid, BQ, NT):  # the online softmax of row r
                m_old = m_s[r]
                mx = m_old
                for j in range(BK):
                    x = Ps[j, r]
                    if x > mx or x != x:  # NaN propagates, as in torch
                        mx = x
                ell = l_s[r]
                f = T(1)  # the factor on the output so far
                if mx == NEG_INF:  # no key yet in this row
                    for j in range(BK):
                        Ps[j, r] = T(0)
                else:
                    f = math.exp(m_old - mx)
                    tot = T(0)
                    for j in range(BK):
                        p = math.exp(Ps[j, r] - mx)
                        Ps[j, r] = p
                        tot += p
                    ell = ell * f + tot
                    m_s[r] = mx
                    l_s[r] = ell
                if last:  # normalise now: the accumulation below gives the output
                    inv = T(1) / ell if ell > T(0) else T(0)
                    f *= inv
                    for j in range(BK):
                        Ps[j, r] *= inv
                    if q0 + r < L:
                        lse[a, b, q0 + r] = mx + math.log(ell) if ell > T(0) else NEG_INF
                alpha[r] = f
            cuda.syncthreads()
            accumulate(Ps, v, vs, k0, S, Ev, a, b, out, os, q0, L, alpha, True, k0 == 0, Zs, o)


@cuda.jit(cache=True)
def dq_k(q, qs, k, ks, v, vs, mask, ms, has_mask, causal, scale, out, os, lse, dout, dos, delta, dq, dqs,
         shape):
    """dq = dS k and delta = rowsum(dout * out), by query tile."""
    Xs = cuda.shared.array((BD, PQ), T)
    Ys = cuda.shared.array((BD, PK), T)
    Ps = cuda.shared.array((BK, PQ), T)
    Zs = cuda.shared.array((BK, BK), T)
    lse_s = cuda.shared.array(BQ, T)
    delta_s = cuda.shared.array(BQ, T)
    s = cuda.local.array((TM, TN), T)
    dp = cuda.local.array((TM, TN), T)
    o = cuda.local.array((TM, TN), T)
    tid = cuda.threadIdx.y * TX + cuda.threadIdx.x
    A, B, L, S, E, Ev = shape
    nqb = (L + BQ - 1) // BQ
    for job in range(cuda.blockIdx.x, A * B * nqb, cuda.gridDim.x):
        a, b, q0 = tile_of(job, nqb, B)
        for r in range(tid, BQ, NT):
            i = q0 + r
            t = T(0)
            m = NEG_INF
            if i < L:
                for c in range(Ev):
                    t += out[at(os, a, b, i, c)] * dout[at(dos, a, b, i, c)]
                delta[a, b, i] = t
                m = lse[a, b, i]
            delta_s[r] = t
            lse_s[r] = m
        kend = min(q0 + BQ, L, S) if causal else S
        for k0 in range(0, kend, BK):
            product(q, qs, q0, L, k, ks, k0, S, E, a, b, Xs, Ys, s)
            mask_scores(s, scale, mask, ms, has_mask, causal, a, b, q0, k0, L, S, False)
            product(dout, dos, q0, L, v, vs, k0, S, Ev, a, b, Xs, Ys, dp)
            score_grads(s, dp, lse_s, delta_s, scale, False)
            stage(dp, Ps)
            cuda.syncthreads()
            accumulate(Ps, k, ks, k0, S, E, a, b, dq, dqs, q0, L, lse_s, False, k0 == 0, Zs, o)


@cuda.jit(cache=True)
def dkv_k(q, qs, k, ks, v, vs, mask, ms, has_mask, causal, scale, lse, delta, dout, dos, dk, dks, dv, dvs,
          shape):
    """dv = P^T dout and dk = dS^T q, by key tile (keys are the tile rows here)."""
    Xs = cuda.shared.array((BD, PQ), T)
    Ys = cuda.shared.array((BD, PK), T)
    Ps = cuda.shared.array((BK, PQ), T)
    Zs = cuda.shared.array((BK, BK), T)
    lse_s = cuda.shared.array(BK, T)
    delta_s = cuda.shared.array(BK, T)
    s = cuda.local.array((TM, TN), T)
    dp = cuda.local.array((TM, TN), T)
    o = cuda.local.array((TM, TN), T)
    tid = cuda.threadIdx.y * TX + cuda.threadIdx.x
    A, B, L, S, E, Ev = shape
    nkb = (S + BQ - 1) // BQ
    for job in range(cuda.blockIdx.x, A * B * nkb, cuda.gridDim.x):
        a, b, k0 = tile_of(job, nkb, B)
        qstart = k0 // BK * BK if causal else 0  # the first query tile that sees a key of the tile
        for q0 in range(qstart, L, BK):
            for c in range(tid, BK, NT):
                i = q0 + c
                lse_s[c] = lse[a, b, i] if i < L else NEG_INF
                delta_s[c] = delta[a, b, i] if i < L else T(0)
            product(k, ks, k0, S, q, qs, q0, L, E, a, b, Xs, Ys, s)
            mask_scores(s, scale, mask, ms, has_mask, causal, a, b, k0, q0, L, S, True)
            product(v, vs, k0, S, dout, dos, q0, L, Ev, a, b, Xs, Ys, dp)
            score_grads(s, dp, lse_s, delta_s, scale, True)
            stage(s, Ps)
            cuda.syncthreads()
            accumulate(Ps, dout, dos, q0, L, Ev, a, b, dv, dvs, k0, S, lse_s, False, q0 == qstart, Zs, o)
            stage(dp, Ps)
            cuda.syncthreads()
            accumulate(Ps, q, qs, q0, L, E, a, b, dk, dks, k0, S, lse_s, False, q0 == qstart, Zs, o)
        if qstart >= L:  # keys no query sees (causal, S > L)
            zero_rows(dk, dks, a, b, k0, S, E)
            zero_rows(dv, dvs, a, b, k0, S, Ev)
'''

_WINDOW = Path(__file__).with_name("window.py")


def kernel_source(dtype: str, tiles: Tiles) -> str:
    """The generated module's source: the tile constants, then ``_BODY``."""
    head = (f"# Generated by kernels.cuda.attention: dtype {dtype}, tiles {tuple(tiles)}, "
            f"window.py {codegen.source_hash(_WINDOW)}.\n"
            "import math\n\nimport numpy as np\nfrom numba import cuda\n\nfrom kernels.cuda.window import at\n\n"
            f"T = np.{dtype}\nTY, TX, TM, TN, BD = {', '.join(map(str, tiles))}\n")
    return head + _BODY


def module(dtype: str, tiles: Tiles | None = None) -> ModuleType:
    """The generated module holding ``KERNELS`` for ``dtype`` (``TILES[dtype]`` unless given)."""
    tiles = tiles or TILES[dtype]
    return codegen.load_module("cuda_attention", f"{dtype}_" + "x".join(map(str, tiles)),
                               kernel_source(dtype, tiles))


def _launch(name: str, dtype: str, heads: int, rows: int, *args) -> None:
    """Kernel ``name`` with a block per (head, tile of its ``rows``), at most ``launch.MAX_BLOCKS``."""
    t = TILES[dtype]
    jobs = heads * -(-rows // (t.ty * t.tm))
    getattr(module(dtype, t), name)[max(1, min(jobs, launch.MAX_BLOCKS)), (t.tx, t.ty)](*args)


def forward(q, qs, k, ks, v, vs, mask, ms, has_mask: bool, causal: bool, scale, out, os, lse,
            shape: tuple) -> None:
    """Write ``out`` and ``lse`` (A, B, L); operands are (flat array, element strides) pairs,
    ``shape`` is ``(A, B, L, S, E, Ev)`` and ``scale`` of the data's dtype."""
    A, B, L = shape[:3]
    _launch("forward_k", out.dtype.name, A * B, L, q, qs, k, ks, v, vs, mask, ms, has_mask, causal, scale,
            out, os, lse, shape)


def backward(q, qs, k, ks, v, vs, mask, ms, has_mask: bool, causal: bool, scale, out, os, lse, dout, dos,
             delta, dq, dqs, dk, dks, dv, dvs, shape: tuple) -> None:
    """Write ``dq``, ``dk``, ``dv`` for ``dout``; ``delta`` (A, B, L) is scratch."""
    A, B, L, S = shape[:4]
    dtype = dq.dtype.name
    _launch("dq_k", dtype, A * B, L, q, qs, k, ks, v, vs, mask, ms, has_mask, causal, scale, out, os, lse,
            dout, dos, delta, dq, dqs, shape)
    _launch("dkv_k", dtype, A * B, S, q, qs, k, ks, v, vs, mask, ms, has_mask, causal, scale, lse, delta,
            dout, dos, dk, dks, dv, dvs, shape)
