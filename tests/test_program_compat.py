"""Names and behaviours public PyTorch programs (pytorch/examples, nanoGPT, minGPT) reach
for at their top level, checked against torch: ``import torch.backends.cudnn``,
``torch.onnx``, ``torch.nn.modules.<file>.<Class>``, ``torch.cuda.amp.GradScaler``,
``randint(high, size=...)``, an endless ``RandomSampler(replacement=True)``."""

import importlib
import itertools

import numpy as np
import pytest
import torch

import autodiff as ad


def test_backend_flag_modules_import_by_name():
    cudnn = importlib.import_module("autodiff.backends.cudnn")
    assert cudnn is ad.backends.cudnn and cudnn.is_available() is False
    cudnn.benchmark = True  # accepted, no effect
    assert importlib.import_module("autodiff.backends.mps").is_available() is False


@pytest.mark.parametrize("path", ["linear.Linear", "linear.NonDynamicallyQuantizableLinear", "rnn.LSTM",
                                  "rnn.GRU", "sparse.Embedding", "dropout.Dropout", "container.ModuleList",
                                  "normalization.LayerNorm", "activation.MultiheadAttention", "conv.Conv2d",
                                  "transformer.TransformerEncoderLayer", "batchnorm.BatchNorm2d"])
def test_nn_modules_submodule_names_match_torch(path):
    sub, name = path.split(".")
    theirs = getattr(getattr(torch.nn.modules, sub), name)
    ours = getattr(importlib.import_module(f"autodiff.nn.modules.{sub}"), name)
    assert ours is getattr(getattr(ad.nn.modules, sub), name) and ours.__name__ == theirs.__name__
    assert issubclass(ours, ad.nn.Module)


def test_grad_scaler_and_autocast_without_half_precision_are_pass_through():
    with pytest.warns(UserWarning, match="Disabling"):
        scaler = ad.cuda.amp.GradScaler(enabled=True)
    assert not scaler.is_enabled() and not ad.amp.GradScaler(enabled=False).is_enabled()
    w = ad.nn.Parameter(ad.ones(2))
    opt = ad.optim.SGD([w], lr=0.5)
    loss = (w * w).sum()
    scaler.scale(loss).backward()
    scaler.step(opt)
    scaler.update()
    np.testing.assert_array_equal(w.detach().numpy(), [0.0, 0.0])
    with ad.amp.autocast(device_type="cpu", enabled=False):
        assert (w + 1).dtype is ad.float32
    with pytest.raises(NotImplementedError, match="float16"):
        ad.amp.autocast(device_type="cpu", dtype="float16")


def test_onnx_export_says_it_is_not_supported():
    with pytest.raises(NotImplementedError, match="ONNX export is not supported"):
        importlib.import_module("autodiff.onnx").export(ad.nn.Linear(2, 2), ad.ones(1, 2), "model.onnx")


def test_randint_high_and_size_form_matches_torch():
    ours, theirs = ad.randint(5, size=(3, 2)), torch.randint(5, size=(3, 2))
    assert ours.shape == tuple(theirs.shape) and ours.dtype is ad.int64
    assert int(ours.min()) >= 0 and int(ours.max()) < 5


def test_endless_sampler_with_replacement_draws_lazily():
    sampler = ad.utils.data.RandomSampler(range(7), replacement=True, num_samples=int(1e10))
    assert len(sampler) == len(torch.utils.data.RandomSampler(range(7), replacement=True, num_samples=int(1e10)))
    first = list(itertools.islice(iter(sampler), 100))
    assert len(first) == 100 and set(first) <= set(range(7))


def test_destroy_process_group_without_a_group_raises_like_torch():
    with pytest.raises(AssertionError) as theirs:
        torch.distributed.destroy_process_group()
    with pytest.raises(AssertionError) as ours:
        ad.distributed.destroy_process_group()
    assert str(ours.value) == str(theirs.value)
