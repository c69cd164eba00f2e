"""One recurrent layer (one direction) over a whole sequence, forward and backward, in one
kernel call each: Elman RNN (tanh or relu), LSTM and GRU, torch's gate order and formulas.

The input projection ``gi = x W_ih^T + b_ih`` (``(T, N, G*H)``, G gates) is computed by the
caller for all steps at once, one large GEMM; here each step ``s`` does
``gh = h W_hh^T + b_hh`` (one BLAS call on the batch) and then the gate arithmetic of the
step, fused, row by row:

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
"""

from __future__ import annotations

import numpy as np
from numba import njit

from . import vmath
from .blas import gemm, ready_blas
from ..guard import guard_kernels

RNN_TANH, RNN_RELU, LSTM, GRU = 0, 1, 2, 3
GATES = {RNN_TANH: 1, RNN_RELU: 1, LSTM: 4, GRU: 3}


@njit(inline="always")
def _time(s, length, reverse):
    return length - 1 - s if reverse else s


@njit(cache=True, error_model="numpy")
def rnn_forward(mode, gi, w_hh, b_hh, w_hr, has_proj, lengths, reverse, hs, cs, acts, gh, hr, out):
    """Run the layer; hs[0] (and cs[0]) hold the initial state; out (T, N, P) zeroed by the
    caller. With ``has_proj`` (LSTM) ``hr[s]`` keeps o * tanh(c) of step s and the state is
    ``hs[s + 1] = hr[s] w_hr^T``; else ``w_hr`` and ``hr`` are not read."""
    T, N, GH = gi.shape
    H = cs.shape[2]
    for s in range(T):
        g = gh[s]
        gemm(hs[s], w_hh.T, g)
        for n in range(N):
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
            x, a, grow = gi[t, n], acts[s, n], g[n]
            for c in range(GH):
                grow[c] += b_hh[c]
            if mode == LSTM:
                cp, cn = cs[s, n], cs[s + 1, n]
                hfull = hr[s, n] if has_proj else hn
                for c in range(H):
                    ig = vmath.sigmoid(x[c] + grow[c])
                    fg = vmath.sigmoid(x[H + c] + grow[H + c])
                    gg = vmath.tanh(x[2 * H + c] + grow[2 * H + c])
                    og = vmath.sigmoid(x[3 * H + c] + grow[3 * H + c])
                    a[c], a[H + c], a[2 * H + c], a[3 * H + c] = ig, fg, gg, og
                    cn[c] = fg * cp[c] + ig * gg
                    hfull[c] = og * vmath.tanh(cn[c])
            elif mode == GRU:
                for c in range(H):
                    r = vmath.sigmoid(x[c] + grow[c])
                    z = vmath.sigmoid(x[H + c] + grow[H + c])
                    nn = vmath.tanh(x[2 * H + c] + r * grow[2 * H + c])
                    a[c], a[H + c], a[2 * H + c] = r, z, nn
                    hn[c] = (1 - z) * nn + z * hp[c]
            elif mode == RNN_TANH:
                for c in range(H):
                    hn[c] = vmath.tanh(x[c] + grow[c])
            else:
                for c in range(H):
                    v = x[c] + grow[c]
                    hn[c] = v if v > 0 else v * 0
            if not has_proj:
                o = out[t, n]
                for c in range(H):
                    o[c] = hn[c]
        if has_proj:
            gemm(hr[s], w_hr.T, hs[s + 1])
            for n in range(N):
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
                 dhp, dw_hh, db_hh, dw_hr):
    """Gradients of rnn_forward. dh, dc: the final states' gradients on entry, the initial
    states' on return. dgi (T, N, G*H) zeroed by the caller; dgh, db_hh overwritten, dw_hh
    (and, with ``has_proj``, dw_hr) accumulated into (zero them). ``dhp`` (T, N, P) holds
    each step's state gradient when projecting (else it is not touched)."""
    T, N, GH = dgh.shape
    H = cs.shape[2]
    dnext = np.empty_like(dh)
    dfull = np.empty((N, H), dh.dtype)  # the gradient of o * tanh(c) when projecting
    for s in range(T - 1, -1, -1):
        for n in range(N):
            if s < lengths[n]:
                dhr, g = dh[n], dout[_time(s, lengths[n], reverse), n]
                for c in range(dhr.shape[0]):
                    dhr[c] += g[c]
        if has_proj:
            for n in range(N):
                for c in range(dh.shape[1]):
                    dhp[s, n, c] = dh[n, c] if s < lengths[n] else 0
            gemm(dhp[s], w_hr, dfull)
        for n in range(N):
            d = dgh[s, n]
            if s >= lengths[n]:
                for c in range(GH):
                    d[c] = 0
                continue
            t = _time(s, lengths[n], reverse)
            dhr, hp, hn, a = dh[n], hs[s, n], hs[s + 1, n], acts[s, n]
            if mode == LSTM:
                dho = dfull[n] if has_proj else dhr
                dcr, cp, cn = dc[n], cs[s, n], cs[s + 1, n]
                for c in range(H):
                    ig, fg, gg, og = a[c], a[H + c], a[2 * H + c], a[3 * H + c]
                    tc = vmath.tanh(cn[c])
                    dct = dcr[c] + dho[c] * og * (1 - tc * tc)
                    d[c] = dct * gg * ig * (1 - ig)
                    d[H + c] = dct * cp[c] * fg * (1 - fg)
                    d[2 * H + c] = dct * ig * (1 - gg * gg)
                    d[3 * H + c] = dho[c] * tc * og * (1 - og)
                    dcr[c] = dct * fg
            elif mode == GRU:
                ghr = gh[s, n]
                for c in range(H):
                    r, z, nn = a[c], a[H + c], a[2 * H + c]
                    dn = dhr[c] * (1 - z) * (1 - nn * nn)
                    dr = dn * ghr[2 * H + c] * r * (1 - r)
                    dz = dhr[c] * (hp[c] - nn) * z * (1 - z)
                    d[c], d[H + c], d[2 * H + c] = dr, dz, dn * r
                    dgi[t, n, 2 * H + c] = dn
                    dgi[t, n, c], dgi[t, n, H + c] = dr, dz
            elif mode == RNN_TANH:
                for c in range(H):
                    d[c] = dhr[c] * (1 - hn[c] * hn[c])
            else:
                for c in range(H):
                    d[c] = dhr[c] if hn[c] > 0 else 0
            if mode != GRU:
                for c in range(GH):
                    dgi[t, n, c] = d[c]
        gemm(dgh[s], w_hh, dnext)
        for n in range(N):
            dhr, dnr = dh[n], dnext[n]
            if s >= lengths[n]:
                for c in range(dnr.shape[0]):
                    dnr[c] = dhr[c]
            elif mode == GRU:
                z = acts[s, n, H:2 * H]
                for c in range(H):
                    dnr[c] += dhr[c] * z[c]
        for n in range(N):
            for c in range(dh.shape[1]):
                dh[n, c] = dnext[n, c]
    for c in range(GH):
        db_hh[c] = 0
    for s in range(T):
        gemm(dgh[s].T, hs[s], dw_hh, 1.0)
        if has_proj:
            gemm(dhp[s].T, hr[s], dw_hr, 1.0)
        for n in range(N):
            for c in range(GH):
                db_hh[c] += dgh[s, n, c]


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
        rnn_forward(mode, gi, w_hh, b_hh, _weight_or_dummy(w_hr, gi), has_proj, lengths, reverse, hs, cs, acts,
                    gh, hr, out)
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
    dw = np.zeros(w_hh.shape, dout.dtype)
    db = np.empty(GH, dout.dtype)
    dhp = np.empty((T, N, P) if has_proj else (0, 0, 0), dout.dtype)
    dw_hr = np.zeros(w_hr.shape if has_proj else (0, 0), dout.dtype)
    if T:
        rnn_backward(mode, w_hh, _weight_or_dummy(w_hr, dout), has_proj, lengths, reverse, saved["hs"],
                     saved["cs"], saved["acts"], saved["gh"], saved["hr"], dout, dh, dc, dgi, dgh, dhp, dw, db,
                     dw_hr)
    return dgi, dw, db, dh, dc, (dw_hr if has_proj else None)


def _weight_or_dummy(w: np.ndarray | None, like: np.ndarray) -> np.ndarray:
    # one array type with and without a projection, so the kernels compile once per dtype
    return w if w is not None else np.zeros((0, 0), like.dtype)



guard_kernels(globals())
