"""autodiff.save / autodiff.load: round trips of tensors, state dicts and optimizers; bad files."""

import io
import math
import os
import pickle
from collections import OrderedDict

import numpy as np
import pytest

import autodiff as ad
from autodiff import nn, optim
from autodiff.nn import Parameter


class Affine(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = Parameter(ad.randn(4, 3))
        self.b = Parameter(ad.zeros(3, dtype=ad.float64))
        self.register_buffer("steps", ad.tensor([3, 4]))
        self.register_buffer("mask", ad.tensor([True, False]))

    def forward(self, x):
        return (x * self.w).sum() + self.b.sum()


def _roundtrip(obj, tmp_path=None):
    if tmp_path is None:
        buf = io.BytesIO()
        ad.save(obj, buf)
        buf.seek(0)
        return ad.load(buf)
    path = tmp_path / "obj.ad"
    ad.save(obj, path)
    return ad.load(str(path))


def _same(a, b):
    assert type(a) is type(b)
    if isinstance(a, ad.Tensor):
        assert a.dtype is b.dtype and a.shape == b.shape and a.requires_grad == b.requires_grad
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b)
    else:
        assert a == b


def test_tensor_dtypes_shapes_and_views(tmp_path):
    x = ad.arange(24.0).reshape(2, 3, 4)
    objs = [ad.tensor(1.5, dtype=ad.float64), ad.zeros(0, 3), ad.tensor([1, -2**62]),
            ad.tensor([[True, False]]), x, x.transpose(0, 2) if hasattr(x, "transpose") else x[:, 1],
            ad.ones(3, requires_grad=True), Parameter(ad.ones(2)), Parameter(ad.ones(2), requires_grad=False)]
    for obj in objs:
        _same(obj, _roundtrip(obj))
        _same(obj, _roundtrip(obj, tmp_path))
    assert isinstance(_roundtrip(Parameter(ad.ones(2))), Parameter)


def test_nested_containers():
    t = ad.ones(2)
    obj = {"a": [1, 2.5, "s", None, True, (t, t)], 3: OrderedDict(x=ad.zeros(1)), "inf": math.inf,
           "nan": math.nan, "neg": -math.inf, "big": 2 ** 70, None: False, 1.5: "f"}
    back = _roundtrip(obj)
    _same(obj, back)
    a, b = back["a"][5]
    assert a is b  # stored once, loaded as one tensor
    assert isinstance(back[3], OrderedDict)


def test_objects_beyond_data_are_pickled_and_refused_by_default():
    # as torch.save: anything else is pickled, and loads only with weights_only=False
    for obj, refused in (({"f": object()}, "builtins.object"), ({(1, 2): 3}, None)):
        buf = io.BytesIO()
        ad.save(obj, buf)
        assert buf.getvalue()[:8] == b"ADPICKLE"
        if refused:
            buf.seek(0)
            with pytest.raises(pickle.UnpicklingError, match=f"GLOBAL {refused} was not an allowed"):
                ad.load(buf)
        buf.seek(0)
        assert type(ad.load(buf, weights_only=False)) is dict


def test_model_state_dict_round_trip(tmp_path):
    ad.manual_seed(0)
    model = Affine()
    path = tmp_path / "model.ad"
    ad.save(model.state_dict(), path)
    other = Affine()
    assert other.load_state_dict(ad.load(path)).missing_keys == []
    for k, v in model.state_dict().items():
        _same(v, other.state_dict()[k])


@pytest.mark.parametrize("make", [
    lambda ps: optim.Adam(ps, lr=0.05, amsgrad=True),
    lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True),
    lambda ps: optim.RMSprop(ps, lr=0.01, momentum=0.5, centered=True),
    lambda ps: optim.Adagrad(ps, lr=0.1),
])
def test_optimizer_resume_gives_same_trajectory(tmp_path, make):
    x = ad.tensor(np.linspace(-1, 1, 12).reshape(4, 3))

    def train(model, opt, steps):
        for _ in range(steps):
            opt.zero_grad()
            loss = model(x) ** 2
            loss.backward()
            opt.step()

    ad.manual_seed(1)
    ref = Affine()
    ref_opt = make(ref.parameters())
    train(ref, ref_opt, 20)

    ad.manual_seed(1)
    model = Affine()
    opt = make(model.parameters())
    train(model, opt, 10)
    ad.save({"model": model.state_dict(), "optim": opt.state_dict(), "epoch": 10}, tmp_path / "ckpt.ad")

    ad.manual_seed(99)
    resumed = Affine()
    resumed_opt = make(resumed.parameters())
    ckpt = ad.load(tmp_path / "ckpt.ad")
    resumed.load_state_dict(ckpt["model"])
    resumed_opt.load_state_dict(ckpt["optim"])
    assert ckpt["epoch"] == 10
    train(resumed, resumed_opt, 10)
    for (n, p), (_, q) in zip(ref.named_parameters(), resumed.named_parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy(), err_msg=n)


def test_scheduler_state_round_trip():
    opt = optim.SGD([Parameter(ad.ones(1))], lr=0.1)
    sched = optim.lr_scheduler.ReduceLROnPlateau(opt)
    back = _roundtrip(sched.state_dict())
    assert back["best"] == math.inf and back == sched.state_dict()
    multi = optim.lr_scheduler.MultiStepLR(opt, milestones=[2, 5])
    assert _roundtrip(multi.state_dict())["milestones"] == {2: 1, 5: 1}


def _saved_bytes(obj=None):
    buf = io.BytesIO()
    ad.save(obj if obj is not None else {"w": ad.arange(100.0), "n": 3}, buf)
    return buf.getvalue()


def _load_bytes(data, tmp_path):
    path = tmp_path / "bad.ad"
    path.write_bytes(data)
    return ad.load(path)


@pytest.mark.parametrize("cut", [0, 5, 12, 30, -1, -200])
def test_truncated_file_errors(tmp_path, cut):
    data = _saved_bytes()
    with pytest.raises(RuntimeError, match=r"bad\.ad.*(truncated|wrong magic)"):
        _load_bytes(data[:cut], tmp_path)


def test_corrupt_files_error(tmp_path):
    data = bytearray(_saved_bytes())
    with pytest.raises(RuntimeError, match=r"bad\.ad'?: not an autodiff save file"):
        _load_bytes(b"PK\x03\x04" + bytes(data[4:]), tmp_path)
    header_flip = bytearray(data)
    header_flip[30] ^= 0xFF
    with pytest.raises(RuntimeError, match="header is corrupt"):
        _load_bytes(bytes(header_flip), tmp_path)
    data_flip = bytearray(data)
    data_flip[-8] ^= 0x01
    with pytest.raises(RuntimeError, match="tensor 0 data is corrupt"):
        _load_bytes(bytes(data_flip), tmp_path)
    with pytest.raises(RuntimeError, match="not an autodiff save file"):
        ad.load(io.BytesIO(b""))


def test_crafted_header_cannot_escape(tmp_path):
    """A header that points outside the data or declares inconsistent sizes is refused."""
    import json
    import struct
    import zlib

    def craft(header, payload=b""):
        raw = json.dumps(header).encode()
        prefix = struct.pack("<8sQI", b"ADSAVE\x00\x01", len(raw), zlib.crc32(raw))
        pad = -(len(prefix) + len(raw)) % 64
        return prefix + raw + bytes(pad) + payload

    base = {"format": "autodiff.save", "version": 1, "root": None, "tensors": []}
    assert _load_bytes(craft(base), tmp_path) is None
    bad_shape = dict(base, tensors=[{"dtype": "float32", "shape": [1000], "offset": 0, "nbytes": 8,
                                     "crc32": 0}])
    with pytest.raises(RuntimeError, match="does not match its 8 bytes"):
        _load_bytes(craft(bad_shape, bytes(8)), tmp_path)
    bad_dtype = dict(base, tensors=[{"dtype": "object", "shape": [1], "offset": 0, "nbytes": 8, "crc32": 0}])
    with pytest.raises(RuntimeError, match="tensor 0 has an invalid description"):
        _load_bytes(craft(bad_dtype, bytes(8)), tmp_path)
    with pytest.raises(RuntimeError, match="refers to tensor 3"):
        _load_bytes(craft(dict(base, root={"type": "tensor", "index": 3})), tmp_path)
    with pytest.raises(RuntimeError, match="unknown type 'pickle'"):
        _load_bytes(craft(dict(base, root={"type": "pickle", "data": "..."})), tmp_path)
    with pytest.raises(RuntimeError, match="format version 7 is not supported"):
        _load_bytes(craft(dict(base, version=7)), tmp_path)


def test_file_objects_stay_open_and_paths_accepted(tmp_path):
    buf = io.BytesIO()
    ad.save([1, 2], buf)
    assert not buf.closed
    buf.seek(0)
    assert ad.load(buf) == [1, 2]
    p = os.fspath(tmp_path / "x.ad")
    ad.save(ad.ones(1), p)
    assert ad.load(p).tolist() == [1.0]
    with pytest.raises(RuntimeError, match="no cuda backend"):
        ad.load(p, map_location="cuda")
