"""``python -m autodiff.demo``: a short tour of autodiff's autograd.

Builds a small graph, backpropagates, checks the result against finite differences,
takes a second derivative, and fits a line with plain gradient descent, printing each
step. (The training demo of MLP and CNN models replaces this once ``autodiff.nn`` lands.)
"""

from __future__ import annotations

import time

import autodiff as ad


def main() -> None:
    t0 = time.perf_counter()
    x = ad.tensor([0.5, -1.0, 2.0], requires_grad=True)
    w = ad.tensor([1.5, 0.3, -0.7], requires_grad=True)
    y = ((x * w + x).tanh() * 2 - w).sum()
    print(f"y = ((x*w + x).tanh()*2 - w).sum() = {y}")
    y.backward()
    print(f"dy/dx = {x.grad}\ndy/dw = {w.grad}")

    xd = ad.tensor([0.5, -1.0, 2.0], dtype=ad.float64, requires_grad=True)
    print("gradcheck of sin(x)*exp(x):", ad.autograd.gradcheck(lambda t: (t.sin() * t.exp()), (xd,)))
    (g,) = ad.autograd.grad((xd ** 3).sum(), xd, create_graph=True)
    (gg,) = ad.autograd.grad(g.sum(), xd)
    print(f"d/dx x^3 = {g.detach()}, d2/dx2 x^3 = {gg}")

    ad.manual_seed(0)
    inputs = ad.randn(256)
    targets = inputs * 3.0 - 0.5 + ad.randn(256) * 0.1
    a = ad.zeros(1, requires_grad=True)
    b = ad.zeros(1, requires_grad=True)
    for step in range(101):
        loss = ((inputs * a + b - targets) ** 2).mean()
        a.grad = b.grad = None
        loss.backward()
        with ad.no_grad():
            a -= 0.1 * a.grad
            b -= 0.1 * b.grad
        if step % 25 == 0:
            print(f"step {step:3d}  loss {loss.item():.4f}  a {a.item():+.3f}  b {b.item():+.3f}")
    print(f"fitted y = {a.item():.2f} x {b.item():+.2f} (true: 3.00 x -0.50) "
          f"in {time.perf_counter() - t0:.2f} s including kernel compilation")


if __name__ == "__main__":
    main()
