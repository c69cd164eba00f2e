"""autodiff.distributions against torch.distributions: densities, entropies, moments, KL,
their gradients, validation, sampling, and policy-gradient losses."""

import numpy as np
import pytest
import torch

import autodiff as ad
from autodiff import distributions as D

TD = torch.distributions
rs = np.random.RandomState(0)
SPD = (lambda m: m @ m.T + 3 * np.eye(3))(rs.randn(3, 3))
SPD_B = np.stack([SPD, (lambda m: m @ m.T + np.eye(3))(rs.randn(3, 3))])

# name, params (as numpy), values for log_prob
CASES = {
    "normal": ("Normal", dict(loc=rs.randn(4), scale=rs.rand(4) + 0.5), rs.randn(2, 4)),
    "normal_bcast": ("Normal", dict(loc=rs.randn(3, 1), scale=rs.rand(4) + 0.5), rs.randn(3, 4)),
    "uniform": ("Uniform", dict(low=rs.randn(4) - 2, high=rs.randn(4) + 2), rs.rand(4) - 0.5),
    "bernoulli_p": ("Bernoulli", dict(probs=rs.rand(5)), (rs.rand(3, 5) > 0.5).astype(float)),
    "bernoulli_l": ("Bernoulli", dict(logits=rs.randn(5) * 3), (rs.rand(5) > 0.5).astype(float)),
    "categorical_p": ("Categorical", dict(probs=rs.rand(3, 4)), rs.randint(0, 4, (2, 3)).astype(float)),
    "categorical_l": ("Categorical", dict(logits=rs.randn(6) * 2), rs.randint(0, 6, (5,)).astype(float)),
    "beta": ("Beta", dict(concentration1=rs.rand(4) * 3 + 0.2, concentration0=rs.rand(4) * 3 + 0.2),
             rs.rand(4) * 0.9 + 0.05),
    "gamma": ("Gamma", dict(concentration=rs.rand(4) * 3 + 0.2, rate=rs.rand(4) + 0.5), rs.rand(3, 4) * 4 + 0.05),
    "dirichlet": ("Dirichlet", dict(concentration=rs.rand(2, 3) * 3 + 0.2), rs.dirichlet([1.0, 2.0, 3.0], 2)),
    "mvn_cov": ("MultivariateNormal", dict(loc=rs.randn(3), covariance_matrix=SPD), rs.randn(4, 3)),
    "mvn_prec": ("MultivariateNormal", dict(loc=rs.randn(2, 3), precision_matrix=SPD_B), rs.randn(2, 3)),
    "mvn_tril": ("MultivariateNormal", dict(loc=rs.randn(3), scale_tril=np.linalg.cholesky(SPD_B)), rs.randn(3)),
}


def _make(lib, name, params, grad=True):
    mod = D if lib is ad else TD
    ts = {k: lib.tensor(v, requires_grad=grad) for k, v in params.items()}
    return getattr(mod, name)(**ts), ts


def _close(a, b, **kw):
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=kw.get("rtol", 1e-10),
                               atol=kw.get("atol", 1e-12))


@pytest.mark.parametrize("case", CASES)
def test_log_prob_entropy_moments_and_grads_match_torch(case):
    name, params, value = CASES[case]
    ours, ov = _make(ad, name, params)
    theirs, tv = _make(torch, name, params)
    assert ours.batch_shape == tuple(theirs.batch_shape) and ours.event_shape == tuple(theirs.event_shape)
    lp, tlp = ours.log_prob(ad.tensor(value)), theirs.log_prob(torch.tensor(value))
    _close(lp, tlp)
    ent, tent = ours.entropy(), theirs.entropy()
    _close(ent, tent)
    for attr in ("mean", "variance", "stddev"):
        if name != "Categorical":
            _close(getattr(ours, attr), getattr(theirs, attr))
    (lp.sum() + ent.sum()).backward()
    (tlp.sum() + tent.sum()).backward()
    for k in params:
        _close(ov[k].grad, tv[k].grad, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("case", ["mvn_cov", "mvn_prec", "mvn_tril"])
def test_mvn_matrices_match_torch(case):
    _, params, _ = CASES[case]
    ours, _ = _make(ad, "MultivariateNormal", params, grad=False)
    theirs, _ = _make(torch, "MultivariateNormal", params, grad=False)
    for attr in ("scale_tril", "covariance_matrix", "precision_matrix"):
        _close(getattr(ours, attr), getattr(theirs, attr), rtol=1e-9)


KL_PAIRS = [("normal", "normal_bcast"), ("bernoulli_p", "bernoulli_l"), ("categorical_l", None),
            ("uniform", None), ("beta", None), ("mvn_cov", "mvn_tril")]


@pytest.mark.parametrize("p_case, q_case", KL_PAIRS)
def test_kl_divergence_matches_torch(p_case, q_case):
    name, p_params, _ = CASES[p_case]
    if q_case is None:  # a second distribution of the same kind
        q_params = {k: (v[::-1].copy() if k != "low" else v - 1.0) for k, v in p_params.items()}
        if name == "Uniform":
            q_params["high"] = p_params["high"] + 1.0
    else:
        q_params = CASES[q_case][1]
    ours = D.kl_divergence(_make(ad, name, p_params)[0], _make(ad, name, q_params)[0])
    p, pv = _make(torch, name, p_params)
    theirs = TD.kl_divergence(p, _make(torch, name, q_params)[0])
    _close(ours, theirs, rtol=1e-9)


def test_kl_edge_values_and_unregistered_pair():
    for p, q in (([0.0, 1.0, 0.5], [0.5, 0.5, 1.0]), ([0.3, 0.0], [0.0, 0.2])):
        ours = D.kl_divergence(D.Bernoulli(probs=ad.tensor(p)), D.Bernoulli(probs=ad.tensor(q)))
        theirs = TD.kl_divergence(TD.Bernoulli(probs=torch.tensor(p)), TD.Bernoulli(probs=torch.tensor(q)))
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5)
    ours = D.kl_divergence(D.Uniform(0.0, 1.0), D.Uniform(0.5, 2.0))
    assert ours.item() == TD.kl_divergence(TD.Uniform(0.0, 1.0), TD.Uniform(0.5, 2.0)).item() == float("inf")
    with pytest.raises(NotImplementedError):
        D.kl_divergence(D.Normal(0.0, 1.0), D.Uniform(0.0, 1.0))


@pytest.mark.parametrize("make", [
    lambda M, T: M.Normal(T([0.0, 1.0]), T([1.0, -1.0])),
    lambda M, T: M.Bernoulli(probs=T([0.5, 1.5])),
    lambda M, T: M.Categorical(probs=T([[0.5, -0.5]])),
    lambda M, T: M.Beta(T([1.0]), T([0.0])),
    lambda M, T: M.Uniform(T([1.0]), T([0.0])),
    lambda M, T: M.MultivariateNormal(T([0.0, 0.0]), covariance_matrix=T([[1.0, 2.0], [2.0, 1.0]])),
    lambda M, T: M.MultivariateNormal(T([0.0, 0.0]), scale_tril=T([[1.0, 0.0], [2.0, -1.0]])),
    lambda M, T: M.Bernoulli(probs=T([0.5]), logits=T([0.0])),
])
def test_invalid_arguments_raise_value_error_like_torch(make):
    with pytest.raises(ValueError) as theirs:
        make(TD, torch.tensor)
    with pytest.raises(ValueError) as ours:
        make(D, ad.tensor)
    for word in ("Expected parameter", "to satisfy the constraint", "Either", "low>= high"):
        assert (word in str(theirs.value)) == (word in str(ours.value))


def test_invalid_values_and_validate_args_off():
    for make, bad in ((lambda M, T: M.Bernoulli(probs=T([0.5])), [0.5]),
                      (lambda M, T: M.Categorical(logits=T([0.0, 0.0])), [2.0]),
                      (lambda M, T: M.Beta(T([2.0]), T([2.0])), [1.5])):
        with pytest.raises(ValueError, match="to be within the support"):
            make(D, ad.tensor).log_prob(ad.tensor(bad))
        with pytest.raises(ValueError, match="to be within the support"):
            make(TD, torch.tensor).log_prob(torch.tensor(bad))
    loose = D.Normal(ad.tensor([0.0]), ad.tensor([-1.0]), validate_args=False)
    assert np.isnan(loose.log_prob(ad.tensor([0.0])).item())


def test_sampling_shapes_and_moments():
    ad.manual_seed(0)
    cases = [(D.Normal(ad.tensor([1.0, -2.0]), ad.tensor([0.5, 2.0])), (2,)),
             (D.Uniform(ad.tensor([0.0]), ad.tensor([4.0])), (1,)),
             (D.Bernoulli(probs=ad.tensor([0.2, 0.7])), (2,)),
             (D.Beta(ad.tensor([2.0]), ad.tensor([5.0])), (1,)),
             (D.MultivariateNormal(ad.tensor([1.0, 0.0, -1.0], dtype=ad.float64),
                                   covariance_matrix=ad.tensor(SPD)), (3,))]
    for dist, shape in cases:
        s = dist.sample((20000,))
        assert s.shape == (20000,) + shape and not s.requires_grad
        np.testing.assert_allclose(s.numpy().mean(0), dist.mean.numpy(), atol=0.06 * (1 + np.abs(dist.mean.numpy()).max()))
    mvn = cases[-1][0]
    s = mvn.sample((20000,)).numpy()
    np.testing.assert_allclose(np.cov(s.T), SPD, atol=0.25)
    cat = D.Categorical(probs=ad.tensor([[0.1, 0.6, 0.3], [1.0, 0.0, 0.0]]))
    s = cat.sample((30000,))
    assert s.shape == (30000, 2) and s.dtype is ad.int64
    np.testing.assert_allclose(np.bincount(s.numpy()[:, 0], minlength=3) / 30000, [0.1, 0.6, 0.3], atol=0.02)
    assert (s.numpy()[:, 1] == 0).all()
    assert D.Normal(0.0, 1.0).sample().shape == ()


def test_rsample_is_reparameterised():
    ad.manual_seed(1)
    loc = ad.tensor([0.5, -1.0], requires_grad=True)
    scale = ad.tensor([2.0, 0.3], requires_grad=True)
    x = D.Normal(loc, scale).rsample((5,))
    x.sum().backward()
    eps = (x.detach() - loc.detach()) / scale.detach()
    np.testing.assert_allclose(loc.grad.numpy(), [5.0, 5.0])
    np.testing.assert_allclose(scale.grad.numpy(), eps.sum(0).numpy(), rtol=1e-5)
    low, high = ad.tensor([0.0], requires_grad=True), ad.tensor([2.0], requires_grad=True)
    u = D.Uniform(low, high).rsample()
    u.sum().backward()
    np.testing.assert_allclose(low.grad.numpy() + high.grad.numpy(), [1.0], rtol=1e-6)
    L = ad.tensor(np.linalg.cholesky(SPD), requires_grad=True)
    mvn = D.MultivariateNormal(ad.zeros(3, dtype=ad.float64), scale_tril=L)
    assert mvn.rsample((4,)).shape == (4, 3) and D.Normal.has_rsample and not D.Categorical.has_rsample
    mvn.rsample().sum().backward()
    assert L.grad is not None


# ---- policy gradients ---------------------------------------------------------------------

def _policy(lib, seed=0):
    g = np.random.RandomState(seed)
    net = lib.nn.Sequential(lib.nn.Linear(4, 16), lib.nn.Tanh(), lib.nn.Linear(16, 3))
    for p in net.parameters():
        with (lib.no_grad()):
            p.copy_(lib.tensor(g.randn(*p.shape) * 0.5, dtype=p.dtype))
    return net


def test_reinforce_loss_and_gradients_match_torch():
    g = np.random.RandomState(3)
    states, returns = g.randn(10, 4).astype(np.float32), g.randn(10).astype(np.float32)
    ours, theirs = _policy(ad), _policy(torch)
    ad.manual_seed(0)
    dist = D.Categorical(logits=ours(ad.tensor(states)))
    actions = dist.sample()
    loss = -(dist.log_prob(actions) * ad.tensor(returns)).sum() - 0.01 * dist.entropy().mean()
    tdist = TD.Categorical(logits=theirs(torch.tensor(states)))
    tloss = -(tdist.log_prob(torch.tensor(actions.numpy())) * torch.tensor(returns)).sum() \
        - 0.01 * tdist.entropy().mean()
    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-5)
    loss.backward()
    tloss.backward()
    for p, tp in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_actor_critic_loss_and_gradients_match_torch():
    g = np.random.RandomState(4)
    states, rewards = g.randn(8, 4).astype(np.float32), g.randn(8).astype(np.float32)

    def build(lib):
        actor, critic = _policy(lib, 1), _policy(lib, 2)
        log_std = lib.nn.Parameter(lib.tensor([0.1, -0.2, 0.3]))
        return actor, critic, log_std

    def loss_of(lib, mod, actor, critic, log_std, actions):
        s = lib.tensor(states)
        dist = mod.Normal(actor(s), log_std.exp())
        value = critic(s)[:, 0]
        advantage = lib.tensor(rewards) - value
        actor_loss = -(dist.log_prob(actions).sum(-1) * advantage.detach()).mean()
        critic_loss = lib.nn.functional.smooth_l1_loss(value, lib.tensor(rewards))
        return actor_loss + critic_loss - 0.001 * dist.entropy().sum(-1).mean()

    ours, theirs = build(ad), build(torch)
    ad.manual_seed(0)
    actions = D.Normal(ours[0](ad.tensor(states)), ours[2].exp()).sample()
    loss = loss_of(ad, D, *ours, actions)
    tloss = loss_of(torch, TD, *theirs, torch.tensor(actions.numpy()))
    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-5)
    loss.backward()
    tloss.backward()
    for m, tm in zip(ours[:2], theirs[:2]):
        for p, tp in zip(m.parameters(), tm.parameters()):
            np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours[2].grad.numpy(), theirs[2].grad.numpy(), rtol=1e-4)


# ---- reparameterised Gamma, Dirichlet and Beta samples --------------------------------------

def test_gamma_sample_gradient_is_the_implicit_one():
    """dx/dalpha at fixed CDF value: against SciPy's inverse incomplete gamma (central
    differences, ~1e-9) and torch's fitted _standard_gamma_grad (~1e-4)."""
    import scipy.special as sc

    alpha = np.repeat([0.05, 0.4, 1.0, 3.0, 20.0], 3)
    x = sc.gammaincinv(alpha, np.tile([0.05, 0.5, 0.95], 5))
    h = 1e-6 * alpha
    exact = (sc.gammaincinv(alpha + h, sc.gammainc(alpha, x)) - sc.gammaincinv(alpha - h, sc.gammainc(alpha, x))) / (2 * h)
    from autodiff.ops.gamma import _standard_gamma_grad

    ours = _standard_gamma_grad(ad.tensor(alpha), ad.tensor(x)).numpy()
    np.testing.assert_allclose(ours, exact, rtol=1e-7)
    np.testing.assert_allclose(ours, torch._standard_gamma_grad(torch.tensor(alpha), torch.tensor(x)).numpy(),
                               rtol=2e-3)


def test_standard_gamma_node_and_gradient_flow():
    alpha = ad.tensor([0.5, 2.0], dtype=ad.float64, requires_grad=True)
    from autodiff.ops.gamma import _standard_gamma_grad, standard_gamma

    x = standard_gamma(alpha)
    assert type(x.grad_fn).__name__ == type(torch._standard_gamma(torch.ones(2, requires_grad=True)).grad_fn).__name__
    x.sum().backward()
    np.testing.assert_allclose(alpha.grad.numpy(), _standard_gamma_grad(alpha.detach(), x.detach()).numpy())


@pytest.mark.parametrize("name", ["Gamma", "Dirichlet", "Beta"])
def test_rsample_gradient_of_the_mean_matches_the_analytic_one(name):
    """Reparameterised gradients are unbiased: the Monte Carlo mean's gradient (seeded, 40000
    samples) is d E[x] / d params, which torch's distributions give in closed form."""
    params = {"Gamma": dict(concentration=[0.6, 3.0], rate=[1.5, 0.7]),
              "Dirichlet": dict(concentration=[[0.6, 3.0, 1.2]]),
              "Beta": dict(concentration1=[0.6, 3.0], concentration0=[1.4, 0.8])}[name]
    ad.manual_seed(0)
    ours, ov = _make(ad, name, {k: np.array(v) for k, v in params.items()})
    theirs, tv = _make(torch, name, {k: np.array(v) for k, v in params.items()})
    x = ours.rsample((40000,))
    assert ours.has_rsample and tuple(x.shape) == tuple(theirs.rsample((40000,)).shape)
    seed = np.linspace(0.5, 1.5, int(np.prod(x.shape[1:]))).reshape(x.shape[1:])
    (x.mean(0) * ad.tensor(seed)).sum().backward()
    (theirs.mean * torch.tensor(seed)).sum().backward()
    for k in params:
        np.testing.assert_allclose(ov[k].grad.numpy(), tv[k].grad.numpy(), rtol=0.05, atol=0.01)
