"""A DCGAN in the style of the PyTorch examples (ConvTranspose2d + BatchNorm generator,
strided Conv2d + LeakyReLU discriminator, BCE losses, Adam with betas (0.5, 0.999)),
trained a few alternating steps in autodiff and in torch from the same initial weights
and the same noise: the losses agree step for step."""

from __future__ import annotations

import numpy as np
import torch
from nn_compare import copy_weights

import autodiff as ad

NZ, NGF, NDF = 8, 4, 4


def generator(m):
    nn = m.nn
    return nn.Sequential(
        nn.ConvTranspose2d(NZ, NGF * 2, 4, 1, 0, bias=False), nn.BatchNorm2d(NGF * 2), nn.ReLU(True),
        nn.ConvTranspose2d(NGF * 2, NGF, 4, 2, 1, bias=False), nn.BatchNorm2d(NGF), nn.ReLU(True),
        nn.ConvTranspose2d(NGF, 1, 4, 2, 1, bias=False), nn.Tanh())  # (N, 1, 16, 16)


def discriminator(m):
    nn = m.nn
    return nn.Sequential(
        nn.Conv2d(1, NDF, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(NDF, NDF * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(NDF * 2), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(NDF * 2, 1, 4, 1, 0, bias=False), nn.Sigmoid())  # (N, 1, 1, 1)


def init_weights(module) -> None:
    """The example's init, on the torch model (then copied): N(0, 0.02) convs, N(1, 0.02) BN."""
    name = type(module).__name__
    if "Conv" in name:
        torch.nn.init.normal_(module.weight, 0.0, 0.02)
    elif "BatchNorm" in name:
        torch.nn.init.normal_(module.weight, 1.0, 0.02)
        torch.nn.init.zeros_(module.bias)


def train(m, net_g, net_d, real_batches, noises) -> list:
    criterion = m.nn.BCELoss()
    opt_d = m.optim.Adam(net_d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_g = m.optim.Adam(net_g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    losses = []
    for real_np, noise_np in zip(real_batches, noises):
        real = m.from_numpy(real_np.copy())
        noise = m.from_numpy(noise_np.copy())
        n = real.shape[0]
        ones = m.full((n,), 1.0, dtype=m.float64)
        zeros = m.full((n,), 0.0, dtype=m.float64)
        # (1) discriminator: maximise log D(x) + log(1 - D(G(z)))
        net_d.zero_grad()
        err_real = criterion(net_d(real).view(-1), ones)
        err_real.backward()
        fake = net_g(noise)
        err_fake = criterion(net_d(fake.detach()).view(-1), zeros)
        err_fake.backward()
        opt_d.step()
        # (2) generator: maximise log D(G(z))
        net_g.zero_grad()
        err_g = criterion(net_d(fake).view(-1), ones)
        err_g.backward()
        opt_g.step()
        losses.append([(err_real + err_fake).item(), err_g.item()])
    return losses


def test_dcgan_trains_like_torch():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    theirs_g, theirs_d = generator(torch).double(), discriminator(torch).double()
    theirs_g.apply(init_weights)
    theirs_d.apply(init_weights)
    ours_g, ours_d = generator(ad).double(), discriminator(ad).double()
    copy_weights(ours_g, theirs_g)
    copy_weights(ours_d, theirs_d)
    real = [np.tanh(rng.standard_normal((4, 1, 16, 16))) for _ in range(3)]
    noise = [rng.standard_normal((4, NZ, 1, 1)) for _ in range(3)]
    ours = train(ad, ours_g, ours_d, real, noise)
    theirs = train(torch, theirs_g, theirs_d, real, noise)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9)
    assert ours[0] != ours[-1]  # the models did change
    for (name, a), b in zip(ours_g.named_parameters(), theirs_g.parameters()):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-8, atol=1e-10, err_msg=name)
