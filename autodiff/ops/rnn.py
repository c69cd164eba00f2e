"""One recurrent layer direction as one fused op (the backend's ``rnn`` kernels).

``recurrent_layer(mode, gi, w_hh, b_hh, h0, c0, lengths, reverse)`` takes the input
projection ``gi = x W_ih^T + b_ih`` of every step (``(T, N, G*H)``, computed by the caller
with one ``linear``), and returns ``(out, h_n)`` (``(out, h_n, c_n)`` for LSTM). The whole
time loop, the per-step ``h W_hh^T`` products and the fused gate arithmetic run in one
kernel call; its backward is one kernel call too, so a step costs no Python ops.

Higher-order gradients: when the backward itself is recorded (``create_graph=True``), the
node recomputes the layer with differentiable autodiff ops (``layer_math``: one ``linear``
and a few elementwise ops per step) and differentiates that, so double backward works.
An LSTM's projection (``proj_size``: ``h = (o * tanh(c)) W_hr^T``) runs in the same
kernels, one more product per step.
"""

from __future__ import annotations

import numpy as np

from .. import factories
from ..autograd.function import Function
from ..autograd.grad_mode import enable_grad, is_grad_enabled
from ..backends import backend_of, contiguous
from ..backends.meta import MetaArray
from ..tensor import Tensor
from . import elementwise as ew
from .joining import stack
from .linear import linear

RNN_TANH, RNN_RELU, LSTM, GRU = 0, 1, 2, 3  # the mode codes of the backend's rnn kernels
MODES = {"RNN_TANH": RNN_TANH, "RNN_RELU": RNN_RELU, "LSTM": LSTM, "GRU": GRU}


class _RecurrentLayer(Function):
    profile_name = "autodiff::rnn"

    @staticmethod
    def forward(ctx, mode, gi, w_hh, b_hh, h0, c0, lengths, reverse, w_hr):
        be = backend_of(gi._data)
        ctx.mode, ctx.lengths, ctx.reverse = mode, lengths, reverse
        ctx.save_for_backward(gi, w_hh, b_hh, h0, c0, w_hr)
        if not be.computes:  # meta: the results' metadata only
            return tuple(Tensor._make(MetaArray(shape, gi._data.dtype))
                         for shape in layer_shapes(mode, gi.shape, h0.shape, w_hh.shape))
        b = b_hh._data if b_hh is not None else be.zeros(w_hh.shape[0], gi._data.dtype)
        hr = None if w_hr is None else contiguous(w_hr._data)
        saved = be.rnn.forward(mode, contiguous(gi._data), contiguous(w_hh._data), contiguous(b), lengths, reverse,
                               h0._data, None if c0 is None else c0._data, hr)
        ctx.kernel_saved = saved
        T = gi.shape[0]
        outs = (Tensor._make(saved["out"]), Tensor._make(saved["hs"][T]))
        return outs + (Tensor._make(saved["cs"][T]),) if mode == LSTM else outs

    @staticmethod
    def backward(ctx, dout, dhn, dcn=None):
        gi, w_hh, b_hh, h0, c0, w_hr = ctx.saved_tensors
        mode, lengths, reverse = ctx.mode, ctx.lengths, ctx.reverse
        if is_grad_enabled():  # create_graph: differentiate the composite, so grads have grads
            grads = _math_vjp(mode, gi, w_hh, b_hh, h0, c0, lengths, reverse, w_hr, dout, dhn, dcn)
            return (None,) + grads[:5] + (None, None, grads[5])
        if not backend_of(w_hh._data).computes:  # meta: gradients shaped as the inputs
            meta = (None,) + tuple(None if t is None else Tensor._make(MetaArray(t.shape, t._data.dtype))
                                   for t in (gi, w_hh, b_hh, h0, c0, w_hr))
            return meta[:6] + (None, None, meta[6])
        dgi, dw, db, dh0, dc0, dw_hr = backend_of(w_hh._data).rnn.backward(
            mode, contiguous(w_hh._data), lengths, reverse, ctx.kernel_saved, contiguous(dout._data), dhn._data,
            None if dcn is None else dcn._data, None if w_hr is None else contiguous(w_hr._data))
        wrap = Tensor._make
        return (None, wrap(dgi), wrap(dw), None if b_hh is None else wrap(db), wrap(dh0),
                None if c0 is None else wrap(dc0), None, None, None if w_hr is None else wrap(dw_hr))


def _math_vjp(mode, gi, w_hh, b_hh, h0, c0, lengths, reverse, w_hr, dout, dhn, dcn) -> tuple:
    """(d gi, d w_hh, d b_hh, d h0, d c0, d w_hr) through ``layer_math``, recorded."""
    from ..autograd.functional_api import grad

    inputs = [gi, w_hh, b_hh, h0, c0, w_hr]
    used = [t for t in inputs if t is not None and t.requires_grad]
    with enable_grad():
        outs = layer_math(mode, gi, w_hh, b_hh, h0, c0, lengths, reverse, w_hr)
        grads = [dout, dhn] + ([dcn] if mode == LSTM else [])
        got = iter(grad(outs, used, grads, create_graph=True, allow_unused=True))
    return tuple(next(got) if t is not None and t.requires_grad else None for t in inputs)


def layer_shapes(mode: int, gi: tuple, h0: tuple, w_hh: tuple) -> tuple:
    """The metadata rule: shapes of (out, h_n[, c_n]) for gi (T, N, G*H) and h0 (N, P)."""
    T, N = gi[:2]
    H = w_hh[0] // {LSTM: 4, GRU: 3}.get(mode, 1)
    return ((T, N, h0[1]), tuple(h0)) + (((N, H),) if mode == LSTM else ())


def _reverse_index(lengths: np.ndarray, T: int) -> np.ndarray:
    """idx[t, n] = lengths[n] - 1 - t for t < lengths[n], else t: each sequence reversed in place."""
    t = np.arange(T)[:, None]
    return np.where(t < lengths[None, :], lengths[None, :] - 1 - t, t)


def _time_reverse(x: Tensor, lengths: np.ndarray) -> Tensor:
    idx = _reverse_index(lengths, x.shape[0])
    index = factories.tensor(idx.reshape(idx.shape + (1,) * (x.dim() - 2)), dtype=None).long()
    return x.take_along_dim(index.expand(*x.shape), 0) if x.dim() > 2 else x.take_along_dim(index, 0)


def layer_math(mode, gi, w_hh, b_hh, h0, c0, lengths, reverse, w_hr=None) -> tuple:
    """The layer with differentiable ops, one step at a time (see the module docstring)."""
    T, N = gi.shape[:2]
    if reverse:
        gi = _time_reverse(gi, lengths)
    full = bool((lengths >= T).all())
    h, c, outs = h0, c0, []
    for s in range(T):
        x = gi[s]
        gh = linear(h, w_hh, b_hh)
        if mode == LSTM:
            H = gh.shape[1] // 4
            pre = x + gh
            i, f, g, o = (pre[:, k * H:(k + 1) * H] for k in range(4))
            c_new = ew.sigmoid(f) * c + ew.sigmoid(i) * ew.tanh(g)
            h_new = ew.sigmoid(o) * ew.tanh(c_new)
            if w_hr is not None:
                h_new = linear(h_new, w_hr, None)
        elif mode == GRU:
            H = gh.shape[1] // 3
            r = ew.sigmoid(x[:, :H] + gh[:, :H])
            z = ew.sigmoid(x[:, H:2 * H] + gh[:, H:2 * H])
            n = ew.tanh(x[:, 2 * H:] + r * gh[:, 2 * H:])
            h_new = (1 - z) * n + z * h
        else:
            pre = x + gh
            h_new = ew.tanh(pre) if mode == RNN_TANH else ew.relu(pre)
        if full:
            h, c = h_new, (c_new if mode == LSTM else None)
            outs.append(h_new)
            continue
        active = factories.tensor((s < lengths).reshape(N, 1))
        h = ew.where(active, h_new, h)
        if mode == LSTM:
            c = ew.where(active, c_new, c)
        outs.append(ew.where(active, h_new, 0.0).to(h_new.dtype))
    out = stack(outs) if outs else factories.zeros((0, N, h0.shape[1]), dtype=h0.dtype)
    if reverse and outs:
        out = _time_reverse(out, lengths)
    return (out, h, c) if mode == LSTM else (out, h)


def recurrent_layer(mode: int, gi: Tensor, w_hh: Tensor, b_hh: Tensor | None, h0: Tensor, c0: Tensor | None,
                    lengths: np.ndarray, reverse: bool, w_hr: Tensor | None = None) -> tuple:
    """(out, h_n[, c_n]) of one layer direction, fused (see the module docstring); ``w_hr``
    projects an LSTM's state (``proj_size``)."""
    return _RecurrentLayer.apply(mode, gi, w_hh, b_hh, h0, c0 if mode == LSTM else None,
                                 np.ascontiguousarray(lengths, dtype=np.int64), bool(reverse),
                                 w_hr if mode == LSTM else None)
