"""autodiff.load / autodiff.save of .safetensors files, against safetensors.torch."""

import builtins
import io

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load as st_load_bytes
from safetensors.torch import load_file, save, save_file

import autodiff as ad

TORCH_OF = {ad.float32: torch.float32, ad.float64: torch.float64, ad.int64: torch.int64, ad.bool: torch.bool}


def _state():
    x = ad.arange(12.0, dtype=ad.float64).reshape(3, 4)
    return {"f32": ad.randn(2, 3), "f64": x, "i64": ad.tensor([1, -2 ** 62]), "bool": ad.tensor([[True, False]]),
            "view": x.t(), "slice": x[:, ::2], "same": x, "scalar": ad.tensor(3.5), "empty": ad.zeros(0, 2),
            "param": ad.nn.Parameter(ad.ones(2))}


def test_autodiff_writes_what_safetensors_torch_reads(tmp_path):
    sd = _state()
    path = tmp_path / "model.safetensors"
    ad.save(sd, path, metadata={"format": "pt", "epoch": "3"})
    back = load_file(path)
    assert set(back) == set(sd)
    for k, v in sd.items():
        assert back[k].dtype == TORCH_OF[v.dtype] and tuple(back[k].shape) == v.shape
        np.testing.assert_array_equal(back[k].numpy(), v.detach().numpy())
    with safe_open(path, framework="pt") as f:
        assert f.metadata() == {"format": "pt", "epoch": "3"}


def test_safetensors_torch_files_load():
    tensors = {"w": torch.randn(3, 4), "b": torch.arange(5, dtype=torch.float64), "i": torch.tensor([7, -1]),
               "m": torch.tensor([True, False, True]), "s": torch.tensor(2.0), "e": torch.zeros(0, 3),
               "t": torch.randn(4, 3).t().contiguous()}
    back = ad.load(io.BytesIO(save(tensors, metadata={"k": "v"})))
    assert set(back) == set(tensors)
    for k, t in tensors.items():
        assert back[k].dtype.name == str(t.dtype).removeprefix("torch.") and back[k].shape == tuple(t.shape)
        np.testing.assert_array_equal(back[k].numpy(), t.numpy())
    back["w"].add_(1)  # loaded tensors are ordinary writable tensors


def test_round_trips_both_ways(tmp_path):
    sd = _state()
    again = ad.load(_bytes(sd))
    for k, v in sd.items():
        assert again[k].dtype is v.dtype
        np.testing.assert_array_equal(again[k].numpy(), v.detach().numpy())
    assert not np.shares_memory(again["view"].numpy(), again["f64"].numpy())  # the format has no views
    torch_sd = {"w": torch.randn(2, 2), "n": torch.tensor([1, 2])}
    path = tmp_path / "t.safetensors"
    save_file(torch_sd, path)
    ad.save(ad.load(path), tmp_path / "again.safetensors")
    for k, t in load_file(tmp_path / "again.safetensors").items():
        torch.testing.assert_close(t, torch_sd[k])


def _bytes(obj, **kwargs):
    buf = io.BytesIO()
    ad.save(obj, buf, format="safetensors", **kwargs)
    buf.seek(0)
    return buf


def test_file_objects_and_metadata():
    buf = _bytes({"w": ad.ones(2)}, metadata={"a": "b"})
    assert st_load_bytes(buf.getvalue())["w"].tolist() == [1.0, 1.0]
    with pytest.raises(TypeError, match="metadata must be a dict of str to str"):
        _bytes({"w": ad.ones(2)}, metadata={"a": 1})
    with pytest.raises(ValueError, match="metadata is stored by the safetensors format only"):
        ad.save({"w": ad.ones(2)}, io.BytesIO(), metadata={"a": "b"})


def test_bad_objects_and_files(tmp_path):
    with pytest.raises(TypeError, match="stores a dict of str names to tensors.*int key 1"):
        _bytes({1: ad.ones(1)})
    with pytest.raises(TypeError, match="stores a dict of str names to tensors.*list"):
        _bytes([ad.ones(1)])
    data = _bytes({"w": ad.arange(10.0)}).getvalue()
    for bad in (data[:-3], data[:20], data[:8] + b"{" + data[9:40]):
        with pytest.raises(RuntimeError, match="not a readable safetensors file"):
            ad.load(io.BytesIO(bad))
        (tmp_path / "bad.safetensors").write_bytes(bad)  # paths go through the package's file reader
        with pytest.raises(RuntimeError, match=r"bad\.safetensors'?: not a readable safetensors file"):
            ad.load(tmp_path / "bad.safetensors")
    with pytest.raises(TypeError, match="'h' is float16, a dtype autodiff does not have"):
        ad.load(io.BytesIO(save({"h": torch.ones(2, dtype=torch.float16)})))


def test_missing_package_says_how_to_install(monkeypatch):
    real_import = builtins.__import__

    def no_safetensors(name, *args, **kwargs):
        if name == "safetensors" or name.startswith("safetensors."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_safetensors)
    with pytest.raises(ImportError, match="pip install safetensors"):
        ad.save({"w": ad.ones(1)}, io.BytesIO(), format="safetensors")
    with pytest.raises(ImportError, match="pip install safetensors"):
        ad.load(io.BytesIO(save({"w": torch.ones(1)})))
