"""Whole-model save/load (pickle behind weights_only, as torch >= 2.6), pickling and deepcopy."""

import copy
import io
import pickle

import numpy as np
import pytest
import torch

import autodiff as ad
from autodiff import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.bn = nn.BatchNorm1d(4)
        self.register_buffer("steps", ad.zeros(1, dtype=ad.int64))

    def forward(self, x):
        return self.bn(self.fc(x)).relu()


class TorchNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3, 4)


def _model():
    ad.manual_seed(0)
    m = Net()
    m(ad.randn(5, 3))  # move the running statistics
    return m


def _same_state(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for k in sa:
        assert sa[k].dtype is sb[k].dtype
        np.testing.assert_array_equal(sa[k].numpy(), sb[k].numpy())


def test_whole_model_round_trip_with_weights_only_false(tmp_path):
    m = _model()
    path = tmp_path / "model.pt"
    ad.save(m, path)
    back = ad.load(path, weights_only=False)
    assert type(back) is Net and back is not m
    _same_state(m, back)
    assert isinstance(back.fc.weight, nn.Parameter) and back.fc.weight.requires_grad
    x = ad.randn(2, 3)
    m.eval(), back.eval()
    np.testing.assert_array_equal(m(x).detach().numpy(), back(x).detach().numpy())
    back(x).sum().backward()
    assert back.fc.weight.grad.shape == (4, 3)


def test_default_refuses_like_torch(tmp_path):
    ad.save(_model(), tmp_path / "ours.pt")
    torch.save(TorchNet(), tmp_path / "theirs.pt")
    with pytest.raises(pickle.UnpicklingError) as theirs:
        torch.load(tmp_path / "theirs.pt")
    with pytest.raises(pickle.UnpicklingError) as ours:
        ad.load(tmp_path / "ours.pt")
    for text in ("Weights only load failed", "weights_only` set to `False`", "Unsupported global: GLOBAL",
                 "was not an allowed global by default", "safe_globals(["):
        assert text in str(theirs.value) and text in str(ours.value)
    assert f"GLOBAL {__name__}.Net" in str(ours.value)
    with pytest.raises(pickle.UnpicklingError):
        ad.load(tmp_path / "ours.pt", weights_only=True)


def test_safe_globals_allow_listed_classes(tmp_path):
    m = _model()
    ad.save(m, tmp_path / "m.pt")
    with ad.serialization.safe_globals([Net, nn.Linear, nn.BatchNorm1d]):
        _same_state(m, ad.load(tmp_path / "m.pt"))
    with pytest.raises(pickle.UnpicklingError):  # the context manager's allowance has ended
        ad.load(tmp_path / "m.pt")
    ad.serialization.add_safe_globals([Net, nn.Linear, nn.BatchNorm1d])
    try:
        assert set(ad.serialization.get_safe_globals()) >= {Net, nn.Linear}
        _same_state(m, ad.load(tmp_path / "m.pt"))
    finally:
        ad.serialization.clear_safe_globals()
    assert ad.serialization.get_safe_globals() == []


def test_state_dicts_stay_in_the_data_format(tmp_path):
    buf = io.BytesIO()
    ad.save(_model().state_dict(), buf)
    assert buf.getvalue()[:8] != b"ADPICKLE"
    buf.seek(0)
    assert list(ad.load(buf)) == list(_model().state_dict())


def test_tensor_pickle_matches_torch():
    data = np.arange(6.0).reshape(2, 3)[:, ::2]  # non-contiguous
    for lib in (ad, torch):
        x = lib.tensor(data, requires_grad=True)
        y = x * 2
        p = lib.nn.Parameter(lib.ones(2))
        back_x, back_y, back_p = pickle.loads(pickle.dumps((x, y, p)))
        assert back_x.requires_grad and back_x.is_leaf
        assert back_y.requires_grad and back_y.is_leaf and back_y.grad_fn is None
        assert type(back_p).__name__ == "Parameter" and back_p.requires_grad
        np.testing.assert_array_equal(back_y.detach().numpy(), data * 2)
    i = pickle.loads(pickle.dumps(ad.tensor([[1, 2]])))
    assert i.dtype is ad.int64 and i.tolist() == [[1, 2]]


def test_deepcopy_matches_torch():
    for lib in (ad, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        x.grad = lib.tensor([0.5, 0.5])
        y = copy.deepcopy(x)
        assert y.requires_grad and y.is_leaf and y.grad.tolist() == [0.5, 0.5]
        with lib.no_grad():
            y.add_(1)
        assert x.tolist() == [1.0, 2.0]
        a, b = copy.deepcopy([x, x])
        assert a is b
        with pytest.raises(RuntimeError, match="Only Tensors created explicitly by the user"):
            copy.deepcopy(x * 2)
    m = _model()
    c = copy.deepcopy(m)
    _same_state(m, c)
    assert c.fc.weight is not m.fc.weight and isinstance(c.fc.weight, nn.Parameter)
