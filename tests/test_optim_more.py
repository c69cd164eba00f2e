"""Adadelta, Adamax, NAdam, RAdam, LBFGS and the newer schedulers, step for step against torch."""

import numpy as np
import pytest
import torch

import autodiff as ad
from autodiff import optim
from test_optim import _problem, _run

CASES = [
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-4, weight_decay=0.1)),
    ("Adadelta", dict(maximize=True)),
    ("Adamax", dict(lr=0.05)),
    ("Adamax", dict(lr=0.05, betas=(0.8, 0.95), weight_decay=0.1, eps=1e-4)),
    ("Adamax", dict(lr=0.05, maximize=True)),
    ("NAdam", dict(lr=0.05)),
    ("NAdam", dict(lr=0.05, weight_decay=0.1, momentum_decay=1e-2)),
    ("NAdam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("RAdam", dict(lr=0.05)),
    ("RAdam", dict(lr=0.05, betas=(0.8, 0.9), weight_decay=0.1)),
    ("RAdam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
]


@pytest.mark.parametrize("name,kwargs", CASES)
@pytest.mark.parametrize("dtype", [ad.float64, ad.float32], ids=["f64", "f32"])
def test_trajectory_matches_torch(name, kwargs, dtype):
    ours, opt, params = _run(ad, name, kwargs, dtype, steps=30)
    theirs, topt, tparams = _run(torch, name, kwargs, dtype, steps=30)
    tol = dict(rtol=1e-10, atol=1e-12) if dtype is ad.float64 else dict(rtol=2e-4, atol=2e-5)
    np.testing.assert_allclose(ours, theirs, **tol)
    ours_state, theirs_state = opt.state[params[0]], topt.state[tparams[0]]
    assert sorted(ours_state) == sorted(theirs_state)
    for key in ours_state:
        np.testing.assert_allclose(ours_state[key].numpy(), theirs_state[key].numpy(), **tol)
    assert opt.state_dict()["param_groups"][0].keys() <= topt.state_dict()["param_groups"][0].keys()


@pytest.mark.parametrize("name, kwargs, match", [
    ("Adadelta", dict(rho=1.5), "Invalid rho value"), ("Adamax", dict(betas=(1.0, 0.9)), "index 0"),
    ("NAdam", dict(momentum_decay=-1), "momentum_decay"), ("RAdam", dict(eps=-1), "epsilon"),
    ("Adamax", dict(lr=-1), "learning rate"),
])
def test_hyper_parameter_errors(name, kwargs, match):
    p = ad.nn.Parameter(ad.ones(2))
    with pytest.raises(ValueError, match=match):
        getattr(optim, name)([p], **kwargs)
    with pytest.raises(ValueError, match=match):
        getattr(torch.optim, name)([torch.nn.Parameter(torch.ones(2))], **kwargs)


def test_nadam_state_dict_round_trip_continues_like_torch():
    def run(lib, split):
        params, loss = _problem(lib, ad.float64)
        mod = optim if lib is ad else torch.optim
        opt = mod.NAdam(params, lr=0.05)
        for i in range(10):
            if i == split:
                fresh = mod.NAdam(params, lr=0.05)
                fresh.load_state_dict(opt.state_dict())
                opt = fresh
            opt.zero_grad()
            loss().backward()
            opt.step()
        return np.concatenate([p.detach().numpy().ravel() for p in params])
    # loading casts mu_product to the parameters' dtype in both libraries
    np.testing.assert_allclose(run(ad, 5), run(torch, 5), rtol=1e-10)


# ---- LBFGS ------------------------------------------------------------------------------------

def _lbfgs_run(lib, dtype, kwargs, outer=3):
    params, loss = _problem(lib, dtype)
    opt = (optim if lib is ad else torch.optim).LBFGS(params, **kwargs)
    losses = []

    def closure():
        opt.zero_grad()
        value = loss()
        value.backward()
        return value
    for _ in range(outer):
        losses.append(opt.step(closure).detach().item())
    state = opt.state[params[0]]
    return (np.array(losses), np.concatenate([p.detach().numpy().ravel() for p in params]),
            state["func_evals"], state["n_iter"])


@pytest.mark.parametrize("kwargs", [
    dict(lr=1, max_iter=10),
    dict(lr=0.5, max_iter=8, history_size=3),
    dict(lr=1, max_iter=12, line_search_fn="strong_wolfe"),
    dict(lr=1, max_iter=20, history_size=4, line_search_fn="strong_wolfe", tolerance_change=1e-12),
])
@pytest.mark.parametrize("dtype", [ad.float64, ad.float32], ids=["f64", "f32"])
def test_lbfgs_matches_torch(kwargs, dtype):
    ours = _lbfgs_run(ad, dtype, kwargs)
    theirs = _lbfgs_run(torch, dtype, kwargs)
    tol = dict(rtol=1e-8, atol=1e-10) if dtype is ad.float64 else dict(rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(ours[0], theirs[0], **tol)
    np.testing.assert_allclose(ours[1], theirs[1], **tol)
    if dtype is ad.float64:
        assert ours[2:] == theirs[2:]


def test_lbfgs_errors():
    p = ad.nn.Parameter(ad.ones(2))
    with pytest.raises(ValueError, match="per-parameter options"):
        optim.LBFGS([{"params": [p]}, {"params": [ad.nn.Parameter(ad.ones(1))]}])
    with pytest.raises(RuntimeError, match="strong_wolfe"):
        optim.LBFGS([p], line_search_fn="armijo")
