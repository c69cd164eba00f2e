"""A word-language-model program (embedding, 2-layer LSTM, decoder; truncated BPTT with the
hidden state detached between chunks; SGD with gradient clipping) trained a few steps in
autodiff and in torch from the same initial weights: the losses agree step by step."""

from __future__ import annotations

import numpy as np
import torch

import autodiff as ad


def make_model(lib, ntoken: int, ninp: int, nhid: int, nlayers: int):
    nn = lib.nn

    class RNNModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Embedding(ntoken, ninp)
            self.rnn = nn.LSTM(ninp, nhid, nlayers)
            self.decoder = nn.Linear(nhid, ntoken)

        def forward(self, input, hidden):
            output, hidden = self.rnn(self.encoder(input), hidden)
            return self.decoder(output).view(-1, ntoken), hidden

    return RNNModel()


def repackage_hidden(h):
    """Wraps hidden states in new tensors, to detach them from their history."""
    return tuple(repackage_hidden(v) for v in h) if isinstance(h, tuple) else h.detach()


def train(lib, state: dict, data: np.ndarray, ntoken: int, bptt: int) -> list:
    model = make_model(lib, ntoken, 8, 12, 2)
    model.load_state_dict({k: lib.from_numpy(v.copy()) for k, v in state.items()})
    F = lib.nn.functional
    lr, losses, hidden = 5.0, [], None
    for i in range(0, data.shape[0] - 1, bptt):
        seq_len = min(bptt, data.shape[0] - 1 - i)
        x = lib.from_numpy(data[i:i + seq_len].copy())
        y = lib.from_numpy(data[i + 1:i + 1 + seq_len].reshape(-1).copy())
        if hidden is not None:
            hidden = repackage_hidden(hidden)
        model.zero_grad()
        output, hidden = model(x, hidden)
        loss = F.cross_entropy(output, y)
        loss.backward()
        lib.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        with lib.no_grad():
            for p in model.parameters():
                p.add_(p.grad, alpha=-lr)
        losses.append(loss.item())
    return losses


def test_lstm_language_model_matches_torch():
    ntoken, bptt = 20, 5
    torch.manual_seed(0)
    ref = make_model(torch, ntoken, 8, 12, 2)
    state = {k: v.detach().numpy().copy() for k, v in ref.state_dict().items()}
    data = np.random.default_rng(0).integers(0, ntoken, (21, 3))
    ours, theirs = train(ad, state, data, ntoken, bptt), train(torch, state, data, ntoken, bptt)
    assert len(ours) == 4
    np.testing.assert_allclose(ours, theirs, rtol=1e-5)
