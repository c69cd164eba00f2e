"""Curve fitting with L-BFGS and a strong-Wolfe line search, in the style of the PyTorch
examples' time-sequence prediction (closure-driven optimisation)."""

import numpy as np

from program_common import compare


def build(lib):
    nn = lib.nn
    return nn.Sequential(nn.Linear(1, 24), nn.Tanh(), nn.Linear(24, 24), nn.Tanh(), nn.Linear(24, 1)).double()


def program(lib, make, steps):
    rs = np.random.RandomState(0)
    x = np.linspace(-3, 3, 64)[:, None]
    y = np.sin(x) + 0.3 * x + 0.05 * rs.randn(*x.shape)
    X, Y = lib.tensor(x), lib.tensor(y)
    model = make(lib, build)
    opt = lib.optim.LBFGS(model.parameters(), lr=0.8, max_iter=10, line_search_fn="strong_wolfe")
    criterion = lib.nn.MSELoss()
    losses = []
    for _ in range(steps):
        def closure():
            opt.zero_grad()
            loss = criterion(model(X), Y)
            loss.backward()
            return loss
        losses.append(opt.step(closure).item())
    with lib.no_grad():
        losses.append(criterion(model(X), Y).item())
    return losses


def test_lbfgs_regression_fits_like_torch():
    losses = compare(program, 4, rtol=1e-6, atol=1e-9)
    assert losses[-1] < 0.1 * losses[0]
