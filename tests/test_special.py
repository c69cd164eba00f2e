"""Special functions where torch is not the oracle: its trigamma is accurate to ~1e-9 only
below x = 6, so small arguments are checked against SciPy's polygamma (accurate to 1e-15),
and the poles against the sign of (-1)^(n+1) n! zeta(n + 1, 0)."""

import numpy as np
import pytest
import scipy.special
import torch

import autodiff as ad


@pytest.mark.parametrize("n", [1, 2, 4])
def test_polygamma_small_and_negative_arguments_match_scipy(n):
    x = np.array([1e-3, 0.3, 0.9, 1.7, 3.2, 5.9, -0.4, -2.6])
    np.testing.assert_allclose(ad.polygamma(n, ad.tensor(x)).numpy(), scipy.special.polygamma(n, x), rtol=1e-13)


def test_polygamma_poles_match_torch():
    x = torch.tensor([0.0, -3.0])
    for n in (2, 3, 4):
        np.testing.assert_array_equal(ad.polygamma(n, ad.tensor(x.numpy())).numpy(), torch.polygamma(n, x).numpy())


def test_digamma_double_backward_is_polygamma_2():
    x = ad.tensor([0.4, 1.3, 2.8], dtype=ad.float64, requires_grad=True)
    (g,) = ad.autograd.grad(ad.digamma(x).sum(), x, create_graph=True)
    (gg,) = ad.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(gg.numpy(), scipy.special.polygamma(2, x.detach().numpy()), rtol=1e-13)
    assert type(g.grad_fn).__name__ == "MulBackward0"


def test_polygamma_rejects_negative_order():
    with pytest.raises(RuntimeError, match="negative n"):
        ad.polygamma(-1, ad.ones(2))
    with pytest.raises(RuntimeError, match="negative n"):
        torch.polygamma(-1, torch.ones(2))
