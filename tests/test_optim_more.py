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


# ---- schedulers -------------------------------------------------------------------------------

def _sequence(lib, make, opt_name="SGD", steps=30, epochs=None):
    """The lrs (and momenta) after construction and each step of the scheduler ``make`` builds."""
    p = [lib.nn.Parameter(lib.ones(1)), lib.nn.Parameter(lib.ones(1))]
    mod = optim if lib is ad else torch.optim
    extra = {"momentum": 0.9} if opt_name == "SGD" else {}
    opt = getattr(mod, opt_name)([{"params": p[:1]}, {"params": p[1:], "lr": 0.05}], lr=0.1, **extra)
    sched = make(mod.lr_scheduler, opt)
    lrs, moms = [sched.get_last_lr()], []
    for i in range(steps):
        opt.step()
        sched.step() if epochs is None else sched.step(epochs[i])
        lrs.append(sched.get_last_lr())
        moms.append([g["momentum"] if "momentum" in g else g["betas"][0] for g in opt.param_groups])
    lrs.append([g["lr"] for g in opt.param_groups])
    return np.array(lrs, dtype=float), np.array(moms)


SCHEDULERS = {
    "linear": lambda S, o: S.LinearLR(o, start_factor=0.25, total_iters=8),
    "linear_decay": lambda S, o: S.LinearLR(o, start_factor=1.0, end_factor=0.1, total_iters=10),
    "polynomial": lambda S, o: S.PolynomialLR(o, total_iters=12, power=2.0),
    "warm_restarts": lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=4, T_mult=2, eta_min=0.001),
    "warm_restarts_1": lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=5),
    "cyclic": lambda S, o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4),
    "cyclic2": lambda S, o: S.CyclicLR(o, base_lr=[0.01, 0.02], max_lr=0.1, step_size_up=3, step_size_down=5,
                                       mode="triangular2"),
    "cyclic_exp": lambda S, o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=3, mode="exp_range",
                                          gamma=0.9, base_momentum=0.7, max_momentum=0.95),
    "cyclic_fn": lambda S, o: S.CyclicLR(o, 0.01, 0.1, step_size_up=2, scale_fn=lambda x: 0.5 ** x,
                                         scale_mode="iterations", cycle_momentum=False),
    "sequential": lambda S, o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.1, total_iters=5),
                                                  S.CosineAnnealingLR(o, T_max=10)], milestones=[5]),
    "sequential3": lambda S, o: S.SequentialLR(o, [S.LinearLR(o, 0.5, 0.5, 3), S.StepLR(o, step_size=3, gamma=0.5),
                                                   S.ExponentialLR(o, gamma=0.9)], milestones=[4, 12]),
    "chained": lambda S, o: S.ChainedScheduler([S.LinearLR(o, start_factor=0.2, total_iters=6),
                                                S.ExponentialLR(o, gamma=0.95)]),
    "chained_opt": lambda S, o: S.ChainedScheduler([S.StepLR(o, 5, 0.5), S.PolynomialLR(o, total_iters=20)],
                                                   optimizer=o),
}


@pytest.mark.parametrize("name", SCHEDULERS)
def test_scheduler_matches_torch(name):
    opt_name = "Adam" if name == "cyclic_exp" else "SGD"
    ours, our_m = _sequence(ad, SCHEDULERS[name], opt_name)
    theirs, their_m = _sequence(torch, SCHEDULERS[name], opt_name)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(our_m, their_m, rtol=1e-12)


def test_warm_restarts_with_fractional_epochs():
    epochs = [i / 3 for i in range(1, 40)]
    make = SCHEDULERS["warm_restarts"]
    ours, _ = _sequence(ad, make, steps=len(epochs), epochs=epochs)
    theirs, _ = _sequence(torch, make, steps=len(epochs), epochs=epochs)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)


def test_combined_scheduler_state_dict_resume():
    def run(lib, split):
        p = lib.nn.Parameter(lib.ones(1))
        mod = optim if lib is ad else torch.optim
        opt = mod.SGD([p], lr=0.1)
        make = lambda: mod.lr_scheduler.SequentialLR(  # noqa: E731
            opt, [mod.lr_scheduler.LinearLR(opt, 0.1, total_iters=4), mod.lr_scheduler.ExponentialLR(opt, 0.8)],
            milestones=[4])
        sched, out = make(), []
        for i in range(10):
            if i == split:
                state = sched.state_dict()
                sched = make()
                sched.load_state_dict(state)
                for g in opt.param_groups:
                    g["lr"] = sched.get_last_lr()[0]
            opt.step()
            sched.step()
            out.append(sched.get_last_lr()[0])
        return out
    np.testing.assert_allclose(run(ad, 6), run(torch, 6), rtol=1e-12)


def test_scheduler_errors():
    opt = optim.SGD([ad.nn.Parameter(ad.ones(1))], lr=0.1)
    S = optim.lr_scheduler
    with pytest.raises(ValueError, match="Starting multiplicative factor"):
        S.LinearLR(opt, start_factor=0)
    with pytest.raises(ValueError, match="positive integer T_0"):
        S.CosineAnnealingWarmRestarts(opt, T_0=0)
    with pytest.raises(ValueError, match="number of milestone"):
        S.SequentialLR(opt, [S.StepLR(opt, 2)], milestones=[3])
    with pytest.raises(ValueError, match="same optimizer"):
        other = optim.SGD([ad.nn.Parameter(ad.ones(1))], lr=0.1)
        S.ChainedScheduler([S.StepLR(opt, 2), S.StepLR(other, 2)])
    with pytest.raises(ValueError, match="momentum"):
        S.CyclicLR(optim.Adagrad([ad.nn.Parameter(ad.ones(1))]), 0.01, 0.1)
