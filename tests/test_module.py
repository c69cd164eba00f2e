"""Module, Parameter, containers, init and nn.utils against torch.nn."""

import math
from collections import OrderedDict

import numpy as np
import pytest
import torch

import autodiff as ad
from autodiff import nn
from autodiff.nn import Parameter


def _build(lib):
    """The same small model in both libraries: Affine layers (w * x + b) in containers."""
    N = lib.nn

    class Affine(N.Module):
        def __init__(self, n):
            super().__init__()
            self.w = N.Parameter(lib.ones(n) * 0.5)
            self.b = N.Parameter(lib.zeros(n))
            self.register_buffer("count", lib.zeros(1))
            self.register_buffer("scratch", lib.zeros(2), persistent=False)

        def forward(self, x):
            return x * self.w + self.b

        def extra_repr(self):
            return "n=3"

    class Net(N.Module):
        def __init__(self):
            super().__init__()
            self.body = N.Sequential(Affine(3), Affine(3))
            self.heads = N.ModuleList([Affine(3), Affine(3), Affine(3)])
            self.named = N.ModuleDict({"a": Affine(3)})
            self.shared = self.body[0]
            self.scale = N.Parameter(lib.ones(1))
            self.empty = None

        def forward(self, x):
            return self.heads[0](self.body(x)) * self.scale

    return Net()


def test_names_and_traversal_match_torch():
    ours, theirs = _build(ad), _build(torch)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters(remove_duplicate=False)] == \
        [n for n, _ in theirs.named_parameters(remove_duplicate=False)]
    assert [n for n, _ in ours.named_parameters(prefix="m", recurse=False)] == ["m.scale"]
    assert len(list(ours.parameters())) == len(list(theirs.parameters()))
    assert len(list(ours.modules())) == len(list(theirs.modules()))
    assert repr(ours) == repr(theirs)


def test_repr_nested_and_parameter():
    p = Parameter(ad.tensor([1.0, 2.0]))
    assert repr(p) == repr(torch.nn.Parameter(torch.tensor([1.0, 2.0])))
    assert repr(nn.Sequential()) == repr(torch.nn.Sequential())
    assert repr(nn.ModuleList()) == repr(torch.nn.ModuleList())


def test_parameter_basics():
    t = ad.ones(3)
    p = Parameter(t)
    assert p.requires_grad and p.is_leaf and isinstance(p, ad.Tensor)
    assert p._data is t._data  # shares storage, as torch's
    assert not Parameter(ad.ones(1), requires_grad=False).requires_grad
    q = (p * 2).sum()
    assert type(p * 2) is ad.Tensor
    q.backward()
    assert p.grad.tolist() == [2.0, 2.0, 2.0]
    assert Parameter().shape == (0,)


def test_forward_and_backward_through_model():
    ours, theirs = _build(ad), _build(torch)
    x = np.linspace(-1, 1, 3).astype(np.float32)
    ours(ad.tensor(x)).sum().backward()
    theirs(torch.tensor(x)).sum().backward()
    for (n, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        g, h = p.grad, q.grad
        assert (g is None) == (h is None), n
        if g is not None:
            np.testing.assert_allclose(g.numpy(), h.numpy(), rtol=1e-6, err_msg=n)


def test_setattr_getattr_delattr_semantics():
    m = nn.Module()
    m.p = Parameter(ad.ones(1))
    m.sub = nn.Module()
    m.register_buffer("buf", ad.zeros(1))
    m.plain = 3
    assert "p" in m._parameters and "sub" in m._modules and m.plain == 3
    with pytest.raises(TypeError, match="cannot assign 'autodiff.FloatTensor' as parameter 'p'"):
        m.p = ad.ones(1)
    m.p = None
    assert m._parameters["p"] is None and m.p is None
    with pytest.raises(TypeError, match="cannot assign 'int' as child module 'sub'"):
        m.sub = 1
    with pytest.raises(TypeError, match="cannot assign 'str' as buffer 'buf'"):
        m.buf = "x"
    m.buf = ad.ones(2)
    assert m.state_dict()["buf"].tolist() == [1.0, 1.0]
    # a parameter assigned over a plain attribute replaces it
    m.plain = Parameter(ad.ones(1))
    assert "plain" in m._parameters and "plain" not in m.__dict__
    del m.plain
    assert "plain" not in m._parameters
    with pytest.raises(AttributeError, match="'Module' object has no attribute 'nothing'"):
        m.nothing
    with pytest.raises(KeyError, match="attribute 'buf' already exists"):
        m.register_parameter("buf", None)
    with pytest.raises(KeyError, match='parameter name can.+t contain "."'):
        m.register_parameter("a.b", None)
    with pytest.raises(TypeError, match="cannot assign 'autodiff.FloatTensor' object to parameter 'q'"):
        m.register_parameter("q", ad.ones(1))
    with pytest.raises(ValueError, match="Cannot assign non-leaf Tensor to parameter 'q'"):
        m.register_parameter("q", _non_leaf_param())
    with pytest.raises(TypeError, match="int is not a Module subclass"):
        m.add_module("x", 1)
    with pytest.raises(KeyError, match='module name can.+t contain ".", got: a.b'):
        m.add_module("a.b", nn.Module())
    m.register_module("reg", nn.Module())
    assert m.get_submodule("reg") is m.reg

    class NoInit(nn.Module):
        def __init__(self):
            self.p = Parameter(ad.ones(1))
    with pytest.raises(AttributeError, match="cannot assign parameters before Module.__init__\\(\\) call"):
        NoInit()


def _non_leaf_param():
    """A Parameter that a graph node produced (torch refuses to register one)."""
    q = Parameter(ad.ones(1))
    q.grad_fn = (Parameter(ad.ones(1)) * 2).grad_fn
    return q


def test_train_eval_requires_grad_zero_grad_apply():
    m = _build(ad)
    assert m.training and all(c.training for c in m.modules())
    assert m.eval() is m and not any(c.training for c in m.modules())
    m.train()
    assert all(c.training for c in m.modules())
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        m.train(1)
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())
    m.requires_grad_()
    m(ad.ones(3)).sum().backward()
    m.zero_grad(set_to_none=False)
    assert all(p.grad is None or p.grad.tolist() == [0.0] * p.numel() for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    seen = []
    assert m.apply(lambda mod: seen.append(type(mod).__name__)) is m
    assert seen[-1] == "Net" and seen[0] == "Affine"
    theirs = []
    _build(torch).apply(lambda mod: theirs.append(type(mod).__name__))
    assert seen == theirs


def test_to_double_float_keeps_parameter_objects():
    m = _build(ad)
    m(ad.ones(3)).sum().backward()
    params = list(m.parameters())
    assert m.double() is m
    assert all(a is b for a, b in zip(m.parameters(), params))
    assert all(p.dtype is ad.float64 for p in m.parameters())
    assert all(b.dtype is ad.float64 for b in m.buffers())
    assert all(p.grad is None or p.grad.dtype is ad.float64 for p in m.parameters())
    m.to(ad.float32)
    assert all(p.dtype is ad.float32 and isinstance(p, Parameter) for p in m.parameters())
    m.to("cpu")
    with pytest.raises(RuntimeError, match="no cuda backend"):
        m.to("cuda")


def test_state_dict_round_trip_and_strict_errors():
    src, dst = _build(ad), _build(ad)
    with ad.no_grad():
        for i, p in enumerate(src.parameters()):
            p.fill_(i + 1.0)
    sd = src.state_dict()
    assert all(not v.requires_grad for v in sd.values())
    assert "body.0.scratch" not in sd
    result = dst.load_state_dict(sd)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    for (n, a), (_, b) in zip(src.named_parameters(), dst.named_parameters()):
        assert a.tolist() == b.tolist(), n
    assert src.state_dict(keep_vars=True)["scale"] is src.scale


def _messages(lib, sd_edit, strict=True):
    model = _build(lib)
    sd = model.state_dict()
    sd_edit(sd, lib)
    try:
        result = model.load_state_dict(sd, strict=strict)
        return "ok", (result.missing_keys, result.unexpected_keys)
    except RuntimeError as e:
        return "error", str(e)


def _edit(sd, lib):
    del sd["body.1.w"]
    del sd["scale"]
    sd["extra"] = lib.ones(1)
    sd["heads.9.w"] = lib.ones(1)
    sd["named.a.b"] = lib.zeros(5)


def test_strict_loading_errors_match_torch_wording():
    kind, ours = _messages(ad, _edit)
    kind_t, theirs = _messages(torch, _edit)
    assert kind == kind_t == "error"
    assert ours == theirs.replace("torch.Size", "autodiff.Size")
    assert 'Missing key(s) in state_dict: "scale", "body.1.w".' in ours
    assert 'Unexpected key(s) in state_dict: "extra", "heads.9.w".' in ours
    assert "size mismatch for named.a.b" in ours


def test_non_strict_loading_returns_incompatible_keys():
    def edit(sd, lib):
        del sd["body.1.w"]
        sd["extra"] = lib.ones(1)
    assert _messages(ad, edit, strict=False) == _messages(torch, edit, strict=False)
    kind, msg = _messages(ad, lambda sd, lib: sd.update({"scale": lib.ones(2)}), strict=False)
    assert kind == "error" and "size mismatch for scale" in msg


def test_load_state_dict_casts_dtype():
    m = _build(ad)
    sd = {k: v.double() for k, v in m.state_dict().items()}
    m.load_state_dict(sd)
    assert all(p.dtype is ad.float32 for p in m.parameters())


def test_hooks():
    m = _build(ad).heads[0]
    calls = []
    h1 = m.register_forward_pre_hook(lambda mod, args: (args[0] * 2,))
    h2 = m.register_forward_hook(lambda mod, args, out: calls.append("post") or out + 100)
    h3 = m.register_forward_hook(lambda mod, args, out: calls.append("first"), prepend=True)
    out = m(ad.ones(3))
    assert calls == ["first", "post"]
    np.testing.assert_allclose(out.tolist(), [101.0] * 3)
    h1.remove(), h2.remove(), h3.remove()
    assert m(ad.ones(3)).tolist() == [0.5] * 3
    h = m.register_forward_pre_hook(lambda mod, args, kwargs: ((args[0] + 1,), kwargs), with_kwargs=True)
    assert m(ad.ones(3)).tolist() == [1.0] * 3
    h.remove()
    with m.register_forward_hook(lambda mod, args, kwargs, out: out * 0, with_kwargs=True):
        assert m(ad.ones(3)).tolist() == [0.0] * 3
    assert m(ad.ones(3)).tolist() == [0.5] * 3
    with pytest.raises(NotImplementedError, match='Module \\[Module\\] is missing the required "forward" function'):
        nn.Module()(1)


def test_sequential_indexing_slicing_append():
    mods = [nn.Module() for _ in range(4)]
    s = nn.Sequential(*mods)
    assert len(s) == 4 and s[0] is mods[0] and s[-1] is mods[3]
    sub = s[1:3]
    assert isinstance(sub, nn.Sequential) and list(sub) == mods[1:3]
    assert list(sub._modules) == ["1", "2"]  # torch keeps the keys of a slice
    with pytest.raises(IndexError, match="index 4 is out of range"):
        s[4]
    extra = nn.Module()
    s.append(extra)
    assert s[4] is extra
    del s[0]
    assert list(s._modules) == ["0", "1", "2", "3"] and s[0] is mods[1]
    named = nn.Sequential(OrderedDict([("first", mods[0]), ("second", mods[1])]))
    assert list(named._modules) == ["first", "second"]
    chain = nn.Sequential(_build(ad).heads[0], _build(ad).heads[0])
    assert chain(ad.ones(3)).tolist() == [0.25] * 3


def test_module_list_and_dict():
    layers = nn.ModuleList([nn.Module(), nn.Module()])
    layers.append(nn.Module())
    layers += [nn.Module()]
    assert len(layers) == 4 and list(layers._modules) == ["0", "1", "2", "3"]
    assert isinstance(layers[1:], nn.ModuleList) and len(layers[1:]) == 3
    layers.insert(0, nn.Module())
    assert len(layers) == 5
    with pytest.raises(IndexError, match="index 7 is out of range"):
        layers[7]
    d = nn.ModuleDict({"a": nn.Module()})
    d["b"] = nn.Module()
    d.update([("c", nn.Module())])
    assert list(d) == ["a", "b", "c"] and "b" in d and len(d) == 3
    d.pop("a")
    assert list(d.keys()) == ["b", "c"]
    assert repr(_build(ad).heads) == repr(_build(torch).heads)


# ---- init -------------------------------------------------------------------------
def test_calculate_gain_matches_torch():
    for name, param in [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None),
                        ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None)]:
        assert math.isclose(nn.init.calculate_gain(name, param), torch.nn.init.calculate_gain(name, param))
    with pytest.raises(ValueError, match="Unsupported nonlinearity gelu"):
        nn.init.calculate_gain("gelu")


@pytest.mark.parametrize("fn,kwargs,expected_std", [
    ("xavier_uniform_", {}, math.sqrt(2 / (64 * 9 + 32 * 9))),
    ("xavier_normal_", {"gain": 2.0}, 2 * math.sqrt(2 / (64 * 9 + 32 * 9))),
    ("kaiming_uniform_", {"a": math.sqrt(5)}, math.sqrt(2 / 6) / math.sqrt(64 * 9)),
    ("kaiming_normal_", {"mode": "fan_out", "nonlinearity": "relu"}, math.sqrt(2) / math.sqrt(32 * 9)),
])
def test_init_statistics(fn, kwargs, expected_std):
    w = Parameter(ad.empty(32, 64, 3, 3))
    v = w._version
    assert getattr(nn.init, fn)(w, **kwargs) is w
    assert w._version > v and w.grad_fn is None and w.requires_grad
    data = w.detach().numpy()
    assert abs(data.std() / expected_std - 1) < 0.05 and abs(data.mean()) < 0.1 * expected_std
    if "uniform" in fn:
        bound = math.sqrt(3) * expected_std
        assert data.max() <= bound and data.min() >= -bound and data.max() > 0.95 * bound


def test_init_basic_fills_and_errors():
    t = ad.empty(3, 4)
    assert nn.init.constant_(t, 0.5).tolist() == [[0.5] * 4] * 3
    assert nn.init.zeros_(t).tolist() == [[0.0] * 4] * 3
    assert nn.init.ones_(t).tolist() == [[1.0] * 4] * 3
    u = nn.init.uniform_(ad.empty(10000), -2.0, 3.0).numpy()
    assert u.min() >= -2 and u.max() < 3 and abs(u.mean() - 0.5) < 0.1
    n = nn.init.normal_(ad.empty(10000, dtype=ad.float64), 1.0, 0.5).numpy()
    assert abs(n.mean() - 1) < 0.05 and abs(n.std() - 0.5) < 0.05
    g1, g2 = ad.Generator().manual_seed(3), ad.Generator().manual_seed(3)
    assert nn.init.normal_(ad.empty(5), generator=g1).tolist() == nn.init.normal_(ad.empty(5), generator=g2).tolist()
    with pytest.raises(ValueError, match="Fan in and fan out can not be computed"):
        nn.init.xavier_uniform_(ad.empty(3))
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        nn.init.kaiming_uniform_(ad.empty(3, 3), mode="fan_avg")
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        nn.init.kaiming_normal_(ad.empty(0, 3))


@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (4, 2, 3)])
def test_orthogonal(shape):
    w = nn.init.orthogonal_(ad.empty(*shape, dtype=ad.float64), gain=2.0)
    m = w.numpy().reshape(shape[0], -1)
    small = min(m.shape)
    gram = m.T @ m if m.shape[0] >= m.shape[1] else m @ m.T
    np.testing.assert_allclose(gram, 4 * np.eye(small), atol=1e-10)
    with pytest.raises(ValueError, match="Only tensors with 2 or more dimensions are supported"):
        nn.init.orthogonal_(ad.empty(3))


# ---- nn.utils ----------------------------------------------------------------------
def _grads(lib, scale=1.0):
    rs = np.random.RandomState(0)
    arrays = [rs.randn(3, 4) * scale, rs.randn(5) * scale]
    if lib is ad:
        ps = [Parameter(ad.tensor(a, dtype=ad.float64)) for a in arrays]
        for p, a in zip(ps, arrays):
            p.grad = ad.tensor(a * 2, dtype=ad.float64)
    else:
        ps = [torch.nn.Parameter(torch.tensor(a)) for a in arrays]
        for p, a in zip(ps, arrays):
            p.grad = torch.tensor(a * 2)
    return ps


@pytest.mark.parametrize("norm_type", [2.0, 1, 3.5, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    ours, theirs = _grads(ad), _grads(torch)
    total = nn.utils.clip_grad_norm_(ours, max_norm, norm_type)
    total_t = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    assert isinstance(total, ad.Tensor) and total.shape == ()
    assert math.isclose(total.item(), total_t.item(), rel_tol=1e-12)
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-12)


def test_clip_grad_norm_nonfinite_and_empty():
    ps = _grads(ad)
    ps[0].grad.fill_(math.inf)
    with pytest.raises(RuntimeError, match="The total norm of order 2.0 for gradients from `parameters` is non-finite"):
        nn.utils.clip_grad_norm_(ps, 1.0, error_if_nonfinite=True)
    assert nn.utils.clip_grad_norm_([Parameter(ad.ones(2))], 1.0).item() == 0.0


def test_clip_grad_value():
    ours, theirs = _grads(ad), _grads(torch)
    nn.utils.clip_grad_value_(ours, 0.7)
    torch.nn.utils.clip_grad_value_(theirs, 0.7)
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy())


def test_parameters_vector_round_trip():
    ps = _grads(ad)
    vec = nn.utils.parameters_to_vector(ps)
    tvec = torch.nn.utils.parameters_to_vector(_grads(torch))
    np.testing.assert_allclose(vec.detach().numpy(), tvec.detach().numpy())
    nn.utils.vector_to_parameters(vec * 2, ps)
    np.testing.assert_allclose(nn.utils.parameters_to_vector(ps).detach().numpy(), 2 * tvec.detach().numpy())
