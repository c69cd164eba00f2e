"""RNN, LSTM, GRU and their cells against torch, weights moved through state dicts both
ways: outputs, final states and every gradient (float32 and float64); initial states,
packed batches of different lengths (sorted and not), proj_size, padding utilities,
double backward, and truncated backpropagation through time with ``detach``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import autodiff as ad
from autodiff.nn.utils.rnn import pack_padded_sequence, pack_sequence, pad_packed_sequence, pad_sequence

R = np.random.default_rng(0)
TOL = {np.float32: {"rtol": 2e-4, "atol": 2e-5}, np.float64: {"rtol": 1e-9, "atol": 1e-10}}
LIBS = (ad, torch)


def _t(lib, x: np.ndarray, grad: bool = False):
    t = lib.from_numpy(x.copy())
    return t.requires_grad_() if grad else t


def _twins(name, dtype, from_ours, *args, **kw):
    ours, theirs = getattr(ad.nn, name)(*args, **kw), getattr(torch.nn, name)(*args, **kw)
    ours.to(ad.float64 if dtype == np.float64 else ad.float32)
    theirs.to(torch.float64 if dtype == np.float64 else torch.float32)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    if from_ours:
        theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in ours.state_dict().items()})
    else:
        ours.load_state_dict({k: ad.from_numpy(v.detach().numpy().copy()) for k, v in theirs.state_dict().items()})
    return ours, theirs


def _flat(out) -> list:
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat(o)]
    if hasattr(out, "batch_sizes"):  # a PackedSequence: its data
        return [out.data]
    return [out]


def _agree(ours, theirs, outs, refs, ins, tins, dtype):
    tol = TOL[dtype]
    outs, refs = _flat(outs), _flat(refs)
    assert len(outs) == len(refs)
    la = lt = 0
    for o, r in zip(outs, refs):
        np.testing.assert_allclose(o.detach().numpy(), r.detach().numpy(), **tol)
        seed = R.standard_normal(tuple(r.shape)).astype(dtype)
        la = la + (o * ad.from_numpy(seed)).sum()
        lt = lt + (r * torch.from_numpy(seed)).sum()
    la.backward()
    lt.backward()
    for a, t in zip(ins, tins):
        np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), **tol)
    tp = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tp[name].grad.numpy(), **tol, err_msg=name)


LAYERS = {
    "lstm": ("LSTM", {}),
    "gru": ("GRU", {}),
    "rnn_tanh": ("RNN", {}),
    "rnn_relu_nobias": ("RNN", {"nonlinearity": "relu", "bias": False}),
    "lstm_2layer_bidir": ("LSTM", {"num_layers": 2, "bidirectional": True}),
    "gru_2layer_bidir_bf": ("GRU", {"num_layers": 2, "bidirectional": True, "batch_first": True}),
    "lstm_proj": ("LSTM", {"proj_size": 2, "num_layers": 2}),
    "rnn_bidir": ("RNN", {"bidirectional": True}),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", list(LAYERS))
def test_layer_with_initial_state(case, dtype):
    name, kw = LAYERS[case]
    ours, theirs = _twins(name, dtype, case.endswith("nobias"), 3, 4, **kw)
    T, N = 5, 2
    x = R.standard_normal((N, T, 3) if kw.get("batch_first") else (T, N, 3)).astype(dtype)
    D = 2 if kw.get("bidirectional") else 1
    L = kw.get("num_layers", 1) * D
    h0 = R.standard_normal((L, N, kw.get("proj_size") or 4)).astype(dtype)
    c0 = R.standard_normal((L, N, 4)).astype(dtype)
    arrays = [x, h0, c0] if name == "LSTM" else [x, h0]
    ins = [_t(ad, a, True) for a in arrays]
    tins = [_t(torch, a, True) for a in arrays]
    hx = (ins[1], ins[2]) if name == "LSTM" else ins[1]
    thx = (tins[1], tins[2]) if name == "LSTM" else tins[1]
    _agree(ours, theirs, ours(ins[0], hx), theirs(tins[0], thx), ins, tins, dtype)


@pytest.mark.parametrize("enforce_sorted", [True, False])
@pytest.mark.parametrize("name", ["LSTM", "GRU", "RNN", "LSTM_proj"])
def test_packed_bidirectional(name, enforce_sorted):
    dtype = np.float64
    kw = {"proj_size": 3} if name == "LSTM_proj" else {}
    ours, theirs = _twins(name.split("_")[0], dtype, False, 3, 4, num_layers=2, bidirectional=True, **kw)
    lengths = [6, 4, 4, 1] if enforce_sorted else [3, 6, 1, 4]
    x = R.standard_normal((6, 4, 3))
    xa, xt = _t(ad, x, True), _t(torch, x, True)
    pa = pack_padded_sequence(xa, lengths, enforce_sorted=enforce_sorted)
    pt = torch.nn.utils.rnn.pack_padded_sequence(xt, lengths, enforce_sorted=enforce_sorted)
    np.testing.assert_array_equal(pa.batch_sizes.numpy(), pt.batch_sizes.numpy())
    oa, ha = ours(pa)
    ot, ht = theirs(pt)
    np.testing.assert_array_equal(oa.batch_sizes.numpy(), ot.batch_sizes.numpy())
    padded_a, lens_a = pad_packed_sequence(oa, batch_first=True)
    padded_t, lens_t = torch.nn.utils.rnn.pad_packed_sequence(ot, batch_first=True)
    np.testing.assert_array_equal(lens_a.numpy(), lens_t.numpy())
    _agree(ours, theirs, (padded_a, ha), (padded_t, ht), [xa], [xt], dtype)


@pytest.mark.parametrize("case", ["lstm", "gru", "rnn_relu_nobias", "lstm_proj", "packed_lstm", "packed_lstm_proj",
                                  "packed_gru"])
def test_row_blocks_in_parallel(monkeypatch, case):
    """The threaded kernels, which run the batch in blocks of rows (one per thread), agree
    with torch as the serial kernel does: forced here on batches too small to choose them,
    in three blocks (an uneven split of four rows; of two rows, two blocks)."""
    from kernels.cpu import rnn as rnn_kernels

    calls = []

    def blocks(N, work):
        calls.append(N)
        return min(N, 3)

    monkeypatch.setattr(rnn_kernels, "_blocks", blocks)
    if case.startswith("packed_"):
        test_packed_bidirectional({"packed_lstm": "LSTM", "packed_lstm_proj": "LSTM_proj",
                                   "packed_gru": "GRU"}[case], enforce_sorted=False)
    else:
        test_layer_with_initial_state(case, np.float64)
    assert calls and min(calls) >= 2  # forward and backward went through the row blocks


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["LSTMCell", "GRUCell", "RNNCell"])
def test_cells(name, dtype):
    ours, theirs = _twins(name, dtype, name == "GRUCell", 3, 4)
    x, h, c = (R.standard_normal(s).astype(dtype) for s in [(2, 3), (2, 4), (2, 4)])
    arrays = [x, h, c] if name == "LSTMCell" else [x, h]
    ins, tins = [_t(ad, a, True) for a in arrays], [_t(torch, a, True) for a in arrays]

    def run(m, t):
        return m(t[0], (t[1], t[2])) if name == "LSTMCell" else m(t[0], t[1])

    _agree(ours, theirs, run(ours, ins), run(theirs, tins), ins, tins, dtype)
    unbatched = ours(ad.from_numpy(x[0]))
    ref = theirs(torch.from_numpy(x[0]))
    for a, t in zip(_flat(unbatched), _flat(ref)):
        np.testing.assert_allclose(a.detach().numpy(), t.detach().numpy(), **TOL[dtype])


def test_unbatched_and_default_state():
    ours, theirs = _twins("GRU", np.float64, False, 3, 4, num_layers=2)
    x = R.standard_normal((5, 3))
    (oa, ha), (ot, ht) = ours(ad.from_numpy(x)), theirs(torch.from_numpy(x))
    np.testing.assert_allclose(oa.detach().numpy(), ot.detach().numpy(), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(ha.detach().numpy(), ht.detach().numpy(), rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("proj_size", [0, 2])
def test_double_backward(proj_size):
    ours, theirs = _twins("LSTM", np.float64, False, 2, 3, proj_size=proj_size)
    x = R.standard_normal((4, 2, 2))
    res = []
    for lib, m in ((ad, ours), (torch, theirs)):
        xi = _t(lib, x, True)
        out, _ = m(xi)
        (g,) = lib.autograd.grad((out * out).sum(), xi, create_graph=True)
        (gg,) = lib.autograd.grad((g * g).sum(), xi)
        res.append((g.detach().numpy(), gg.numpy()))
    for a, t in zip(*res):
        np.testing.assert_allclose(a, t, rtol=1e-8, atol=1e-10)


def test_truncated_bptt_with_detach():
    """The word-language-model loop: the hidden state carried across chunks, detached."""
    results = []
    for lib in LIBS:
        torch.manual_seed(0)
        rnn_t = torch.nn.LSTM(3, 4, 2).double()
        m = rnn_t if lib is torch else ad.nn.LSTM(3, 4, 2).double()
        if lib is ad:
            m.load_state_dict({k: ad.from_numpy(v.detach().numpy().copy()) for k, v in rnn_t.state_dict().items()})
        opt = lib.optim.SGD(m.parameters(), lr=0.1)
        data = np.random.default_rng(3).standard_normal((12, 2, 3))
        hidden, losses = None, []
        for i in range(0, 12, 4):
            if hidden is not None:
                hidden = tuple(h.detach() for h in hidden)  # repackage_hidden
            opt.zero_grad()
            out, hidden = m(_t(lib, data[i:i + 4]), hidden)
            loss = (out * out).mean()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        results.append(losses)
    np.testing.assert_allclose(results[0], results[1], rtol=1e-10)


def test_padding_utilities_match_torch():
    seqs = [R.standard_normal((n, 2)) for n in (3, 5, 1)]
    for kw in ({}, {"batch_first": True, "padding_value": -1.0}, {"padding_side": "left"}):
        a = pad_sequence([ad.from_numpy(s) for s in seqs], **kw)
        t = torch.nn.utils.rnn.pad_sequence([torch.from_numpy(s) for s in seqs], **kw)
        np.testing.assert_array_equal(a.numpy(), t.numpy())
    pa = pack_sequence([ad.from_numpy(s) for s in seqs], enforce_sorted=False)
    pt = torch.nn.utils.rnn.pack_sequence([torch.from_numpy(s) for s in seqs], enforce_sorted=False)
    np.testing.assert_array_equal(pa.data.numpy(), pt.data.numpy())
    np.testing.assert_array_equal(pa.sorted_indices.numpy(), pt.sorted_indices.numpy())
    np.testing.assert_array_equal(pa.unsorted_indices.numpy(), pt.unsorted_indices.numpy())
    a, la = pad_packed_sequence(pa, total_length=7, padding_value=2.0)
    t, lt = torch.nn.utils.rnn.pad_packed_sequence(pt, total_length=7, padding_value=2.0)
    np.testing.assert_array_equal(a.numpy(), t.numpy())
    np.testing.assert_array_equal(la.numpy(), lt.numpy())
    with pytest.raises(RuntimeError, match="must be sorted in decreasing order"):
        pack_padded_sequence(ad.zeros(3, 2, 1), [1, 3])


def test_errors_and_attributes():
    lstm = ad.nn.LSTM(3, 4, batch_first=True)
    lstm.flatten_parameters()
    assert repr(lstm) == repr(torch.nn.LSTM(3, 4, batch_first=True))
    with pytest.raises(RuntimeError, match="input.size\\(-1\\) must be equal to input_size. Expected 3, got 2"):
        lstm(ad.zeros(2, 5, 2))
    with pytest.raises(ValueError, match="proj_size has to be smaller than hidden_size"):
        ad.nn.LSTM(3, 4, proj_size=4)
    assert len(lstm.all_weights) == 1 and len(lstm.all_weights[0]) == 4


@pytest.mark.parametrize("name, kw", [("LSTM", {"proj_size": 2, "num_layers": 2, "bidirectional": True}),
                                      ("GRU", {"batch_first": True}), ("RNN", {})])
def test_meta_shapes_and_gradients(name, kw):
    """On ``meta`` the fused layers give the CPU's output and state shapes, and gradients
    shaped as the parameters."""
    cpu = getattr(ad.nn, name)(3, 4, **kw)
    meta = getattr(ad.nn, name)(3, 4, **kw)
    for p in meta.parameters():
        p.data = p.data.to("meta")
    x = ad.randn(2, 5, 3)
    expected, got = _flat(cpu(x)), _flat(meta(x.to("meta")))
    assert [(t.shape, t.dtype) for t in got] == [(t.shape, t.dtype) for t in expected]
    assert all(t.is_meta for t in got)
    got[0].sum().backward()
    assert all(p.grad.is_meta and p.grad.shape == p.shape for p in meta.parameters())


def test_projection_runs_in_the_fused_kernel():
    out, (h, c) = ad.nn.LSTM(3, 4, proj_size=2)(ad.randn(5, 2, 3))
    assert out.grad_fn.name() == "_RecurrentLayerBackward"
    assert out.shape == (5, 2, 2) and h.shape == (1, 2, 2) and c.shape == (1, 2, 4)
