"""Parametrizations (``nn.utils.parametrize``, ``nn.utils.parametrizations``) and the
hook-style ``spectral_norm``/``weight_norm`` against torch: state-dict keys, and outputs,
gradients and power-iteration buffers over a few training steps from torch's state."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import autodiff as ad
from autodiff import nn

R = np.random.default_rng(0)
pytestmark = pytest.mark.filterwarnings("ignore:.*weight_norm` is deprecated:FutureWarning")

WRAPS = [
    ("parametrizations.spectral_norm", lambda m, mod: m.nn.utils.parametrizations.spectral_norm(mod)),
    ("parametrizations.spectral_norm_2_iters", lambda m, mod: m.nn.utils.parametrizations.spectral_norm(
        mod, n_power_iterations=2)),
    ("parametrizations.weight_norm", lambda m, mod: m.nn.utils.parametrizations.weight_norm(mod)),
    ("parametrizations.weight_norm_dim1", lambda m, mod: m.nn.utils.parametrizations.weight_norm(mod, dim=1)),
    ("spectral_norm", lambda m, mod: m.nn.utils.spectral_norm(mod)),
    ("weight_norm", lambda m, mod: m.nn.utils.weight_norm(mod)),
]
MODULES = [
    ("Linear", lambda m: m.nn.Linear(4, 3), (5, 4)),
    ("Conv2d", lambda m: m.nn.Conv2d(2, 3, 3), (2, 2, 5, 5)),
    ("ConvTranspose2d", lambda m: m.nn.ConvTranspose2d(3, 2, 3, stride=2), (2, 3, 3, 3)),
]


def _load_torch_state(ours, theirs) -> None:
    ours.load_state_dict({k: ad.from_numpy(v.detach().numpy().copy()) for k, v in theirs.state_dict().items()})


@pytest.mark.parametrize("wrap_name, wrap", WRAPS, ids=[w[0] for w in WRAPS])
@pytest.mark.parametrize("name, make, shape", MODULES, ids=[m[0] for m in MODULES])
def test_training_steps_match_torch(wrap_name, wrap, name, make, shape):
    torch.manual_seed(0)
    theirs = wrap(torch, make(torch).double())
    ours = wrap(ad, make(ad).double())
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert type(ours).__name__ == type(theirs).__name__
    _load_torch_state(ours, theirs)
    opt_a = ad.optim.SGD(ours.parameters(), lr=0.1)
    opt_t = torch.optim.SGD(theirs.parameters(), lr=0.1)
    for _ in range(3):
        x = R.standard_normal(shape)
        out, ref = ours(ad.from_numpy(x)), theirs(torch.from_numpy(x))
        np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-9, atol=1e-12)
        (out * out).sum().backward()
        (ref * ref).sum().backward()
        for (n, a), t in zip(ours.named_parameters(), theirs.parameters()):
            np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-8, atol=1e-11, err_msg=n)
        opt_a.step()
        opt_t.step()
        opt_a.zero_grad()
        opt_t.zero_grad()
    for (n, a), t in zip(ours.state_dict().items(), theirs.state_dict().values()):
        np.testing.assert_allclose(a.numpy(), t.numpy(), rtol=1e-8, atol=1e-11, err_msg=n)
    ours.eval()
    theirs.eval()
    x = R.standard_normal(shape)
    np.testing.assert_allclose(ours(ad.from_numpy(x)).detach().numpy(), theirs(torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-9, atol=1e-12)


def test_spectral_norm_bounds_the_largest_singular_value():
    ad.manual_seed(0)
    layer = nn.utils.parametrizations.spectral_norm(nn.Linear(6, 5).double())
    for _ in range(30):
        layer(ad.randn(1, 6, dtype=ad.float64))  # power iterations in training mode
    sigma = np.linalg.svd(layer.weight.detach().numpy(), compute_uv=False)[0]
    assert abs(sigma - 1.0) < 1e-6


class Symmetric(nn.Module):
    def forward(self, x):
        return x.triu() + x.triu(1).mT

    def right_inverse(self, a):
        return a.triu()


def test_register_parametrization_assign_cache_and_remove():
    P = nn.utils.parametrize
    layer = nn.Linear(3, 3)
    P.register_parametrization(layer, "weight", Symmetric())
    w = layer.weight.detach().numpy()
    np.testing.assert_array_equal(w, w.T)
    assert P.is_parametrized(layer) and P.is_parametrized(layer, "weight") and not P.is_parametrized(layer, "bias")
    assert type(layer.weight.grad_fn).__name__ == "AddBackward0"
    target = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 5.0], [3.0, 5.0, 6.0]], np.float32)
    layer.weight = ad.from_numpy(target)  # stored through right_inverse
    np.testing.assert_array_equal(layer.parametrizations.weight.original.detach().numpy(), np.triu(target))
    np.testing.assert_array_equal(layer.weight.detach().numpy(), target)
    with P.cached():
        assert layer.weight is layer.weight
    assert layer.weight is not layer.weight
    assert "ParametrizationList" in repr(layer) and "(0): Symmetric()" in repr(layer)
    P.remove_parametrizations(layer, "weight")
    assert type(layer) is nn.Linear and list(layer.state_dict()) == ["bias", "weight"]  # as torch
    np.testing.assert_array_equal(layer.weight.detach().numpy(), target)


def test_errors_match_torch():
    for m in (torch, ad):
        layer = m.nn.Linear(3, 3)
        with pytest.raises(ValueError, match="does not have a parameter, a buffer, or a parametrized element "
                                             "with name 'foo'"):
            m.nn.utils.parametrize.register_parametrization(layer, "foo", m.nn.Identity())
    with pytest.raises(ValueError, match="n_power_iterations"):
        nn.utils.parametrizations.spectral_norm(nn.Linear(2, 2), n_power_iterations=0)
    layer = nn.utils.spectral_norm(nn.Linear(2, 2))
    with pytest.raises(RuntimeError, match="two spectral_norm hooks"):
        nn.utils.spectral_norm(layer)
    nn.utils.remove_spectral_norm(layer)
    assert list(layer.state_dict()) == ["bias", "weight"] and not layer._forward_pre_hooks


@pytest.mark.parametrize("shape, orthogonal_map", [((4, 4), None), ((3, 5), None), ((5, 3), "matrix_exp"),
                                                   ((5, 3), "householder"), ((4, 4), "cayley"), ((3, 5), "cayley")])
def test_orthogonal_trains_like_torch_and_stays_orthogonal(shape, orthogonal_map):
    torch.manual_seed(0)
    theirs = torch.nn.utils.parametrizations.orthogonal(torch.nn.Linear(shape[1], shape[0]).double(),
                                                        orthogonal_map=orthogonal_map)
    ours = nn.utils.parametrizations.orthogonal(nn.Linear(shape[1], shape[0]).double(),
                                                orthogonal_map=orthogonal_map)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    _load_torch_state(ours, theirs)
    opt_a = ad.optim.SGD(ours.parameters(), lr=0.05)
    opt_t = torch.optim.SGD(theirs.parameters(), lr=0.05)
    for _ in range(3):
        x = R.standard_normal((4, shape[1]))
        out, ref = ours(ad.from_numpy(x)), theirs(torch.from_numpy(x))
        np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-9, atol=1e-12)
        (out ** 3).sum().backward()
        (ref ** 3).sum().backward()
        for a, t in zip(ours.parameters(), theirs.parameters()):
            np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-11)
        opt_a.step()
        opt_t.step()
        opt_a.zero_grad()
        opt_t.zero_grad()
    w = ours.weight.detach().numpy()
    gram = w @ w.T if shape[0] < shape[1] else w.T @ w
    np.testing.assert_allclose(gram, np.eye(min(shape)), atol=1e-10)
    np.testing.assert_allclose(w, theirs.weight.detach().numpy(), rtol=1e-9, atol=1e-12)


def test_orthogonal_initial_weight_is_orthogonal():
    layer = nn.utils.parametrizations.orthogonal(nn.Linear(3, 6).double())
    w = layer.weight.detach().numpy()
    np.testing.assert_allclose(w.T @ w, np.eye(3), atol=1e-10)


@pytest.mark.parametrize("orthogonal_map", ["matrix_exp", "cayley", "householder"])
def test_orthogonal_batch_of_matrices_matches_torch(orthogonal_map):
    w = R.standard_normal((2, 4, 3))
    ours, theirs = nn.Module(), torch.nn.Module()
    ours.weight, theirs.weight = nn.Parameter(ad.from_numpy(w.copy())), torch.nn.Parameter(torch.from_numpy(w.copy()))
    nn.utils.parametrizations.orthogonal(ours, orthogonal_map=orthogonal_map)
    torch.nn.utils.parametrizations.orthogonal(theirs, orthogonal_map=orthogonal_map)
    _load_torch_state(ours, theirs)
    seed = R.standard_normal((2, 4, 3))
    with torch.no_grad():  # move away from the identity, so the map is exercised
        theirs.parametrizations.weight.original.add_(torch.from_numpy(R.standard_normal((2, 4, 3)) * 0.3))
    _load_torch_state(ours, theirs)
    out, ref = ours.weight, theirs.weight
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-9, atol=1e-12)
    (out * ad.from_numpy(seed)).sum().backward()
    (ref * torch.from_numpy(seed)).sum().backward()
    np.testing.assert_allclose(ours.parametrizations.weight.original.grad.numpy(),
                               theirs.parametrizations.weight.original.grad.numpy(), rtol=1e-9, atol=1e-11)
    if orthogonal_map != "householder":  # there the diagonal's signs, truncated to int, zero columns of
        q = out.detach().numpy()         # the perturbed start, in torch as here
        np.testing.assert_allclose(q.swapaxes(-1, -2) @ q, np.broadcast_to(np.eye(3), (2, 3, 3)), atol=1e-10)
