"""A variational autoencoder in the style of the PyTorch examples' VAE, on random binary images."""

import numpy as np

from program_common import compare


def build(lib):
    nn, F = lib.nn, lib.nn.functional

    class VAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(64, 32)
            self.fc21 = nn.Linear(32, 8)
            self.fc22 = nn.Linear(32, 8)
            self.fc3 = nn.Linear(8, 32)
            self.fc4 = nn.Linear(32, 64)

        def encode(self, x):
            h1 = F.relu(self.fc1(x))
            return self.fc21(h1), self.fc22(h1)

        def reparameterize(self, mu, logvar, eps):
            std = lib.exp(0.5 * logvar)
            return mu + eps * std

        def decode(self, z):
            return lib.sigmoid(self.fc4(F.relu(self.fc3(z))))

        def forward(self, x, eps):
            mu, logvar = self.encode(x.view(-1, 64))
            return self.decode(self.reparameterize(mu, logvar, eps)), mu, logvar

    return VAE()


def loss_function(lib, recon_x, x, mu, logvar):
    bce = lib.nn.functional.binary_cross_entropy(recon_x, x.view(-1, 64), reduction="sum")
    kld = -0.5 * lib.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


def program(lib, make, steps):
    rs = np.random.RandomState(0)
    data = (rs.rand(6, 16, 64) > 0.6).astype(np.float32)
    noise = rs.randn(steps, 16, 8).astype(np.float32)  # the reparameterisation noise, shared
    model = make(lib, build)
    opt = lib.optim.Adam(model.parameters(), lr=1e-2)
    device = lib.device("cuda" if lib.cuda.is_available() else "cpu")
    model.to(device)
    losses = []
    for step in range(steps):
        model.train()
        x = lib.from_numpy(data[step % len(data)]).to(device)
        opt.zero_grad()
        recon, mu, logvar = model(x, lib.from_numpy(noise[step]))
        loss = loss_function(lib, recon, x, mu, logvar)
        loss.backward()
        opt.step()
        losses.append(loss.item() / len(x))
    return losses


def test_vae_trains_like_torch():
    losses = compare(program, 12)
    assert losses[-1] < losses[0]
