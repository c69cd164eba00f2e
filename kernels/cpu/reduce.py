"""Reductions, scans and the softmax family along the middle axis of a 3-D view.

Convention
----------
Every kernel takes its input as a 3-D array ``x`` of shape ``(A, K, B)`` and works along
the middle axis ``K``. The library layer gets there by reshaping/permuting a tensor so that
the reduced dims are adjacent and form ``K``, the kept dims before them form ``A`` and the
ones after them ``B``. Reductions write ``out[a, b]`` (shape ``(A, B)``); scans and the
softmax family write ``out[a, k, b]`` (the shape of ``x``). The caller allocates every
output and guarantees the shapes and dtypes stated on each kernel; nothing is checked.

How it runs
-----------
* Two loop shapes. ``B == 1`` ("row mode"): each output reads one row of K values, reduced
  with SIMD lanes inside the row. ``B > 1`` ("column mode"): rows of B values are folded
  into a vector of accumulators, vectorised over B. Both vectorise when the arrays are
  C-contiguous (Numba specialises on layout); other layouts are read through their
  strides, which is correct but scalar. For speed the caller should give the unit
  stride to K (with B == 1) or to B.
* Accurate sums: K is cut into blocks (``_ROW_BLOCK`` values in row mode, ``_COL_BLOCK``
  rows in column mode) whose results are added as a balanced binary tree (pairwise
  summation), so the float32 rounding error grows like log(K), not like K.
* Work is cut into tasks: a tile is a range of ``a`` times a range of ``b`` (whole rows
  where that streams memory best); when tiles are too few for the threads, reductions
  also split K into chunks whose partial results are then reduced the same way, in K
  order. Below ``_SERIAL_MAX`` elements everything runs on the calling thread: with
  ``OMP_WAIT_POLICY=PASSIVE`` the pool sleeps between kernels, and waking it inside a
  training step cost ~100 us on the 2-core development VM. Measured there, fwd+bwd in
  autodiff ops: a row softmax broke even at 128K elements (serial 165 us vs 298 us at 64K),
  a row sum at 128-256K (serial 223 vs 300 us at 128K). The exp-based kernels need no
  lower threshold: vmath's exp vectorises.

Implementation pattern (compile time matters: a kernel compiles in seconds)
---------------------------------------------------------------------------
Each public kernel is a thin ``parallel=True`` function that inlines the one driver
``_drive`` with a compile-time operation code (``_SUM``, ``_SOFTMAX``...) and a task
function. The code reaches the helpers as a Numba integer literal; small ``@overload``
functions (``_combine``, ``_lift``, ``_pointwise``) pick the operation while typing, so
each kernel compiles only its own loops, every kernel caches with ``cache=True``, and
helpers such as ``_fold_range`` are compiled once per signature and shared by kernels.
Numba copies every callee into each caller's module and inlining copies IR, so the call
graph is kept shallow and ``inline='always'`` is used only for small functions.
"""

import math

import numpy as np
from llvmlite import ir
from numba import get_num_threads, njit, prange, types
from numba.core import cgutils
from numba.core.errors import TypingError
from numba.extending import intrinsic, overload

from . import vmath
from ..guard import guard_kernels

# Operation codes (compile-time constants that select the inner operation).
_SUM, _PROD, _MAX, _MIN, _ALL, _ANY, _EXPSUM = 0, 1, 2, 3, 4, 5, 6  # folds
_ARGMAX, _ARGMIN = 7, 8
_CUMSUM, _CUMPROD = 9, 10
_SOFTMAX, _LOG_SOFTMAX, _LOGSUMEXP, _SOFTMAX_BW, _LOG_SOFTMAX_BW = 11, 12, 13, 14, 15
_SHIFT = 16  # a fold inside the softmax family: the max as its shift (vmath.shift_max)
# Pointwise formulas of the softmax family: out = f(u, v, c0, c1), u and v inputs, c0 and
# c1 per-column constants (see _pointwise).
_P_EXP, _P_SCALE, _P_SHIFT2, _P_MUL, _P_SMBW, _P_LSMBW = 0, 1, 2, 3, 4, 5

_ROW_BLOCK = 2048    # values per pairwise block in row mode (split over the SIMD lanes)
_COL_BLOCK = 128     # rows per pairwise block in column mode (one accumulator per column)
_TILE = 4096         # widest column tile: rows stream as long runs, accumulators in L1
_MIN_TILE = 64       # narrowest column tile made to create parallelism (4 AVX-512 vectors)
_TASK_MIN = 16384    # elements per task worth grouping rows for (amortises the task call)
_SERIAL_MAX = 1 << 17  # below this many elements, do not launch threads (as elementwise)
_TASKS_PER_THREAD = 4


# ----------------------------------------------------------------------------------------
# Scalar building blocks
# ----------------------------------------------------------------------------------------

@intrinsic
def _num_threads(typingctx):
    """numba.get_num_threads() for jitted code. Numba's own version calls a ctypes pointer,
    which makes every function using it uncachable; this one links the same C symbol by
    name (registered when Numba starts its thread pool). Use it only in ``parallel=True``
    kernels: loading one of those from the cache starts the pool, while a serial one
    loaded from the cache would call the symbol unregistered and crash."""
    get_num_threads()  # starts the pool, which registers the symbol

    def codegen(context, builder, sig, args):
        fnty = ir.FunctionType(context.get_value_type(types.intp), [])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "get_num_threads")
        return builder.call(fn, [])
    return types.intp(), codegen


@njit(inline="always")
def _exp(v):
    """The one exp used by the softmax family: vmath's, vectorisable and typed by ``v``."""
    return vmath.exp(v)


def _literal(op):
    if not isinstance(op, types.IntegerLiteral):
        raise TypingError("reduce.py: operation code must be a compile-time constant")
    return op.literal_value


def _lift(op, v, c):
    """Map an input value into the accumulator domain: truth value for all/any,
    exp(v - c) for _EXPSUM (c: the column's shift), else v itself."""


@overload(_lift)
def _lift_impl(op, v, c):
    k = _literal(op)
    if k in (_ALL, _ANY):
        return lambda op, v, c: v != 0
    if k == _EXPSUM:
        return lambda op, v, c: _exp(v - c)
    return lambda op, v, c: v


def _combine(op, acc, v):
    """Fold one lifted value ``v`` into the accumulator ``acc``."""


@overload(_combine, jit_options={"fastmath": {"reassoc"}})
def _combine_impl(op, acc, v):
    # reassoc lets LLVM split a sum over SIMD lanes once this is inlined into a loop.
    k = _literal(op)
    if k in (_SUM, _EXPSUM, _CUMSUM):
        return lambda op, acc, v: acc + v
    if k in (_PROD, _CUMPROD):
        return lambda op, acc, v: acc * v
    if k == _MAX:
        return lambda op, acc, v: vmath.maximum(acc, v)
    if k == _SHIFT:
        return lambda op, acc, v: vmath.shift_max(acc, v)
    if k == _MIN:
        return lambda op, acc, v: vmath.minimum(acc, v)
    if k == _ALL:
        return lambda op, acc, v: acc & v
    if k == _ANY:
        return lambda op, acc, v: acc | v
    raise TypingError("_combine: not a fold or scan code")


def _pointwise(f, u, v, c0, c1):
    """The softmax family's elementwise formulas (f: a _P_* code). Compiled without
    fastmath even inside reassoc callers (fastmath is inherited unless set), so that
    (u - c0) - c1 is not regrouped into u - (c0 + c1), which loses digits when the
    max c0 is large."""


@overload(_pointwise, jit_options={"fastmath": False})
def _pointwise_impl(f, u, v, c0, c1):
    return {
        _P_EXP: lambda f, u, v, c0, c1: _exp(u - c0),
        _P_SCALE: lambda f, u, v, c0, c1: u * c0,
        _P_SHIFT2: lambda f, u, v, c0, c1: (u - c0) - c1,
        _P_MUL: lambda f, u, v, c0, c1: u * v,
        _P_SMBW: lambda f, u, v, c0, c1: u * (v - c0),
        _P_LSMBW: lambda f, u, v, c0, c1: v - _exp(u) * c0,
    }[_literal(f)]


@njit(inline="always")
def _better(op, v, best):
    """True when ``v`` replaces ``best`` in argmax/argmin: strictly better, or the first NaN
    (NaN counts as the extreme, as in torch). Strictness keeps the first occurrence."""
    if op == _ARGMAX:
        return v > best or (v != v and best == best)
    return v < best or (v != v and best == best)


def _rows(x):
    """2-D view (A, K) of ``x[:, :, 0]``, the rows of row mode (B == 1); C-contiguous
    when ``x`` is, so that Numba knows the rows are contiguous."""


@overload(_rows)
def _rows_impl(x):
    if x.layout == "C":  # x[:, :, 0] would lose the contiguity; valid whenever B == 1
        return lambda x: x.reshape((x.shape[0], x.shape[1] * x.shape[2]))
    return lambda x: x[:, :, 0]


# ----------------------------------------------------------------------------------------
# Folding a range of K: blocks combined pairwise
# ----------------------------------------------------------------------------------------
# Inner loops index slices (rows[a, kb:ke], x[a, k, b0:b1]) from 0: Numba then knows the
# indices are non-negative and emits no wraparound test, which would stop vectorisation.

def _start(op, v):
    """The accumulator a row's fold starts from, given the lifted first value ``v``: the
    operation's identity, or ``v`` itself where folding it in twice changes nothing (max,
    min), so that the loop covers the whole row from 0. (A loop from 1 leaves a vector's
    width less one of every row to the scalar remainder loop: a max over rows of 64
    ran 2.4x slower.) A sum starts from 0, as torch's: the sum of a row of -0.0 is 0.0."""


@overload(_start)
def _start_impl(op, v):
    k = _literal(op)
    if k in (_MAX, _MIN, _SHIFT):
        return lambda op, v: v
    if k in (_ALL, _ANY):
        return lambda op, v: k == _ALL
    if k in (_SUM, _EXPSUM, _PROD):
        start = np.dtype(str(v)).type(1 if k == _PROD else 0)
        return lambda op, v: start
    raise TypingError("_start: not a fold code")


@njit(inline="always")
def _fold_row(op, r, c):
    """Fold of the 1-D row r (len >= 1); c: the row's shift for _EXPSUM. Under the
    caller's reassoc flag LLVM splits the loop over SIMD lanes."""
    acc = _start(op, _lift(op, r[0], c))
    for k in range(r.shape[0]):
        acc = _combine(op, acc, _lift(op, r[k], c))
    return acc


@njit(fastmath={"reassoc"})
def _fold_range(op, x, rowmode, a0, a1, b0, b1, k0, k1, out, oa, ob, shift):
    """out[oa + a - a0, ob + j] = fold (op: _SUM.._EXPSUM) of x[a, k0:k1, b0 + j] over k,
    for a in a0:a1, j < b1 - b0 and k1 > k0. For _EXPSUM, ``shift`` (indexed like out)
    holds each column's shift; otherwise it is not read.

    A block is folded by one loop: row mode reduces the contiguous row (``_fold_row``),
    column mode folds whole rows into the output row, vectorised over j. Sums are cut
    into blocks combined with a binary counter: block i is folded into level
    t = trailing_ones(i) of a stack after absorbing the levels below it, so only partial
    results of equal size are added (pairwise summation) and the stack holds O(log
    blocks) rows. The last block is folded into the output instead and also absorbs the
    levels above t still occupied (the set bits of i), which gives the total. Other folds
    are exact in any order and take a single block; rows of a single block take a short
    path with no per-row bookkeeping (many short rows cost ~3 ns each, not ~15).
    """
    if op == _SUM or op == _EXPSUM:  # op is a constant: LLVM keeps one branch
        blk = _ROW_BLOCK if rowmode else _COL_BLOCK
    else:
        blk = k1 - k0
    nblk = (k1 - k0 + blk - 1) // blk
    levels = 1
    while (nblk >> levels) > 0:
        levels += 1
    n = b1 - b0
    rows = _rows(x)
    if rowmode and nblk == 1:  # rows of one block (short rows): minimal work per row
        for a in range(a0, a1):
            out[oa + a - a0, ob] = _fold_row(op, rows[a, k0:k1], shift[oa + a - a0, ob])
        return
    stack = np.empty((levels if nblk > 1 else 0, n), out.dtype)
    for a in range(a0, a1):
        dst = out[oa + a - a0, ob:ob + n]
        sh = shift[oa + a - a0, ob:ob + n]
        for i in range(nblk):
            t = 0
            while (i >> t) & 1:
                t += 1
            last = i == nblk - 1
            top = dst if last else stack[t]
            kb = k0 + i * blk
            ke = min(kb + blk, k1)
            if rowmode:
                top[0] = _fold_row(op, rows[a, kb:ke], sh[0])
            else:
                row = x[a, kb, b0:b1]
                for j in range(n):
                    top[j] = _lift(op, row[j], sh[j])
                for k in range(kb + 1, ke):
                    row = x[a, k, b0:b1]
                    for j in range(n):
                        top[j] = _combine(op, top[j], _lift(op, row[j], sh[j]))
            for level in range(levels):
                if level < t or (last and level > t and (i >> level) & 1):
                    lower = stack[level]  # holds an earlier part of K
                    for j in range(n):
                        top[j] = _combine(op, lower[j], top[j])


# ----------------------------------------------------------------------------------------
# Tasks
# ----------------------------------------------------------------------------------------
# Task number t of a kernel covers the K chunk p = t // (tiles) of the tile
# (a0:a1, b0:b1), see _coords. It writes into pval/pidx[p] when K is split (pval not
# empty), else into val/idx. y is the second input of the backward ops (else x). Each
# task is a whole task body with only small helpers inlined. Integer arguments are never
# literals (np.int64(0), not 0): Numba would compile a separate specialisation for them.

@njit(inline="always")
def _coords(x, t, plan):
    """(p, a0, a1, b0, b1, k0, k1) of task t under plan = (tiles along a, tiles along b,
    rows per tile, columns per tile, K chunk)."""
    A, K, B = x.shape
    ntile_a, ntile_b, ah, bw, kchunk = plan
    p = t // (ntile_a * ntile_b)
    t -= p * ntile_a * ntile_b
    ta = t // ntile_b
    a0 = ta * ah
    b0 = (t - ta * ntile_b) * bw
    k0 = p * kchunk
    return p, a0, min(a0 + ah, A), b0, min(b0 + bw, B), k0, min(k0 + kchunk, K)


@njit
def _fold_task(op, x, y, val, idx, pval, pidx, t, plan):
    p, a0, a1, b0, b1, k0, k1 = _coords(x, t, plan)
    out = val if pval.shape[0] == 0 else pval[p]
    _fold_range(op, x, x.shape[2] == 1, a0, a1, b0, b1, k0, k1, out, a0, b0, out)


@njit
def _arg_task(op, x, y, val, idx, pval, pidx, t, plan):
    """Extreme value and its first index over the chunk, per column. Row mode: a
    vectorised NaN-propagating max/min, then a search for its first occurrence."""
    p, a0, a1, b0, b1, k0, k1 = _coords(x, t, plan)
    if pval.shape[0] > 0:
        val = pval[p]
        idx = pidx[p]
    n = b1 - b0
    rows = _rows(x)
    for a in range(a0, a1):
        if x.shape[2] == 1:
            r = rows[a, k0:k1]
            m = r[0]
            for k in range(r.shape[0]):  # from 0, as _fold_row
                m = vmath.maximum(m, r[k]) if op == _ARGMAX else vmath.minimum(m, r[k])
            i = 0
            if m != m:
                while r[i] == r[i]:
                    i += 1
            else:
                while r[i] != m:
                    i += 1
            val[a, b0] = r[i]
            idx[a, b0] = k0 + i
            continue
        best = val[a, b0:b1]
        at = idx[a, b0:b1]
        row = x[a, k0, b0:b1]
        for j in range(n):
            best[j] = row[j]
            at[j] = k0
        for k in range(k0 + 1, k1):
            row = x[a, k, b0:b1]
            for j in range(n):
                v = row[j]
                if _better(op, v, best[j]):
                    best[j] = v
                    at[j] = k


@njit
def _scan_task(op, x, y, val, idx, pval, pidx, t, plan):
    """Inclusive scan (op _CUMSUM/_CUMPROD) over all of K, sequential in K."""
    p, a0, a1, b0, b1, k0, k1 = _coords(x, t, plan)
    n = b1 - b0
    rows = _rows(x)
    orows = _rows(val)
    for a in range(a0, a1):
        if x.shape[2] == 1:
            r = rows[a]
            o = orows[a]
            acc = r[0]
            o[0] = acc
            for k in range(1, r.shape[0]):
                acc = _combine(op, acc, r[k])
                o[k] = acc
            continue
        prev = val[a, 0, b0:b1]
        row = x[a, 0, b0:b1]
        for j in range(n):
            prev[j] = row[j]
        for k in range(1, x.shape[1]):
            row = x[a, k, b0:b1]
            cur = val[a, k, b0:b1]
            for j in range(n):
                cur[j] = _combine(op, prev[j], row[j])
            prev = cur


@njit(inline="always")
def _map_tile(f, u, v, out, a0, a1, b0, b1, c0, c1):
    """out[a, k, b] = _pointwise(f, u[a, k, b], v[a, k, b], c0[i, j], c1[i, j]) over the
    tile, with i = a - a0 and j = b - b0."""
    n = b1 - b0
    urows = _rows(u)
    vrows = _rows(v)
    orows = _rows(out)
    for a in range(a0, a1):
        i = a - a0
        if u.shape[2] == 1:
            ur = urows[a]
            vr = vrows[a]
            o = orows[a]
            s0 = c0[i, 0]
            s1 = c1[i, 0]
            for k in range(o.shape[0]):
                o[k] = _pointwise(f, ur[k], vr[k], s0, s1)
            continue
        d0 = c0[i]
        d1 = c1[i]
        for k in range(u.shape[1]):
            ur = u[a, k, b0:b1]
            vr = v[a, k, b0:b1]
            o = out[a, k, b0:b1]
            for j in range(n):
                o[j] = _pointwise(f, ur[j], vr[j], d0[j], d1[j])


@njit
def _softmax_task(op, x, y, val, idx, pval, pidx, t, plan):
    """out = exp(x - max) / sum(exp(x - max)); out may alias x."""
    p, a0, a1, b0, b1, k0, k1 = _coords(x, t, plan)
    o = np.int64(0)  # offset into the tile temporaries
    rowmode = x.shape[2] == 1
    m = np.empty((a1 - a0, b1 - b0), x.dtype)
    s = np.empty((a1 - a0, b1 - b0), x.dtype)
    _fold_range(_SHIFT, x, rowmode, a0, a1, b0, b1, k0, k1, m, o, o, m)
    _map_tile(_P_EXP, x, x, val, a0, a1, b0, b1, m, m)
    _fold_range(_SUM, val, rowmode, a0, a1, b0, b1, k0, k1, s, o, o, s)
    for i in range(s.shape[0]):
        for j in range(s.shape[1]):
            s[i, j] = x.dtype.type(1) / s[i, j]
    _map_tile(_P_SCALE, val, val, val, a0, a1, b0, b1, s, s)


@njit
def _log_softmax_task(op, x, y, val, idx, pval, pidx, t, plan):
    """out = (x - max) - log(sum(exp(x - max))); out may alias x."""
    p, a0, a1, b0, b1, k0, k1 = _coords(x, t, plan)
    o = np.int64(0)  # offset into the tile temporaries
    rowmode = x.shape[2] == 1
    m = np.empty((a1 - a0, b1 - b0), x.dtype)
    s = np.empty((a1 - a0, b1 - b0), x.dtype)
    _fold_range(_SHIFT, x, rowmode, a0, a1, b0, b1, k0, k1, m, o, o, m)
    _fold_range(_EXPSUM, x, rowmode, a0, a1, b0, b1, k0, k1, s, o, o, m)
    for i in range(s.shape[0]):
        for j in range(s.shape[1]):
            s[i, j] = math.log(s[i, j])
    _map_tile(_P_SHIFT2, x, x, val, a0, a1, b0, b1, m, s)


@njit
def _logsumexp_task(op, x, y, val, idx, pval, pidx, t, plan):
    """val[a, b] = m + log(sum(exp(x - m))) with m the max, or 0 where the max is infinite
    (torch's convention: all -inf gives -inf, a +inf entry gives +inf)."""
    p, a0, a1, b0, b1, k0, k1 = _coords(x, t, plan)
    o = np.int64(0)  # offset into the tile temporaries
    rowmode = x.shape[2] == 1
    m = np.empty((a1 - a0, b1 - b0), x.dtype)
    s = np.empty((a1 - a0, b1 - b0), x.dtype)
    _fold_range(_SHIFT, x, rowmode, a0, a1, b0, b1, k0, k1, m, o, o, m)
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            if abs(m[i, j]) == np.inf:
                m[i, j] = 0
    _fold_range(_EXPSUM, x, rowmode, a0, a1, b0, b1, k0, k1, s, o, o, m)
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            val[a0 + i, b0 + j] = math.log(s[i, j]) + m[i, j]


@njit
def _softmax_bw_task(op, x, y, val, idx, pval, pidx, t, plan):
    """out = y * (g - sum(g * y)) with x = y, y = g; out must not alias y or g."""
    p, a0, a1, b0, b1, k0, k1 = _coords(x, t, plan)
    o = np.int64(0)  # offset into the tile temporaries
    d = np.empty((a1 - a0, b1 - b0), x.dtype)
    _map_tile(_P_MUL, x, y, val, a0, a1, b0, b1, d, d)
    _fold_range(_SUM, val, x.shape[2] == 1, a0, a1, b0, b1, k0, k1, d, o, o, d)
    _map_tile(_P_SMBW, x, y, val, a0, a1, b0, b1, d, d)


@njit
def _log_softmax_bw_task(op, x, y, val, idx, pval, pidx, t, plan):
    """out = g - exp(y) * sum(g) with x = y, y = g; out may alias y or g."""
    p, a0, a1, b0, b1, k0, k1 = _coords(x, t, plan)
    o = np.int64(0)  # offset into the tile temporaries
    s = np.empty((a1 - a0, b1 - b0), x.dtype)
    _fold_range(_SUM, y, x.shape[2] == 1, a0, a1, b0, b1, k0, k1, s, o, o, s)
    _map_tile(_P_LSMBW, x, y, val, a0, a1, b0, b1, s, s)


# ----------------------------------------------------------------------------------------
# Empty K, planning and the shared driver
# ----------------------------------------------------------------------------------------

def _empty_k(op, val):
    """Fill the output of a reduction over an empty K (or refuse, where undefined)."""


@overload(_empty_k)
def _empty_k_impl(op, val):
    k = _literal(op)
    if k in (_MAX, _MIN, _ARGMAX, _ARGMIN):
        def impl(op, val):
            raise ValueError("max/min/argmax/argmin of an empty slice")
        return impl
    fill = {_SUM: 0, _PROD: 1, _ALL: True, _ANY: False, _LOGSUMEXP: -np.inf}.get(k)
    if fill is None:  # scans and softmax: the output is empty too
        return lambda op, val: None

    def impl(op, val):
        for a in range(val.shape[0]):
            for b in range(val.shape[1]):
                val[a, b] = fill
    return impl


def _merge_operands(op, x, y, val, idx, pval):
    """Operands of the task that merges the K chunks' partial results: the chunks are
    again a reduction over a middle axis, so the same task (the same compiled code)
    reduces pval seen as (1, nsplit, A * B), in K order, into (1, A * B) arrays. Kernels
    that never split K get their own operands back (so the never-run call compiles
    nothing new)."""


@overload(_merge_operands)
def _merge_operands_impl(op, x, y, val, idx, pval):
    if _literal(op) > _ARGMIN:
        return lambda op, x, y, val, idx, pval: (x, y, val, idx)

    def impl(op, x, y, val, idx, pval):
        nsplit, A, B = pval.shape
        flat = pval.reshape((1, nsplit, A * B))
        mval = np.empty((1, A * B), val.dtype)
        midx = np.empty((1, A * B) if idx.shape[0] > 0 else (0, 0), np.int64)
        return flat, flat, mval, midx
    return impl


def _merge_results(op, mval, midx, pidx, val, idx):
    """Copy the merged (1, A * B) results into val/idx; arg reductions map the winning
    chunk to its K index."""


@overload(_merge_results)
def _merge_results_impl(op, mval, midx, pidx, val, idx):
    if _literal(op) > _ARGMIN:
        return lambda op, mval, midx, pidx, val, idx: None

    def impl(op, mval, midx, pidx, val, idx):
        A, B = val.shape
        for a in range(A):
            for b in range(B):
                val[a, b] = mval[0, a * B + b]
        for a in range(idx.shape[0]):
            for b in range(B):
                idx[a, b] = pidx[midx[0, a * B + b], a, b]
    return impl


@njit
def _plan(shape, splittable):
    """Cut an (A, K, B) problem into tasks; returns (number of K chunks, parallel,
    plan) with plan = (tiles along a, tiles along b, rows per tile, columns per tile,
    K chunk) as ``_coords`` reads it. Runs serially below _SERIAL_MAX elements.

    Column tiles are as wide as possible (long contiguous runs stream memory best), rows
    are grouped so a task has about _TASK_MIN elements, and when that leaves fewer than
    _TASKS_PER_THREAD tasks per thread, reductions split K and other kernels narrow
    their column tiles.
    """
    A, K, B = shape
    nthreads = _num_threads()
    parallel = A * K * B >= _SERIAL_MAX and nthreads > 1
    want = _TASKS_PER_THREAD * nthreads if parallel else 1
    ntile_b = -(-B // _TILE)
    bw = -(-B // ntile_b)
    ah = max(1, min(-(-_TASK_MIN // (K * bw)), -(-A // want)))
    ntile_a = -(-A // ah)
    nsplit = 1
    kchunk = K
    blk = _ROW_BLOCK if B == 1 else _COL_BLOCK
    if ntile_a * ntile_b < want:
        if splittable and K >= 2 * blk:
            nsplit = min(-(-want // (ntile_a * ntile_b)), -(-K // blk))
            kchunk = -(-(-(-K // nsplit)) // blk) * blk
            nsplit = -(-K // kchunk)
        elif B > 1:
            ntile_b = max(ntile_b, min(-(-B // _MIN_TILE), -(-want // ntile_a)))
            bw = -(-B // ntile_b)
            ntile_b = -(-B // bw)
    parallel = parallel and ntile_a * ntile_b * nsplit > 1
    return nsplit, parallel, (ntile_a, ntile_b, ah, bw, kchunk)


@njit(inline="always")
def _drive(op, task, x, y, val, idx):
    """Shared driver, inlined into each public kernel so that its prange loop runs there:
    plans the tasks and runs ``task`` (one of the ``*_task`` functions) on each.

    ``y`` is the second input of the backward kernels (else ``x``); ``idx`` the index
    output of the arg reductions (else an empty dummy).
    """
    A, K, B = x.shape
    if A * B == 0:
        return
    if K == 0:
        _empty_k(op, val)
        return
    nsplit, parallel, plan = _plan(x.shape, op <= _ARGMIN)
    ntasks = nsplit * plan[0] * plan[1]
    pval = np.empty((nsplit if nsplit > 1 else 0, A, B), val.dtype)  # K chunks' results
    pidx = np.empty((pval.shape[0],) + idx.shape, np.int64)
    if parallel:
        for t in prange(ntasks):
            task(op, x, y, val, idx, pval, pidx, np.int64(t), plan)  # prange's t: unsigned
    else:
        for t in range(ntasks):
            task(op, x, y, val, idx, pval, pidx, t, plan)
    if nsplit > 1:
        mx, my, mval, midx = _merge_operands(op, x, y, val, idx, pval)
        one = np.int64(1)  # not literals (see the tasks)
        task(op, mx, my, mval, midx, pval[:0], pidx[:0], one - 1, (one, one, one, A * B, nsplit))
        _merge_results(op, mval, midx, pidx, val, idx)


# ----------------------------------------------------------------------------------------
# Public kernels
# ----------------------------------------------------------------------------------------

@njit(parallel=True, cache=True)
def sum_(x, out):
    """out[a, b] = sum_k x[a, k, b]. x: (A, K, B) float32/float64/int64; out: (A, B), same
    dtype. Float sums are pairwise-accurate. K == 0 gives 0."""
    _drive(_SUM, _fold_task, x, x, out, np.empty((0, 0), np.int64))


@njit(parallel=True, cache=True)
def prod(x, out):
    """out[a, b] = prod_k x[a, k, b]; dtypes as ``sum_``. K == 0 gives 1."""
    _drive(_PROD, _fold_task, x, x, out, np.empty((0, 0), np.int64))


@njit(parallel=True, cache=True)
def max_(x, out):
    """out[a, b] = max_k x[a, k, b]; any NaN in the slice gives NaN. x: (A, K, B)
    float32/float64/int64; out: (A, B), same dtype. K must be > 0 (else ValueError)."""
    _drive(_MAX, _fold_task, x, x, out, np.empty((0, 0), np.int64))


@njit(parallel=True, cache=True)
def min_(x, out):
    """out[a, b] = min_k x[a, k, b]; as ``max_``."""
    _drive(_MIN, _fold_task, x, x, out, np.empty((0, 0), np.int64))


@njit(parallel=True, cache=True)
def all_(x, out):
    """out[a, b] = all_k x[a, k, b] != 0 (NaN counts as true). x: (A, K, B) of any numeric
    or bool dtype; out: (A, B) bool. K == 0 gives True."""
    _drive(_ALL, _fold_task, x, x, out, np.empty((0, 0), np.int64))


@njit(parallel=True, cache=True)
def any_(x, out):
    """out[a, b] = any_k x[a, k, b] != 0; as ``all_``. K == 0 gives False."""
    _drive(_ANY, _fold_task, x, x, out, np.empty((0, 0), np.int64))


@njit(parallel=True, cache=True)
def max_argmax(x, out, out_idx):
    """torch.max(dim): out[a, b] = max_k x[a, k, b] and out_idx[a, b] its first index k
    (NaN counts as the maximum: the first NaN wins). x: (A, K, B) float32/float64/int64;
    out: (A, B), same dtype; out_idx: (A, B) int64. K must be > 0 (else ValueError)."""
    _drive(_ARGMAX, _arg_task, x, x, out, out_idx)


@njit(parallel=True, cache=True)
def min_argmin(x, out, out_idx):
    """torch.min(dim): as ``max_argmax`` with the minimum (NaN still wins)."""
    _drive(_ARGMIN, _arg_task, x, x, out, out_idx)


@njit(parallel=True, cache=True)
def argmax(x, out_idx):
    """out_idx[a, b] = first index k of max_k x[a, k, b] (NaN wins); see ``max_argmax``."""
    _drive(_ARGMAX, _arg_task, x, x, np.empty(out_idx.shape, x.dtype), out_idx)


@njit(parallel=True, cache=True)
def argmin(x, out_idx):
    """out_idx[a, b] = first index k of min_k x[a, k, b] (NaN wins); see ``min_argmin``."""
    _drive(_ARGMIN, _arg_task, x, x, np.empty(out_idx.shape, x.dtype), out_idx)


@njit(parallel=True, cache=True)
def cumsum(x, out):
    """out[a, k, b] = sum_{i <= k} x[a, i, b], accumulated sequentially in x's dtype (as
    NumPy). x: (A, K, B) float32/float64/int64; out: same shape and dtype, may alias x.
    Parallel over (a, b) tiles only: a single long row runs on one thread."""
    _drive(_CUMSUM, _scan_task, x, x, out, np.empty((0, 0), np.int64))


@njit(parallel=True, cache=True)
def cumprod(x, out):
    """out[a, k, b] = prod_{i <= k} x[a, i, b]; as ``cumsum``."""
    _drive(_CUMPROD, _scan_task, x, x, out, np.empty((0, 0), np.int64))


@njit(parallel=True, cache=True)
def softmax(x, out):
    """out = exp(x - max_k x) / sum_k exp(x - max_k x) along K. x: (A, K, B)
    float32/float64; out: same shape and dtype, may alias x. Stable for inputs of any
    finite size; a slice that is all -inf, or holds +inf or NaN, gives NaN (torch)."""
    _drive(_SOFTMAX, _softmax_task, x, x, out, np.empty((0, 0), np.int64))


@njit(parallel=True, cache=True)
def log_softmax(x, out):
    """out = (x - max_k x) - log(sum_k exp(x - max_k x)) along K; as ``softmax``."""
    _drive(_LOG_SOFTMAX, _log_softmax_task, x, x, out, np.empty((0, 0), np.int64))


@njit(parallel=True, cache=True)
def logsumexp(x, out):
    """out[a, b] = log(sum_k exp(x[a, k, b])), computed stably. x: (A, K, B)
    float32/float64; out: (A, B), same dtype. An all -inf slice (or K == 0) gives -inf,
    a slice holding +inf gives +inf (torch)."""
    _drive(_LOGSUMEXP, _logsumexp_task, x, x, out, np.empty((0, 0), np.int64))


@njit(parallel=True, cache=True)
def softmax_backward(y, g, out):
    """out = y * (g - sum_k g * y) along K: the gradient of softmax given its output ``y``
    and the output gradient ``g``. y, g, out: (A, K, B), one float dtype; out must not
    alias y or g."""
    _drive(_SOFTMAX_BW, _softmax_bw_task, y, g, out, np.empty((0, 0), np.int64))


@njit(parallel=True, cache=True)
def log_softmax_backward(y, g, out):
    """out = g - exp(y) * sum_k g along K: the gradient of log_softmax given its output
    ``y`` and the output gradient ``g``. y, g, out: (A, K, B), one float dtype; out may
    alias g."""
    _drive(_LOG_SOFTMAX_BW, _log_softmax_bw_task, y, g, out, np.empty((0, 0), np.int64))


guard_kernels(globals())
