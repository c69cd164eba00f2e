"""A Transformer sequence classifier (embedding plus positions, 2-layer pre-norm encoder
with key padding masks, masked mean pooling, linear head; Adam) trained a few steps in
autodiff and in torch from the same initial weights: the losses agree step by step."""

from __future__ import annotations

import numpy as np
import torch

import autodiff as ad

VOCAB, D, CLASSES, T = 30, 16, 3, 7


def make_model(lib):
    nn = lib.nn

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(VOCAB, D, padding_idx=0)
            self.pos = nn.Embedding(T, D)
            layer = nn.TransformerEncoderLayer(D, 4, 32, dropout=0.0, activation="gelu", batch_first=True,
                                               norm_first=True)
            self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
            self.head = nn.Linear(D, CLASSES)

        def forward(self, tokens, pad):
            positions = lib.arange(tokens.shape[1])
            x = self.embed(tokens) + self.pos(positions)
            x = self.encoder(x, src_key_padding_mask=pad)
            keep = (~pad).unsqueeze(-1).to(x.dtype)
            return self.head((x * keep).sum(1) / keep.sum(1))

    return Classifier()


def train(lib, state: dict, tokens: np.ndarray, labels: np.ndarray) -> list:
    model = make_model(lib)
    model.load_state_dict({k: lib.from_numpy(v.copy()) for k, v in state.items()})
    opt = lib.optim.Adam(model.parameters(), lr=1e-2)
    x, y = lib.from_numpy(tokens.copy()), lib.from_numpy(labels.copy())
    pad = x == 0
    losses = []
    for _ in range(4):
        opt.zero_grad()
        loss = lib.nn.functional.cross_entropy(model(x, pad), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def test_transformer_classifier_matches_torch():
    torch.manual_seed(0)
    state = {k: v.detach().numpy().copy() for k, v in make_model(torch).state_dict().items()}
    rng = np.random.default_rng(0)
    tokens = rng.integers(1, VOCAB, (6, T))
    for i, n in enumerate([7, 5, 3, 7, 2, 6]):
        tokens[i, n:] = 0  # padding
    labels = rng.integers(0, CLASSES, 6)
    ours, theirs = train(ad, state, tokens, labels), train(torch, state, tokens, labels)
    np.testing.assert_allclose(ours, theirs, rtol=1e-4)
    assert ours[-1] < ours[0]
