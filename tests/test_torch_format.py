"""autodiff.load / autodiff.save(format="torch") against torch.save / torch.load(weights_only=True)."""

import io
import math
import os
import pickle
import subprocess
import sys
import zipfile
from collections import OrderedDict

import numpy as np
import pytest
import torch

import autodiff as ad
from autodiff import nn, optim

DTYPES = [(torch.float32, ad.float32), (torch.float64, ad.float64), (torch.int64, ad.int64),
          (torch.int32, ad.int32), (torch.int16, ad.int16), (torch.int8, ad.int8), (torch.uint8, ad.uint8),
          (torch.bool, ad.bool)]


def _torch_bytes(obj, **kwargs):
    buf = io.BytesIO()
    torch.save(obj, buf, **kwargs)
    return buf.getvalue()


def _ad_load(data, **kwargs):
    return ad.load(io.BytesIO(data), **kwargs)


def _ad_bytes(obj):
    buf = io.BytesIO()
    ad.save(obj, buf, format="torch")
    return buf.getvalue()


def _torch_load(data):
    return torch.load(io.BytesIO(data), weights_only=True)


def _sample(dtype):
    base = torch.arange(24, dtype=torch.float64).reshape(2, 3, 4) - 7
    return base.to(dtype)


def _same(a, t):
    """An autodiff value equals a torch value (types, dtypes, shapes, strides, data)."""
    if isinstance(t, torch.Tensor):
        assert isinstance(a, ad.Tensor), type(a)
        assert isinstance(a, nn.Parameter) == isinstance(t, torch.nn.Parameter)
        assert a.dtype.name == str(t.dtype).removeprefix("torch.")
        assert a.shape == tuple(t.shape) and a.stride() == t.stride()
        assert a.requires_grad == t.requires_grad
        np.testing.assert_array_equal(a.detach().numpy(), t.detach().numpy())
    elif isinstance(t, dict):
        assert type(a) is type(t) and list(a) == list(t)
        for k in t:
            _same(a[k], t[k])
    elif isinstance(t, (list, tuple)):
        assert isinstance(a, (list, tuple)) and len(a) == len(t)
        for x, y in zip(a, t):
            _same(x, y)
    elif isinstance(t, float) and math.isnan(t):
        assert math.isnan(a)
    else:
        assert a == t and type(a) is type(t)


@pytest.mark.parametrize("tdt,adt", DTYPES)
def test_torch_tensors_of_every_dtype_load(tdt, adt):
    x = _sample(tdt)
    objs = {"x": x, "t": x.transpose(0, 2), "step": x[:, ::2, 1:], "row": x[1, 2], "scalar": x[0, 0, 0].clone(),
            "empty": torch.zeros(0, 3, dtype=tdt), "expanded": x[0, :1].expand(4, 4)}
    back = _ad_load(_torch_bytes(objs))
    _same(back, objs)
    assert back["t"].dtype is adt


def test_parameters_requires_grad_and_containers_load():
    p = torch.nn.Parameter(torch.randn(3))
    frozen = torch.nn.Parameter(torch.ones(2), requires_grad=False)
    leaf = torch.ones(2, requires_grad=True)
    obj = {"p": p, "frozen": frozen, "leaf": leaf, "nested": [1, 2.5, "s", None, True, (3, [4, {"k": -5}])],
           "od": OrderedDict(b=1, a=2), "big": 2 ** 70, "neg": -2 ** 40, "inf": math.inf, "nan": math.nan,
           7: "int key", "size": torch.Size([2, 3]), "set": {1, 2}, "complex": 1 + 2j, "bytes": b"\x00\xff",
           "bytearray": bytearray(b"ab"),
           "dtype": torch.float64, "device": torch.device("cpu")}
    back = _ad_load(_torch_bytes(obj))
    for key in ("p", "frozen", "leaf", "nested", "od", "big", "neg", "inf", "nan", 7, "set", "complex", "bytes",
                "bytearray"):
        _same(back[key], obj[key])
    assert type(back["od"]) is OrderedDict
    assert back["size"] == (2, 3) and back["dtype"] is ad.float64 and back["device"] == ad.device("cpu")


def test_module_state_dict_keeps_metadata():
    sd = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2)).state_dict()
    back = _ad_load(_torch_bytes(sd))
    _same(back, sd)
    assert back._metadata == sd._metadata


def test_shared_storages_and_views_stay_shared():
    x = torch.arange(12.0).reshape(3, 4)
    obj = {"x": x, "again": x, "t": x.t(), "row": x[1], "other": torch.ones(2)}
    back = _ad_load(_torch_bytes(obj))
    assert back["again"] is back["x"]
    for k in ("t", "row"):
        assert np.shares_memory(back[k].numpy(), back["x"].numpy())
        assert back[k]._version_counter is back["x"]._version_counter
    assert not np.shares_memory(back["other"].numpy(), back["x"].numpy())
    back["row"].mul_(10)  # one buffer: a write through a view is seen by the others, and versions agree
    x[1].mul_(10)
    _same(back["t"], x.t())
    assert back["x"]._version == 1


@pytest.mark.parametrize("tdt", [torch.float16, torch.bfloat16, torch.uint16, torch.complex64])
def test_dtypes_autodiff_lacks_are_named(tdt):
    with pytest.raises(TypeError, match=f"autodiff has no {str(tdt).removeprefix('torch.')} dtype"):
        _ad_load(_torch_bytes({"w": torch.ones(2, dtype=tdt)}))


def test_map_location_forms():
    data = _torch_bytes({"w": torch.arange(3.0)})
    for ml in (None, "cpu", ad.device("cpu"), torch.device("cpu"), {"cpu": "cpu"}, {"cuda:1": "cpu"},
               lambda storage, loc: storage, lambda storage, loc: None):
        np.testing.assert_array_equal(_ad_load(data, map_location=ml)["w"].numpy(), [0, 1, 2])
    for ml in ("cuda", {"cpu": "cuda:0"}, torch.device("cuda", 0)):
        with pytest.raises(RuntimeError, match="CUDA device but autodiff has no cuda backend"):
            _ad_load(data, map_location=ml)
    with pytest.raises(TypeError, match="map_location callable must return"):
        _ad_load(data, map_location=lambda storage, loc: 3)


def _rewrite(data, edit_pickle=None, drop=()):
    """A copy of a torch.save archive with data.pkl edited and some records dropped."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            payload = src.read(info)
            if any(info.filename.endswith(d) for d in drop):
                continue
            if info.filename.endswith("/data.pkl") and edit_pickle is not None:
                payload = edit_pickle(payload)
            dst.writestr(info.filename, payload)
    return out.getvalue()


def _as_cuda(pkl):
    return pkl.replace(b"X\x03\x00\x00\x00cpu", b"X\x06\x00\x00\x00cuda:0")


def test_map_location_moves_saved_cuda_storages_to_cpu():
    data = _rewrite(_torch_bytes({"w": torch.arange(3.0)}), _as_cuda)
    with pytest.raises(RuntimeError, match="map_location='cpu'"):
        _ad_load(data)
    for ml in ("cpu", {"cuda:0": "cpu"}, lambda storage, loc: storage if loc == "cuda:0" else None):
        np.testing.assert_array_equal(_ad_load(data, map_location=ml)["w"].numpy(), [0, 1, 2])
    ts = torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")  # the oracle reads it alike
    np.testing.assert_array_equal(ts["w"].numpy(), [0, 1, 2])


def _ad_objects():
    x = ad.arange(24.0, dtype=ad.float64).reshape(2, 3, 4)
    return {
        "f32": ad.randn(3, 2), "f64": x, "i64": ad.tensor([1, -2 ** 62, 3]), "bool": ad.tensor([[True, False]]),
        "view": x.transpose(0, 2), "slice": x[1, :, ::2], "same": x, "scalar": ad.tensor(2.5),
        "empty": ad.zeros(0, 4), "param": nn.Parameter(ad.ones(2)), "frozen": nn.Parameter(ad.ones(2), False),
        "leaf": ad.ones(3, requires_grad=True), "nested": [1, 2.5, "s", None, False, (1, 2, 3, 4), {5: "x"}],
        "od": OrderedDict(z=1, a=ad.zeros(1)), "big": 2 ** 80, "neg": -70000, "inf": -math.inf, "n": 2 ** 31,
    }


def test_autodiff_writes_what_torch_reads():
    obj = _ad_objects()
    back = _torch_load(_ad_bytes(obj))
    assert list(back) == list(obj)
    for k, v in obj.items():
        t = back[k]
        if isinstance(v, ad.Tensor):
            assert str(t.dtype).removeprefix("torch.") == v.dtype.name and tuple(t.shape) == v.shape
            assert t.stride() == v.stride() and t.requires_grad == v.requires_grad
            assert isinstance(t, torch.nn.Parameter) == isinstance(v, nn.Parameter)
            np.testing.assert_array_equal(t.detach().numpy(), v.detach().numpy())
        elif k != "od":
            assert t == v and type(t) is type(v), k
    assert type(back["od"]) is OrderedDict and back["od"]["z"] == 1 and back["od"]["a"].shape == (1,)
    assert back["same"] is back["f64"]
    shared = back["f64"].untyped_storage().data_ptr()
    assert back["view"].untyped_storage().data_ptr() == shared == back["slice"].untyped_storage().data_ptr()


def test_round_trips_both_ways():
    obj = _ad_objects()
    again = _ad_load(_ad_bytes(obj))  # autodiff -> torch format -> autodiff
    for k, v in obj.items():
        if isinstance(v, ad.Tensor):
            _same(again[k], _torch_load(_ad_bytes(v)))
            assert type(again[k]) is type(v) and again[k].stride() == v.stride()
        else:
            assert type(again[k]) is type(v)
    assert np.shares_memory(again["view"].numpy(), again["f64"].numpy())
    original = {"x": torch.arange(6.0).reshape(2, 3), "p": torch.nn.Parameter(torch.ones(2)), "n": [1, "a"]}
    original["t"] = original["x"].t()
    through = _torch_load(_ad_bytes(_ad_load(_torch_bytes(original))))  # torch -> autodiff -> torch
    for k in ("x", "p", "t"):
        assert through[k].stride() == original[k].stride() and type(through[k]) is type(original[k])
        torch.testing.assert_close(through[k], original[k])
    assert through["n"] == original["n"]
    assert through["t"].untyped_storage().data_ptr() == through["x"].untyped_storage().data_ptr()


def test_unsupported_objects_refused_by_the_writer():
    with pytest.raises(TypeError, match="can only store tensors.*type object"):
        ad.save({"f": object()}, io.BytesIO(), format="torch")
    with pytest.raises(TypeError, match="dict keys must be"):
        ad.save({(1, 2): 3}, io.BytesIO(), format="torch")
    with pytest.raises(ValueError, match="format must be one of"):
        ad.save(1, io.BytesIO(), format="pickle")


def test_save_to_a_path_then_torch_load(tmp_path):
    path = tmp_path / "model.pt"
    ad.save({"w": ad.ones(2, 3)}, path, format="torch")
    assert torch.load(path, weights_only=True)["w"].shape == (2, 3)
    assert torch.load(path, weights_only=True, mmap=True)["w"].shape == (2, 3)  # needs aligned records
    assert ad.load(path)["w"].shape == (2, 3)
    with zipfile.ZipFile(path) as z:  # records aligned as torch aligns them
        assert _data_start(path.read_bytes(), z.getinfo("archive/data/0")) % 64 == 0


# ---- training continues identically -------------------------------------------------
def _torch_net():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.Tanh(), torch.nn.Linear(5, 1)).double()


def _ad_net():
    return nn.Sequential(nn.Linear(4, 5, dtype=ad.float64), nn.Tanh(), nn.Linear(5, 1, dtype=ad.float64))


_X = np.linspace(-1, 1, 32).reshape(8, 4)
_Y = np.sin(np.arange(8.0)).reshape(8, 1)


def _torch_steps(net, opt, n):
    x, y = torch.from_numpy(_X), torch.from_numpy(_Y)
    for _ in range(n):
        opt.zero_grad()
        ((net(x) - y) ** 2).mean().backward()
        opt.step()


def _ad_steps(net, opt, n):
    x, y = ad.tensor(_X), ad.tensor(_Y)
    for _ in range(n):
        opt.zero_grad()
        ((net(x) - y) ** 2).mean().backward()
        opt.step()


OPTIMIZERS = [
    (lambda ps: torch.optim.Adam(ps, lr=0.05, amsgrad=True), lambda ps: optim.Adam(ps, lr=0.05, amsgrad=True)),
    (lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
     lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True)),
]


@pytest.mark.parametrize("make_torch,make_ad", OPTIMIZERS)
def test_torch_checkpoint_resumes_in_autodiff(make_torch, make_ad):
    net = _torch_net()
    opt = make_torch(net.parameters())
    _torch_steps(net, opt, 5)
    ckpt = _torch_bytes({"model": net.state_dict(), "optim": opt.state_dict(), "epoch": 5})

    model = _ad_net()
    model_opt = make_ad(model.parameters())
    loaded = _ad_load(ckpt)
    model.load_state_dict(loaded["model"])
    model_opt.load_state_dict(loaded["optim"])
    assert loaded["epoch"] == 5
    _torch_steps(net, opt, 5)
    _ad_steps(model, model_opt, 5)
    for (name, p), (_, q) in zip(net.named_parameters(), model.named_parameters()):
        np.testing.assert_allclose(q.detach().numpy(), p.detach().numpy(), rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("make_torch,make_ad", OPTIMIZERS)
def test_autodiff_checkpoint_resumes_in_torch(make_torch, make_ad):
    net = _torch_net()
    model = _ad_net()
    model.load_state_dict({k: ad.tensor(v.detach().numpy()) for k, v in net.state_dict().items()})
    model_opt = make_ad(model.parameters())
    _ad_steps(model, model_opt, 5)
    ckpt = _ad_bytes({"model": model.state_dict(), "optim": model_opt.state_dict()})

    ref_opt = make_torch(net.parameters())  # the same 5 steps in torch, as the reference
    _torch_steps(net, ref_opt, 5)
    resumed = _torch_net()
    resumed_opt = make_torch(resumed.parameters())
    loaded = _torch_load(ckpt)
    resumed.load_state_dict(loaded["model"])
    resumed_opt.load_state_dict(loaded["optim"])
    _torch_steps(resumed, resumed_opt, 5)
    _torch_steps(net, ref_opt, 5)
    for (name, p), (_, q) in zip(net.named_parameters(), resumed.named_parameters()):
        torch.testing.assert_close(q, p, rtol=1e-10, atol=1e-12, msg=name)


# ---- files that must not load --------------------------------------------------------
class _Exploit:
    """Unpickling it would create the file at ``path``."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.mkdir, (self.path,))


class _EvalExploit:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (eval, (f"__import__('os').mkdir({self.path!r})",))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol 4")
@pytest.mark.parametrize("protocol", [2, 4])
@pytest.mark.parametrize("exploit", [_Exploit, _EvalExploit])
def test_reduce_that_runs_code_is_refused_and_not_run(tmp_path, protocol, exploit):
    marker = str(tmp_path / "pwned")
    data = _torch_bytes({"w": torch.ones(2), "x": exploit(marker)}, pickle_protocol=protocol)
    name = "posix.mkdir" if exploit is _Exploit else "builtins.eval"
    with pytest.raises(pickle.UnpicklingError, match=rf"Unsupported global: GLOBAL {name} was not an allowed"):
        _ad_load(data)
    assert not os.path.exists(marker)
    with pytest.raises(pickle.UnpicklingError):  # torch's weights_only refuses it too
        _torch_load(data)
    assert not os.path.exists(marker)


def _with_pickle(pkl):
    """A valid archive (one float32 storage) whose data.pkl is ``pkl``."""
    return _rewrite(_torch_bytes({"w": torch.ones(2)}), lambda _: pkl)


_STORAGE = b"(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x02tQ"
_REBUILD = b"ctorch._utils\n_rebuild_tensor_v2\n("


@pytest.mark.parametrize("pkl,error", [
    (b"cos\nsystem\n(X\x04\x00\x00\x00truetR.", "GLOBAL os.system"),  # protocol 0/1 GLOBAL
    (b"(cos\nsystem\nX\x04\x00\x00\x00trueo.", "GLOBAL os.system"),  # OBJ
    (b"\x80\x04\x8c\x08builtins\x8c\x04exec\x93X\x01\x00\x00\x001\x85R.",
     "GLOBAL builtins.exec"),  # STACK_GLOBAL
    (b"\x80\x02c__builtin__\ngetattr\n.", "GLOBAL builtins.getattr"),
    (b"\x80\x02ccollections\nOrderedDict\n)R}X\x08\x00\x00\x00__init__K\x01sb.", "allows only _metadata"),
    (b"\x80\x02" + _REBUILD + _STORAGE + b"K\x00K\x02\x85K\x01\x85\x89ccollections\nOrderedDict\n)RtR"
     b"}X\x05\x00\x00\x00_dataK\x01sb.", "sets the state of a TensorRecord"),  # BUILD on a tensor
    (b"\x80\x02" + _REBUILD + _STORAGE + b"K\x00K\x02\x85K\x01\x85\x89X\x01\x00\x00\x00xtR.", "backward hooks"),
    (b"\x80\x02" + _REBUILD + b"K\x01K\x00K\x02\x85K\x01\x85\x89ccollections\nOrderedDict\n)RtR.",
     "persistent storage id"),
    (b"\x80\x02(X\x03\x00\x00\x00pidK\x01tQ.", "unsupported persistent id"),
    (b"\x80\x02c__builtin__\nset\n.", "leaves a set in the loaded data"),
    (b"\x80\x02c__builtin__\nbytearray\nJ\x00\x00\x00\x40\x85R.", "bytearray is allowed only over bytes"),
    (b"\x80\x02ctorch\nFloatStorage\n.", "leaves a StorageType"),
    (b"\x80\x02]q\x00(K\x01", "malformed data.pkl|truncated"),
    (b"\x80\x02\xff.", "malformed data.pkl|invalid load key"),
])
def test_crafted_pickles_are_refused(pkl, error):
    with pytest.raises(pickle.UnpicklingError, match=error):
        _ad_load(_with_pickle(pkl))


def test_allowed_pickle_with_hand_written_tensor_loads():
    """The crafted fragments above are right: unaltered, they load to the tensor torch reads."""
    pkl = b"\x80\x02" + _REBUILD + _STORAGE + b"K\x00K\x02\x85K\x01\x85\x89ccollections\nOrderedDict\n)RtR."
    data = _with_pickle(pkl)
    np.testing.assert_array_equal(_ad_load(data).numpy(), _torch_load(data).numpy())


def test_out_of_bounds_views_and_wrong_sizes_are_refused():
    pkl = b"\x80\x02" + _REBUILD + _STORAGE + b"K\x01K\x02\x85K\x01\x85\x89ccollections\nOrderedDict\n)RtR."
    with pytest.raises(RuntimeError, match=r"needs 3 elements, but storage '0' holds 2"):
        _ad_load(_with_pickle(pkl))
    too_big = pkl.replace(b"cpuK\x02tQ", b"cpuK\x09tQ")
    with pytest.raises(RuntimeError, match="storage '0' holds 8 bytes, but the pickle describes 36"):
        _ad_load(_with_pickle(too_big))
    huge = (b"\x80\x02" + _REBUILD + _STORAGE + b"K\x00J\xff\xff\xff\x7fJ\xff\xff\xff\x7f\x86K\x00K\x00\x86"
            b"\x89ccollections\nOrderedDict\n)RtR.")  # 2**62 elements with zero strides
    with pytest.raises(RuntimeError, match="cannot be made"):
        _ad_load(_with_pickle(huge))


def _torch_file():
    return _torch_bytes({"w": torch.arange(100.0), "b": torch.ones(3, dtype=torch.int64), "n": 3})


@pytest.mark.parametrize("cut", [4, 30, 200, 600, -22, -1])
def test_truncated_torch_files_raise_runtime_error(cut):
    with pytest.raises(RuntimeError, match="truncated or corrupt"):
        _ad_load(_torch_file()[:cut])


def _data_start(raw, info):
    """Where a record's bytes start: after its local header (whose extra field pads it)."""
    name_len, extra_len = np.frombuffer(raw[info.header_offset + 26:info.header_offset + 30], "<u2")
    return info.header_offset + 30 + int(name_len) + int(extra_len)


def test_corrupt_torch_files_raise_runtime_error():
    data = _torch_file()
    archive = zipfile.ZipFile(io.BytesIO(data))
    for record in ("data.pkl", "data/0"):
        info = next(i for i in archive.infolist() if i.filename.endswith(record))
        bad = bytearray(data)
        bad[_data_start(data, info) + info.file_size // 2] ^= 0x10
        with pytest.raises(RuntimeError, match="corrupt|CRC"):
            _ad_load(bytes(bad))
    with pytest.raises(RuntimeError, match="has no record .*data/0"):
        _ad_load(_rewrite(data, drop=("data/0",)))
    with pytest.raises(RuntimeError, match="exactly one <folder>/data.pkl"):
        _ad_load(_rewrite(data, drop=("data.pkl",)))
    with pytest.raises(RuntimeError, match="legacy"):
        _ad_load(_torch_bytes({"w": torch.ones(1)}, _use_new_zipfile_serialization=False))


def test_big_endian_archives_are_byte_swapped():
    data = _torch_bytes({"w": torch.arange(4.0, dtype=torch.float64), "i": torch.tensor([1, -2])})
    archive = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in archive.infolist():
            payload = archive.read(info)
            if info.filename.endswith("/byteorder"):
                payload = b"big"
            elif "/data/" in info.filename:
                payload = np.frombuffer(payload, "<i8" if info.file_size == 16 else "<f8").byteswap().tobytes()
            dst.writestr(info.filename, payload)
    back = _ad_load(out.getvalue())
    np.testing.assert_array_equal(back["w"].numpy(), [0, 1, 2, 3])
    np.testing.assert_array_equal(back["i"].numpy(), [1, -2])


def test_load_never_imports_torch(tmp_path):
    path = tmp_path / "ckpt.pt"
    torch.save({"w": torch.arange(3.0)}, path)
    code = ("import sys; sys.modules['torch'] = None\n"  # any import of torch now fails
            "import autodiff as ad\n"
            f"w = ad.load({str(path)!r})['w']\n"
            f"ad.save({{'w': w}}, {str(tmp_path / 'back.pt')!r}, format='torch')\n"
            "print(w.tolist())")
    env = dict(os.environ, PYTHONPATH=os.getcwd() + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[0.0, 1.0, 2.0]"
    torch.testing.assert_close(torch.load(tmp_path / "back.pt", weights_only=True)["w"], torch.arange(3.0))


def test_benchmark_script_runs(capsys):
    from benchmarks.serialization_interop import main

    main(["--mb", "4", "--repeat", "1"])
    out = capsys.readouterr().out
    assert "load .pt" in out and "autodiff's own format" in out
