"""Optimizers and schedulers against torch: parameter trajectories and lr sequences."""

import math

import numpy as np
import pytest
import torch

import autodiff as ad
from autodiff import optim
from autodiff.nn import Parameter

STEPS = 60


def _problem(lib, dtype, seed=0):
    """Parameters and a loss function: a regression with a tanh penalty (not quadratic)."""
    rs = np.random.RandomState(seed)
    x, y = rs.randn(16, 6), rs.randn(16, 6)
    w0, b0 = rs.randn(6), rs.randn(1)
    if lib is ad:
        w, b = Parameter(ad.tensor(w0, dtype=dtype)), Parameter(ad.tensor(b0, dtype=dtype))
        X, Y = ad.tensor(x, dtype=dtype), ad.tensor(y, dtype=dtype)
    else:
        tdt = getattr(torch, dtype.name)
        w, b = torch.nn.Parameter(torch.tensor(w0, dtype=tdt)), torch.nn.Parameter(torch.tensor(b0, dtype=tdt))
        X, Y = torch.tensor(x, dtype=tdt), torch.tensor(y, dtype=tdt)

    def loss():
        return ((X * w + b - Y) ** 2).mean() + 0.1 * (w.tanh() ** 2).sum()
    return [w, b], loss


def _run(lib, opt_name, kwargs, dtype, steps=STEPS, scheduler=None):
    params, loss = _problem(lib, dtype)
    mod = optim if lib is ad else torch.optim
    opt = getattr(mod, opt_name)(params, **kwargs)
    traj = []
    for _ in range(steps):
        opt.zero_grad()
        loss().backward()
        opt.step()
        traj.append(np.concatenate([p.detach().numpy().copy().ravel() for p in params]))
    return np.array(traj), opt, params


CASES = [
    ("SGD", dict(lr=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.5, dampening=0.3, maximize=True)),
    ("Adam", dict(lr=0.05)),
    ("Adam", dict(lr=0.05, betas=(0.8, 0.99), weight_decay=0.1, amsgrad=True)),
    ("Adam", dict(lr=0.05, maximize=True, eps=1e-3)),
    ("AdamW", dict(lr=0.05)),
    ("AdamW", dict(lr=0.05, weight_decay=0.3, amsgrad=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, alpha=0.3, centered=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.5)),
]


@pytest.mark.parametrize("name,kwargs", CASES)
@pytest.mark.parametrize("dtype", [ad.float64, ad.float32], ids=["f64", "f32"])
def test_trajectory_matches_torch(name, kwargs, dtype):
    ours, _, params = _run(ad, name, kwargs, dtype)
    theirs, _, _ = _run(torch, name, kwargs, dtype)
    assert all(p.dtype is dtype for p in params)
    tol = dict(rtol=1e-10, atol=1e-12) if dtype is ad.float64 else dict(rtol=2e-4, atol=2e-5)
    np.testing.assert_allclose(ours, theirs, **tol)


def test_step_bumps_version_and_skips_params_without_grad():
    w, b = Parameter(ad.ones(3)), Parameter(ad.ones(2))
    opt = optim.SGD([w, b], lr=0.1)
    w.grad = ad.ones(3)
    v = w._version
    opt.step()
    assert w._version == v + 1
    assert b.tolist() == [1.0, 1.0]
    np.testing.assert_allclose(w.tolist(), [0.9] * 3, rtol=1e-6)


def test_non_contiguous_grad_and_closure():
    w = Parameter(ad.ones(2, 3, dtype=ad.float64))
    opt = optim.Adam([w], lr=0.1)
    w.grad = ad.tensor(np.arange(6.0).reshape(3, 2).T)
    calls = []
    assert opt.step(lambda: calls.append(1) or 5.0) == 5.0 and calls == [1]
    t = torch.nn.Parameter(torch.ones(2, 3, dtype=torch.float64))
    topt = torch.optim.Adam([t], lr=0.1)
    t.grad = torch.arange(6.0, dtype=torch.float64).reshape(3, 2).T
    topt.step()
    np.testing.assert_allclose(w.detach().numpy(), t.detach().numpy(), rtol=1e-12)


def test_zero_grad():
    w = Parameter(ad.ones(2))
    opt = optim.SGD([w], lr=0.1)
    w.grad = ad.ones(2)
    opt.zero_grad(set_to_none=False)
    assert w.grad.tolist() == [0.0, 0.0]
    opt.zero_grad()
    assert w.grad is None


def test_param_groups_and_errors():
    a, b = Parameter(ad.ones(2)), Parameter(ad.ones(2))
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5}], lr=0.1, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.param_groups[1]["momentum"] == 0.9
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        optim.Adam([a], lr=-1)
    with pytest.raises(ValueError, match="Invalid beta parameter at index 1: 1.0"):
        optim.Adam([a], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="Nesterov momentum requires a momentum and zero dampening"):
        optim.SGD([a], nesterov=True)
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        optim.SGD([a * 2])
    with pytest.raises(TypeError, match="ordering of tensors in sets"):
        optim.SGD([{"params": {a}}])
    with pytest.raises(TypeError, match="should be an iterable of Tensors or dicts, but got autodiff.FloatTensor"):
        optim.SGD(a)


@pytest.mark.parametrize("name,kwargs", [CASES[1], CASES[5], CASES[10], CASES[13]])
def test_state_dict_format_and_resume(name, kwargs):
    """The state dict has torch's layout; loading it into a fresh optimizer resumes the trajectory."""
    full, _, _ = _run(ad, name, kwargs, ad.float64, steps=20)
    _, opt, params = _run(ad, name, kwargs, ad.float64, steps=10)
    _, topt, _ = _run(torch, name, kwargs, ad.float64, steps=10)
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert sd["state"].keys() == tsd["state"].keys()
    for k in sd["state"]:
        assert sd["state"][k].keys() == tsd["state"][k].keys()
        for key, v in sd["state"][k].items():
            np.testing.assert_allclose(v.numpy(), tsd["state"][k][key].numpy(), rtol=1e-9)
    assert [g["params"] for g in sd["param_groups"]] == [g["params"] for g in tsd["param_groups"]]
    for g, tg in zip(sd["param_groups"], tsd["param_groups"]):
        assert {k: v for k, v in g.items() if k in tg} == {k: v for k, v in tg.items() if k in g}

    params2, loss = _problem(ad, ad.float64)
    with ad.no_grad():
        for p, q in zip(params2, params):
            p.copy_(q)
    opt2 = getattr(optim, name)(params2, **dict(kwargs, lr=123.0))
    opt2.load_state_dict(sd)
    assert opt2.param_groups[0]["lr"] == kwargs["lr"]
    for _ in range(10):
        opt2.zero_grad()
        loss().backward()
        opt2.step()
    np.testing.assert_allclose(np.concatenate([p.detach().numpy().ravel() for p in params2]), full[-1],
                               rtol=1e-12)


def test_load_state_dict_errors():
    a, b = Parameter(ad.ones(2)), Parameter(ad.ones(2))
    sd = optim.SGD([a, b], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        optim.SGD([a], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1).load_state_dict(sd)


def test_load_state_dict_casts_to_param_dtype():
    a = Parameter(ad.ones(2, dtype=ad.float64))
    opt = optim.Adam([a])
    a.grad = ad.ones(2, dtype=ad.float64)
    opt.step()
    b = Parameter(ad.ones(2))
    opt2 = optim.Adam([b])
    opt2.load_state_dict(opt.state_dict())
    st = opt2.state[b]
    assert st["exp_avg"].dtype is ad.float32 and st["step"].dtype is ad.float32
    assert st["exp_avg"]._data is not opt.state[a]["exp_avg"]._data


# ---- schedulers -------------------------------------------------------------------
SCHEDULERS = [
    ("StepLR", dict(step_size=7, gamma=0.5), "SGD"),
    ("MultiStepLR", dict(milestones=[5, 12, 12, 30], gamma=0.3), "SGD"),
    ("ExponentialLR", dict(gamma=0.9), "SGD"),
    ("CosineAnnealingLR", dict(T_max=10, eta_min=0.001), "SGD"),
    ("LambdaLR", dict(lr_lambda=lambda e: 1.0 / (1 + e)), "SGD"),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=40), "SGD"),
    ("OneCycleLR", dict(max_lr=[1.0, 2.0], epochs=4, steps_per_epoch=10, anneal_strategy="linear",
                        three_phase=True), "Adam"),
]


def _lrs(lib, name, kwargs, opt_name, steps=40):
    p = [torch.nn.Parameter(torch.ones(1)), torch.nn.Parameter(torch.ones(1))] if lib is torch else \
        [Parameter(ad.ones(1)), Parameter(ad.ones(1))]
    mod = torch.optim if lib is torch else optim
    extra = {"momentum": 0.9} if opt_name == "SGD" else {}
    opt = getattr(mod, opt_name)([{"params": p[:1]}, {"params": p[1:], "lr": 0.05}], lr=0.1, **extra)
    sched = getattr(mod.lr_scheduler, name)(opt, **kwargs)
    out = [sched.get_last_lr()]
    moms = []
    for _ in range(steps - 1 if name == "OneCycleLR" else steps):
        opt.step()
        sched.step()
        out.append(sched.get_last_lr())
        g = opt.param_groups[0]
        moms.append(g["betas"][0] if "betas" in g else g["momentum"])
    return np.array(out), np.array(moms), sched


@pytest.mark.parametrize("name,kwargs,opt_name", SCHEDULERS)
def test_scheduler_matches_torch(name, kwargs, opt_name):
    ours, our_m, _ = _lrs(ad, name, kwargs, opt_name)
    theirs, their_m, _ = _lrs(torch, name, kwargs, opt_name)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(our_m, their_m, rtol=1e-12)


def test_scheduler_state_dict_resume():
    _, _, sched = _lrs(ad, "CosineAnnealingLR", dict(T_max=10), "SGD", steps=5)
    sd = sched.state_dict()
    assert sd["last_epoch"] == 5 and "optimizer" not in sd
    opt = optim.SGD([Parameter(ad.ones(1))], lr=0.1)
    other = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=3)
    other.load_state_dict(sd)
    assert other.T_max == 10 and other.last_epoch == 5


def test_reduce_lr_on_plateau_matches_torch():
    metrics = [1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.8, 0.85, 0.85, 0.85, 0.85, 0.85, 0.85, 0.9]
    seqs = []
    for lib in (ad, torch):
        p = Parameter(ad.ones(1)) if lib is ad else torch.nn.Parameter(torch.ones(1))
        mod = optim if lib is ad else torch.optim
        opt = mod.SGD([p], lr=1.0)
        sched = mod.lr_scheduler.ReduceLROnPlateau(opt, patience=2, factor=0.5, cooldown=1, min_lr=0.1)
        seq = []
        for m in metrics:
            sched.step(m)
            seq.append(sched.get_last_lr()[0])
        seqs.append(seq)
    assert seqs[0] == seqs[1]
    assert math.isclose(min(seqs[0]), 0.125)
