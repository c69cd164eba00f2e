"""A two-layer graph convolutional network (Kipf & Welling) on a synthetic two-community
graph, as in the PyTorch GCN example: sparse normalised adjacency, ReLU, dropout off,
log-softmax and NLL on the training nodes, Adam with weight decay. Trained a few epochs in
autodiff and torch from the same weights: the losses agree epoch for epoch."""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch

import autodiff as ad

N, FEATURES, HIDDEN, CLASSES = 24, 6, 8, 2


def graph(rng):
    """Two communities, dense inside, a few edges across; features that hint at the community."""
    labels = np.repeat([0, 1], N // 2)
    same = labels[:, None] == labels[None, :]
    upper = np.triu(rng.random((N, N)) < np.where(same, 0.35, 0.03), 1)
    adjacency = (upper | upper.T | np.eye(N, dtype=bool)).astype(np.float64)
    d = 1 / np.sqrt(adjacency.sum(1))
    rows, cols = np.nonzero(adjacency)
    values = d[rows] * d[cols]
    features = rng.standard_normal((N, FEATURES)) + labels[:, None] * 0.5
    return np.stack([rows, cols]), values, features, labels


def make_layer(m, fan_in: int, fan_out: int):
    """The example's GraphConvolution: weight and bias, uniform(-1/sqrt(out), 1/sqrt(out))."""
    class GraphConvolution(m.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = m.nn.Parameter(m.empty(fan_in, fan_out, dtype=m.float64))
            self.bias = m.nn.Parameter(m.empty(fan_out, dtype=m.float64))

        def forward(self, x, adj):
            return m.sparse.mm(adj, x @ self.weight) + self.bias

    return GraphConvolution()


def model(m):
    class GCN(m.nn.Module):
        def __init__(self):
            super().__init__()
            self.gc1 = make_layer(m, FEATURES, HIDDEN)
            self.gc2 = make_layer(m, HIDDEN, CLASSES)

        def forward(self, x, adj):
            x = m.nn.functional.relu(self.gc1(x, adj))
            x = m.nn.functional.dropout(x, 0.0, training=self.training)
            return m.nn.functional.log_softmax(self.gc2(x, adj), dim=1)

    return GCN()


def train(m, net, indices, values, features, labels, epochs: int = 5) -> list:
    adj = m.sparse_coo_tensor(m.tensor(indices), m.tensor(values), (N, N))
    x, y = m.tensor(features), m.tensor(labels)
    train_idx = m.tensor(list(range(0, N, 2)))
    opt = m.optim.Adam(net.parameters(), lr=0.01, weight_decay=5e-4)
    losses = []
    for _ in range(epochs):
        net.train()
        opt.zero_grad()
        out = net(x, adj)
        loss = m.nn.functional.nll_loss(out[train_idx], y[train_idx])
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def test_gcn_trains_like_torch():
    rng = np.random.default_rng(0)
    indices, values, features, labels = graph(rng)
    theirs, ours = model(torch), model(ad)
    with torch.no_grad():
        for layer in (theirs.gc1, theirs.gc2):
            bound = 1 / math.sqrt(layer.weight.shape[1])
            layer.weight.uniform_(-bound, bound)
            layer.bias.uniform_(-bound, bound)
    with ad.no_grad():
        for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
            p.copy_(ad.from_numpy(q.detach().numpy().copy()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch: sparse invariant checks disabled
        reference = train(torch, theirs, indices, values, features, labels)
    losses = train(ad, ours, indices, values, features, labels)
    np.testing.assert_allclose(losses, reference, rtol=1e-10)
    assert losses[-1] < losses[0]
