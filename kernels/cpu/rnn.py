"""One recurrent layer (one direction) over a whole sequence, forward and backward, in one
kernel call each: Elman RNN (tanh or relu), LSTM and GRU, torch's gate order and formulas.

The input projection ``gi = x W_ih^T + b_ih`` (``(T, N, G*H)``, G gates) is computed by the
caller for all steps at once, one large GEMM; here each step ``s`` does
``gh = h W_hh^T + b_hh`` (one BLAS call on the batch) and then the gate arithmetic of the
step, fused, row by row (``kernels.rnn_cells``, shared with the CUDA kernels; each mode's row
loop is compiled on its own, so that it vectorises):

    RNN   h' = act(gi + gh)
    LSTM  i, f, g, o = sig, sig, tanh, sig of (gi + gh);  c' = f c + i g;  h' = o tanh(c')
    GRU   r, z = sig(gi_r + gh_r), sig(gi_z + gh_z);  n = tanh(gi_n + r gh_n);  h' = (1 - z) n + z h

Variable lengths (packed sequences): row ``n`` takes part in steps ``s < lengths[n]`` and
keeps its state after, so ``hs[T]`` holds every row's final state; in reverse it reads
time ``lengths[n] - 1 - s`` at step ``s``. Outputs at padded times are 0.

An LSTM with a projection (torch's ``proj_size`` P) carries ``h' = (o tanh(c')) W_hr^T``
(``(N, P)``): one more product per step, forward and backward.

Saved for backward: the states ``hs`` (``(T+1, N, P)``, P = H without a projection),
``cs`` (``(T+1, N, H)``, index 0 the initial ones), the gate activations ``acts`` and,
for GRU, ``gh`` (``(T, N, G*H)``), and with a projection ``hr`` (o tanh(c), ``(T, N, H)``). The backward walks
the steps in reverse, producing the pre-activation gradients ``dgh`` (per step) and
``dgi`` (per time), then ``dW_hh = sum_s dgh_s^T h_s`` and ``db_hh`` in one GEMM / sum.

A batch row's recurrence reads only its own state, so with enough work the batch is cut
into one block of rows per thread, each running every step of its rows (its own, smaller,
products); one parallel launch per layer, not one per step.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

from . import linear, reduce, vmath
from .blas import gemm, ready_blas
from .. import rnn_cells
from ..guard import guard_kernels
from ..portable import compile_for
from ..rnn_cells import GATES, GRU, LSTM, RNN_RELU, RNN_TANH

_FAST = {"sigmoid": vmath.sigmoid, "tanh": vmath.tanh}  # vectorisable, for the cells' portable ones
_cells = compile_for(rnn_cells.FUNCTIONS, lambda f: _FAST.get(f.__name__) or njit(inline="always")(f))
_forward_cell, _backward_cell = _cells.forward_cell, _cells.backward_cell


@njit(inline="always")
def _time(s, length, reverse):
    return length - 1 - s if reverse else s


@njit(inline="always")
def _forward_row(mode, gi, gh, b_hh, acts, hs, cs, H, s, t, n, hfull):
    for c in range(H):
        hfull[c] = _forward_cell(mode, gi, gh, b_hh, acts, hs, cs, H, s, t, n, c)


@njit(inline="always")
def _backward_row(mode, acts, gh, hs, cs, dho, dc, dgh, dgi, H, s, t, n, dh):
    for c in range(H):
        carry = _backward_cell(mode, acts, gh, hs, cs, dho[c], dc, dgh, dgi, H, s, t, n, c)
        if c < dh.shape[0]:  # (P <= H) the part of dh not through W_hh; the product adds the rest
            dh[c] = carry


@njit(inline="always")
def _lstm_forward_row(x, g, b, a, cp, cn, h):
    """``forward_cell``'s LSTM step for one row, in passes over contiguous rows: the
    gates' pre-activations ``x + (g + b)``, their activations in place, the new cell state,
    the output. Each pass reads and writes few enough arrays for LLVM to vectorise it; the
    per-element cell touches seven and stayed scalar (~50 ns an element). Unlike the cell
    it leaves ``g`` (``gh``) without the bias, which only GRU's backward reads."""
    H = cp.shape[0]
    for j in range(4 * H):
        a[j] = x[j] + (g[j] + b[j])
    for j in range(2 * H):
        a[j] = vmath.sigmoid(a[j])
    for j in range(2 * H, 3 * H):
        a[j] = vmath.tanh(a[j])
    for j in range(3 * H, 4 * H):
        a[j] = vmath.sigmoid(a[j])
    for c in range(H):
        cn[c] = a[H + c] * cp[c] + a[c] * a[2 * H + c]
    for c in range(H):
        h[c] = a[3 * H + c] * vmath.tanh(cn[c])


@njit(inline="always")
def _lstm_backward_row(a, cp, cn, dho, dc, d, di, tc, dct):
    """``backward_cell``'s LSTM gradient for one row, in passes as ``_lstm_forward_row``
    (``tc``, ``dct``: rows of scratch): ``d`` and ``di`` get the gates' pre-activation
    gradients, ``dc`` becomes that of the old cell state."""
    H = cp.shape[0]
    one = dct.dtype.type(1)
    for c in range(H):
        tc[c] = vmath.tanh(cn[c])
    for c in range(H):
        dct[c] = dc[c] + dho[c] * a[3 * H + c] * (one - tc[c] * tc[c])
    for c in range(H):
        d[c] = dct[c] * a[2 * H + c] * a[c] * (one - a[c])
    for c in range(H):
        d[H + c] = dct[c] * cp[c] * a[H + c] * (one - a[H + c])
    for c in range(H):
        d[2 * H + c] = dct[c] * a[c] * (one - a[2 * H + c] * a[2 * H + c])
    for c in range(H):
        d[3 * H + c] = dho[c] * tc[c] * a[3 * H + c] * (one - a[3 * H + c])
    for c in range(H):
        dc[c] = dct[c] * a[H + c]
    for j in range(4 * H):
        di[j] = d[j]


@njit(cache=True, error_model="numpy")
def rnn_forward(mode, gi, w_hh, b_hh, w_hr, has_proj, lengths, reverse, hs, cs, acts, gh, hr, out, n0, n1):
    """Run the layer for the batch rows n0:n1 (each row's recurrence reads only its own
    state, so row blocks run independently); hs[0] (and cs[0]) hold the initial state; out
    (T, N, P) zeroed by the caller. With ``has_proj`` (LSTM) ``hr[s]`` keeps o * tanh(c)
    of step s and the state is ``hs[s + 1] = hr[s] w_hr^T``; else ``w_hr`` and ``hr`` are
    not read."""
    T, _, GH = gi.shape
    H = cs.shape[2]
    for s in range(T):
        gemm(hs[s, n0:n1], w_hh.T, gh[s, n0:n1])
        for n in range(n0, n1):
            hp, hn = hs[s, n], hs[s + 1, n]
            if s >= lengths[n]:
                for c in range(hn.shape[0]):
                    hn[c] = hp[c]
                for c in range(H):
                    cs[s + 1, n, c] = cs[s, n, c]
                    if has_proj:
                        hr[s, n, c] = 0
                for c in range(GH):
                    acts[s, n, c] = 0
                continue
            t = _time(s, lengths[n], reverse)
            hfull = hr[s, n] if has_proj else hn
            if mode == LSTM:  # each mode's own loop: branch-free, it vectorises
                _lstm_forward_row(gi[t, n], gh[s, n], b_hh, acts[s, n], cs[s, n], cs[s + 1, n], hfull)
            elif mode == GRU:
                _forward_row(GRU, gi, gh, b_hh, acts, hs, cs, H, s, t, n, hfull)
            elif mode == RNN_TANH:
                _forward_row(RNN_TANH, gi, gh, b_hh, acts, hs, cs, H, s, t, n, hfull)
            else:
                _forward_row(RNN_RELU, gi, gh, b_hh, acts, hs, cs, H, s, t, n, hfull)
            if not has_proj:
                o = out[t, n]
                for c in range(H):
                    o[c] = hn[c]
        if has_proj:
            gemm(hr[s, n0:n1], w_hr.T, hs[s + 1, n0:n1])
            for n in range(n0, n1):
                hp, hn = hs[s, n], hs[s + 1, n]
                if s >= lengths[n]:
                    for c in range(hn.shape[0]):
                        hn[c] = hp[c]
                else:
                    o = out[_time(s, lengths[n], reverse), n]
                    for c in range(hn.shape[0]):
                        o[c] = hn[c]


@njit(cache=True, error_model="numpy")
def rnn_backward(mode, w_hh, w_hr, has_proj, lengths, reverse, hs, cs, acts, gh, hr, dout, dh, dc, dgi, dgh,
                 dhp, n0, n1):
    """Gradients of rnn_forward for the batch rows n0:n1 (independent, as there), but for
    the weights' (``backward`` makes those over all rows after). dh, dc: the final states'
    gradients on entry, the initial states' on return. dgi (T, N, G*H) zeroed by the
    caller; dgh overwritten. ``dhp`` (T, N, P) holds each step's state gradient when
    projecting (else it is not touched)."""
    T, _, GH = dgh.shape
    H = cs.shape[2]
    P = dh.shape[1]
    dfull = np.empty((n1 - n0, H), dh.dtype)  # the gradient of o * tanh(c) when projecting
    scratch = np.empty((2, H), dh.dtype)  # the LSTM rows' tanh(c') and cell-state gradient
    for s in range(T - 1, -1, -1):
        for n in range(n0, n1):
            if s < lengths[n]:
                dhr, g = dh[n], dout[_time(s, lengths[n], reverse), n]
                for c in range(P):
                    dhr[c] += g[c]
        if has_proj:
            for n in range(n0, n1):
                for c in range(P):
                    dhp[s, n, c] = dh[n, c] if s < lengths[n] else 0
            gemm(dhp[s, n0:n1], w_hr, dfull)
        for n in range(n0, n1):
            if s >= lengths[n]:  # its state passes through: dh[n] stays
                for c in range(GH):
                    dgh[s, n, c] = 0
                continue
            t = _time(s, lengths[n], reverse)
            dho = dfull[n - n0] if has_proj else dh[n]
            if mode == LSTM:  # one loop per mode, as in the forward
                _lstm_backward_row(acts[s, n], cs[s, n], cs[s + 1, n], dho, dc[n], dgh[s, n], dgi[t, n],
                                   scratch[0], scratch[1])
                dh[n] = 0  # all of the old state's gradient comes through W_hh
            elif mode == GRU:
                _backward_row(GRU, acts, gh, hs, cs, dho, dc, dgh, dgi, H, s, t, n, dh[n])
            elif mode == RNN_TANH:
                _backward_row(RNN_TANH, acts, gh, hs, cs, dho, dc, dgh, dgi, H, s, t, n, dh[n])
            else:
                _backward_row(RNN_RELU, acts, gh, hs, cs, dho, dc, dgh, dgi, H, s, t, n, dh[n])
        gemm(dgh[s, n0:n1], w_hh, dh[n0:n1], 1.0)


@njit(cache=True, error_model="numpy", parallel=True)
def rnn_forward_par(mode, gi, w_hh, b_hh, w_hr, has_proj, lengths, reverse, hs, cs, acts, gh, hr, out, blocks):
    """``rnn_forward`` on ``blocks`` blocks of batch rows at once, one per thread."""
    N = gi.shape[1]
    for b in prange(blocks):
        rnn_forward(mode, gi, w_hh, b_hh, w_hr, has_proj, lengths, reverse, hs, cs, acts, gh, hr, out,
                    b * N // blocks, (b + 1) * N // blocks)


@njit(cache=True, error_model="numpy", parallel=True)
def rnn_backward_par(mode, w_hh, w_hr, has_proj, lengths, reverse, hs, cs, acts, gh, hr, dout, dh, dc, dgi, dgh,
                     dhp, blocks):
    """``rnn_backward`` on ``blocks`` blocks of batch rows at once, one per thread."""
    N = dgh.shape[1]
    for b in prange(blocks):
        rnn_backward(mode, w_hh, w_hr, has_proj, lengths, reverse, hs, cs, acts, gh, hr, dout, dh, dc, dgi,
                     dgh, dhp, b * N // blocks, (b + 1) * N // blocks)


# Below this many multiply-adds of the steps' products one thread is quicker (as ``linear``).
_PARALLEL_WORK = 1 << 18


def _blocks(N: int, work: int) -> int:
    """Row blocks for the parallel kernels: one per thread, at most one per row; 1 (the
    serial kernel) for little work, where starting the threads would cost more."""
    return 1 if work < _PARALLEL_WORK else max(1, min(numba.get_num_threads(), N))


def forward(mode: int, gi: np.ndarray, w_hh: np.ndarray, b_hh: np.ndarray, lengths: np.ndarray,
            reverse: bool, h0: np.ndarray, c0: np.ndarray | None, w_hr: np.ndarray | None = None) -> dict:
    """Run one layer direction; returns the arrays named in the module docstring plus ``out``
    (and ``hr``, o * tanh(c) of each step, when the LSTM projects its state by ``w_hr``)."""
    ready_blas()
    T, N, GH = gi.shape
    H, P = GH // GATES[mode], h0.shape[1]
    hs = np.empty((T + 1, N, P), gi.dtype)
    hs[0] = h0
    cs = np.empty((T + 1, N, H), gi.dtype)
    cs[0] = c0 if mode == LSTM else 0
    acts = np.empty((T, N, GH), gi.dtype)
    gh = np.empty((T, N, GH), gi.dtype)
    out = np.zeros((T, N, P), gi.dtype)
    has_proj = w_hr is not None
    hr = np.empty((T, N, H) if has_proj else (0, 0, 0), gi.dtype)
    if T:
        args = (mode, gi, w_hh, b_hh, _weight_or_dummy(w_hr, gi), has_proj, lengths, reverse, hs, cs, acts, gh, hr,
                out)
        blocks = _blocks(N, T * N * GH * P)
        if blocks > 1:
            rnn_forward_par(*args, blocks)
        else:
            rnn_forward(*args, 0, N)
    return {"hs": hs, "cs": cs, "acts": acts, "gh": gh, "hr": hr, "out": out}


def backward(mode: int, w_hh: np.ndarray, lengths: np.ndarray, reverse: bool, saved: dict,
             dout: np.ndarray, dhn: np.ndarray, dcn: np.ndarray | None, w_hr: np.ndarray | None = None) -> tuple:
    """(dgi, dw_hh, db_hh, dh0, dc0, dw_hr) for the ``saved`` result of ``forward``
    (``dw_hr`` None without a projection)."""
    ready_blas()
    T, N, P = dout.shape
    GH = w_hh.shape[0]
    H = GH // GATES[mode]
    has_proj = w_hr is not None
    dh = np.array(dhn, dtype=dout.dtype, order="C")
    dc = np.zeros((N, H), dout.dtype) if dcn is None else np.array(dcn, dtype=dout.dtype, order="C")
    dgi = np.zeros((T, N, GH), dout.dtype)
    dgh = np.empty((T, N, GH), dout.dtype)
    dw = np.zeros(w_hh.shape, dout.dtype)  # (no steps: the kernels do not run)
    db = np.zeros(GH, dout.dtype)
    dhp = np.empty((T, N, P) if has_proj else (0, 0, 0), dout.dtype)
    dw_hr = np.zeros(w_hr.shape if has_proj else (0, 0), dout.dtype)
    if T:
        hs = saved["hs"]
        args = (mode, w_hh, _weight_or_dummy(w_hr, dout), has_proj, lengths, reverse, hs, saved["cs"],
                saved["acts"], saved["gh"], saved["hr"], dout, dh, dc, dgi, dgh, dhp)
        blocks = _blocks(N, T * N * GH * P)
        if blocks > 1:
            rnn_backward_par(*args, blocks)
        else:
            rnn_backward(*args, 0, N)
        # the weights' gradients over all steps at once, dW_hh = sum_s dgh_s^T h_s: one
        # product of depth T*N (the threaded affine kernel), not T products of depth N
        rows = dgh.reshape(T * N, GH)
        linear.linear(rows.T, hs[:T].reshape(T * N, P).T, dw[0], False, dw)
        if has_proj:
            linear.linear(dhp.reshape(T * N, P).T, saved["hr"].reshape(T * N, H).T, dw_hr[0], False, dw_hr)
        reduce.sum_(rows.reshape(1, T * N, GH), db.reshape(1, GH))
    return dgi, dw, db, dh, dc, (dw_hr if has_proj else None)


def _weight_or_dummy(w: np.ndarray | None, like: np.ndarray) -> np.ndarray:
    # one array type with and without a projection, so the kernels compile once per dtype
    return w if w is not None else np.zeros((0, 0), like.dtype)



guard_kernels(globals())
