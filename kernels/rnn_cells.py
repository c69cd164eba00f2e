"""The gate arithmetic of one recurrent step, per element, in plain Python compiled per target
(``kernels.portable``): ``kernels.cpu.rnn`` and ``kernels.cuda.rnn`` run the same formulas.

``forward_cell`` computes element ``c`` of row ``n``'s new state at step ``s`` (input time ``t``)
from the step's pre-activations, torch's gate order and formulas (see ``kernels.cpu.rnn``);
``backward_cell`` is its gradient. A target loops over (or launches a thread per) the elements
of the active rows; the products ``h W_hh^T``, the packed-length bookkeeping and the
projection stay with the target. Constants are of the operands' type (``type(x)(1)``), so a
float32 step computes in float32.

``sigmoid`` and ``tanh`` are the portable definitions (libdevice's ``exp``/``tanh`` on the
GPU); the CPU compiles ``kernels.cpu.vmath``'s vectorisable ones in their place.
"""

from __future__ import annotations

import math

RNN_TANH, RNN_RELU, LSTM, GRU = 0, 1, 2, 3
GATES = {RNN_TANH: 1, RNN_RELU: 1, LSTM: 4, GRU: 3}


def sigmoid(x):
    one = type(x)(1)
    return one / (one + math.exp(-x))


def tanh(x):
    return math.tanh(x)


def forward_cell(mode, gi, gh, b_hh, acts, hs, cs, H, s, t, n, c):
    """Element c of row n at step s: adds ``b_hh`` to the element's gates of ``gh[s, n]``,
    writes their activations into ``acts[s, n]`` (LSTM, GRU) and, for LSTM, ``cs[s + 1, n, c]``;
    returns the new ``h[c]`` (an LSTM's ``o tanh(c')``, before any projection)."""
    x, g, a = gi[t, n], gh[s, n], acts[s, n]
    if mode == LSTM:
        for k in range(4):
            g[k * H + c] += b_hh[k * H + c]
        ig = sigmoid(x[c] + g[c])
        fg = sigmoid(x[H + c] + g[H + c])
        gg = tanh(x[2 * H + c] + g[2 * H + c])
        og = sigmoid(x[3 * H + c] + g[3 * H + c])
        a[c], a[H + c], a[2 * H + c], a[3 * H + c] = ig, fg, gg, og
        cn = fg * cs[s, n, c] + ig * gg
        cs[s + 1, n, c] = cn
        return og * tanh(cn)
    if mode == GRU:
        for k in range(3):
            g[k * H + c] += b_hh[k * H + c]
        r = sigmoid(x[c] + g[c])
        z = sigmoid(x[H + c] + g[H + c])
        nn = tanh(x[2 * H + c] + r * g[2 * H + c])
        a[c], a[H + c], a[2 * H + c] = r, z, nn
        return (type(z)(1) - z) * nn + z * hs[s, n, c]
    g[c] += b_hh[c]
    v = x[c] + g[c]
    if mode == RNN_TANH:
        return tanh(v)
    zero = type(v)(0)
    return zero if v <= zero else v  # relu; NaN passes, as torch


def backward_cell(mode, acts, gh, hs, cs, dho, dc, dgh, dgi, H, s, t, n, c):
    """The gradient of ``forward_cell``: ``dho`` is that of the new ``h[c]`` (before any
    projection), ``dc[n, c]`` that of the new ``c[c]`` on entry and of the old one on return
    (LSTM). Writes the element's pre-activation gradients into ``dgh[s, n]`` (those of
    ``h W_hh^T + b_hh``) and ``dgi[t, n]`` (of ``x W_ih^T + b_ih``); returns the gradient of
    the old ``h[c]`` other than through ``W_hh`` (GRU: ``dho z``; else 0)."""
    a, d, di = acts[s, n], dgh[s, n], dgi[t, n]
    one, zero = type(dho)(1), type(dho)(0)
    if mode == LSTM:
        ig, fg, gg, og = a[c], a[H + c], a[2 * H + c], a[3 * H + c]
        tc = tanh(cs[s + 1, n, c])
        dct = dc[n, c] + dho * og * (one - tc * tc)
        d[c] = di[c] = dct * gg * ig * (one - ig)
        d[H + c] = di[H + c] = dct * cs[s, n, c] * fg * (one - fg)
        d[2 * H + c] = di[2 * H + c] = dct * ig * (one - gg * gg)
        d[3 * H + c] = di[3 * H + c] = dho * tc * og * (one - og)
        dc[n, c] = dct * fg
        return zero
    if mode == GRU:
        r, z, nn = a[c], a[H + c], a[2 * H + c]
        dn = dho * (one - z) * (one - nn * nn)
        dr = dn * gh[s, n, 2 * H + c] * r * (one - r)
        dz = dho * (hs[s, n, c] - nn) * z * (one - z)
        d[c] = di[c] = dr
        d[H + c] = di[H + c] = dz
        d[2 * H + c], di[2 * H + c] = dn * r, dn
        return dho * z
    hn = hs[s + 1, n, c]
    if mode == RNN_TANH:
        d[c] = di[c] = dho * (one - hn * hn)
    else:
        d[c] = di[c] = dho if hn > zero else zero
    return zero


FUNCTIONS = (sigmoid, tanh, forward_cell, backward_cell)  # for portable.compile_for
