"""One recurrent layer (one direction) on the device: Elman RNN (tanh, relu), LSTM (with
``proj_size``) and GRU, forward and backward, as ``kernels.cpu.rnn`` (same arrays, formulas,
gate order, packed lengths and saved layout; see its docstring).

A step depends on the one before, so the host walks the steps and launches, per step, the
tiled GEMM of ``kernels.cuda.matmul`` for ``gh = h W_hh^T`` and then one fused kernel, a
thread per (row, hidden unit), for the step's gate arithmetic (``kernels.rnn_cells``, the
CPU kernels' own): the bias ``b_hh`` is added there, and a row past its length copies its
state on and writes zeros at the padded time. Launches are asynchronous and nothing is
copied to or from the host. With a projection, ``h = (o tanh(c)) W_hr^T`` is one more
GEMM and a small kernel placing the result.

The backward walks the steps in reverse: (with a projection: a kernel adding the output's
gradient and the GEMM through ``W_hr``), one fused kernel for the gates' gradients, then
the GEMM ``dh = dgh W_hh + dh``, where the fused kernel has left in ``dh`` the part of the
gradient that does not pass through ``W_hh`` (GRU's ``dh z``; a finished row's whole
gradient). ``dW_hh = sum_s dgh_s^T h_s`` (and ``dW_hr``) is one GEMM over all steps at the
end, ``db_hh`` the sum over its rows (``kernels.cuda.reduce``).

Unlike the CPU's, ``cs`` is ``(0, 0, 0)`` but for LSTM, and the gate activations of a
finished row are not written (nothing reads them). Arrays are C-contiguous device arrays;
``lengths`` (int64) is on the device too; the caller allocates everything.
"""

from __future__ import annotations

from numba import cuda

from .. import rnn_cells
from ..portable import compile_for
from ..rnn_cells import GATES, GRU, LSTM, RNN_RELU, RNN_TANH  # noqa: F401  (the mode codes)
from . import launch
from . import matmul as cmatmul
from . import reduce as creduce

_cells = compile_for(rnn_cells.FUNCTIONS, cuda.jit(device=True, inline="always"))  # inlined: see special.py
_forward_cell, _backward_cell = _cells.forward_cell, _cells.backward_cell


@cuda.jit(cache=True)
def step_k(mode, has_proj, H, lengths, s, reverse, gi, gh, b_hh, hs, cs, acts, hr, out):
    """Step s after ``gh[s] = hs[s] W_hh^T``: thread (n, c) computes element c of row n's new
    state (into ``hr[s]`` when projecting, else ``hs[s + 1]`` and ``out``)."""
    N = hs.shape[1]
    for e in range(cuda.grid(1), N * H, cuda.gridsize(1)):
        n = e // H
        c = e - n * H
        L = lengths[n]
        if s >= L:  # finished: the state passes on; zeros at the padded time s
            if mode == LSTM:
                cs[s + 1, n, c] = cs[s, n, c]
            if has_proj:
                hr[s, n, c] = 0
            else:
                hs[s + 1, n, c] = hs[s, n, c]
                out[s, n, c] = 0
            continue
        t = L - 1 - s if reverse else s
        h = _forward_cell(mode, gi, gh, b_hh, acts, hs, cs, H, s, t, n, c)
        if has_proj:
            hr[s, n, c] = h
        else:
            hs[s + 1, n, c] = h
            out[t, n, c] = h


@cuda.jit(cache=True)
def project_k(lengths, s, reverse, hs, out):
    """After ``hs[s + 1] = hr[s] W_hr^T``: a finished row keeps ``hs[s]``, an active one's goes
    to ``out``."""
    N, P = hs.shape[1], hs.shape[2]
    for e in range(cuda.grid(1), N * P, cuda.gridsize(1)):
        n = e // P
        p = e - n * P
        L = lengths[n]
        if s >= L:
            hs[s + 1, n, p] = hs[s, n, p]
            out[s, n, p] = 0
        else:
            out[L - 1 - s if reverse else s, n, p] = hs[s + 1, n, p]


@cuda.jit(cache=True)
def step_grad_k(mode, has_proj, H, lengths, s, reverse, acts, gh, hs, cs, dout, dfull, dh, dc, dgh, dgi):
    """The gates' gradients of step s, thread (n, c); then ``dh[n, c]`` (c < P) holds the part
    of the old state's gradient not through ``W_hh``. ``dfull`` (projecting) is the gradient
    of ``o tanh(c)``, output's included; else the output's is added to ``dh`` here."""
    N, P = dh.shape[0], dh.shape[1]
    G = dgh.shape[2] // H
    for e in range(cuda.grid(1), N * H, cuda.gridsize(1)):
        n = e // H
        c = e - n * H
        L = lengths[n]
        if s >= L:  # finished: no gate gradients, zeros at the padded time s, dh passes
            for k in range(G):
                dgh[s, n, k * H + c] = 0
                dgi[s, n, k * H + c] = 0
            continue
        t = L - 1 - s if reverse else s
        dho = dfull[n, c] if has_proj else dh[n, c] + dout[t, n, c]
        carry = _backward_cell(mode, acts, gh, hs, cs, dho, dc, dgh, dgi, H, s, t, n, c)
        if c < P:
            dh[n, c] = carry


@cuda.jit(cache=True)
def project_grad_k(lengths, s, reverse, dout, dh, dhp):
    """``dhp[s]`` = the state's gradient at step s, output's included (0 for finished rows)."""
    N, P = dh.shape[0], dh.shape[1]
    for e in range(cuda.grid(1), N * P, cuda.gridsize(1)):
        n = e // P
        p = e - n * P
        L = lengths[n]
        if s < L:
            dhp[s, n, p] = dh[n, p] + dout[L - 1 - s if reverse else s, n, p]
        else:
            dhp[s, n, p] = 0


def _one(a):
    """``a`` as a batch of one, the GEMM's operand."""
    return a.reshape((1,) + a.shape)


def forward(mode: int, gi, w_hh, b_hh, w_hr, lengths, reverse: bool, hs, cs, acts, gh, hr, out) -> None:
    """Run the layer: ``hs[0]`` (and, LSTM, ``cs[0]``) hold the initial state; ``w_hr`` None
    without a projection (then ``hr`` is not touched). Shapes as ``kernels.cpu.rnn``."""
    T, N, _ = gi.shape
    H, P = acts.shape[2] // GATES[mode], hs.shape[2]
    has_proj = w_hr is not None
    w3, wr3 = _one(w_hh), (_one(w_hr) if has_proj else None)
    for s in range(T if N else 0):
        cmatmul.gemm(hs[s:s + 1], w3, gh[s:s + 1], tb=True)
        step_k[launch.grid(N * H)](mode, has_proj, H, lengths, s, reverse, gi, gh, b_hh, hs, cs, acts, hr, out)
        if has_proj:
            cmatmul.gemm(hr[s:s + 1], wr3, hs[s + 1:s + 2], tb=True)
            project_k[launch.grid(N * P)](lengths, s, reverse, hs, out)


def backward(mode: int, w_hh, w_hr, lengths, reverse: bool, hs, cs, acts, gh, hr, dout, dh, dc, dgi, dgh, dhp,
             dfull, dw_hh, db_hh, dw_hr) -> None:
    """Gradients of ``forward``: ``dh``, ``dc`` hold the final states' gradients on entry and the
    initial states' on return; ``dgi``, ``dgh``, ``dw_hh``, ``db_hh`` (and, projecting, ``dhp``
    (T, N, P), ``dfull`` (N, H) and ``dw_hr``) are written whole."""
    T, N, P = dout.shape
    GH = dgh.shape[2]
    H = GH // GATES[mode]
    has_proj = w_hr is not None
    w3, dh3 = _one(w_hh), _one(dh)
    wr3, dfull3 = (_one(w_hr), _one(dfull)) if has_proj else (None, None)
    for s in range(T - 1 if N else -1, -1, -1):
        if has_proj:
            project_grad_k[launch.grid(N * P)](lengths, s, reverse, dout, dh, dhp)
            cmatmul.gemm(dhp[s:s + 1], wr3, dfull3)
        step_grad_k[launch.grid(N * H)](mode, has_proj, H, lengths, s, reverse, acts, gh, hs, cs, dout, dfull, dh,
                                        dc, dgh, dgi)
        cmatmul.gemm(dgh[s:s + 1], w3, dh3, beta=1.0)
    rows = dgh.reshape(1, T * N, GH)
    cmatmul.gemm(rows, hs[:T].reshape(1, T * N, P), _one(dw_hh), ta=True)
    creduce.reduce("sum", rows, db_hh.reshape(1, GH))
    if has_proj:
        cmatmul.gemm(dhp.reshape(1, T * N, P), hr.reshape(1, T * N, H), _one(dw_hr), ta=True)


KERNELS = {"step": step_k, "project": project_k, "step_grad": step_grad_k, "project_grad": project_grad_k}
