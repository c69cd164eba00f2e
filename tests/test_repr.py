"""Tensor and Module reprs, character for character as torch prints them."""

import numpy as np
import pytest
import torch

import autodiff as ad


def _same(ours, theirs):
    assert repr(ours) == repr(theirs).replace("torch.", "autodiff."), repr(theirs)


@pytest.mark.parametrize("values", [
    [0.0, 10.0], [0.0, -0.0], [float("nan")], [0.0, 0.5, float("-inf")], [0.0, 1e-6, float("nan")],
    [[0.0, 123.0], [float("inf"), -1.0]], [float("nan"), float("inf"), 1.0], [1e10, 1.0], [123456.789, 0.001],
])
def test_special_values_and_widths(values):
    _same(ad.tensor(values), torch.tensor(values))


@pytest.mark.parametrize("shape", [(1001,), (40, 50), (2, 3, 200), (10, 300), (7, 7, 7, 7)])
def test_large_tensors_are_summarised_as_torch(shape):
    a = (np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape) - 500) / 7
    _same(ad.from_numpy(a), torch.from_numpy(a))
    ints = np.arange(int(np.prod(shape))).reshape(shape)
    _same(ad.from_numpy(ints), torch.from_numpy(ints))


def test_module_reprs_match_torch():
    def build(nn):
        return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.2),
                             nn.Flatten(), nn.Linear(64, 10), nn.BatchNorm1d(10),
                             nn.ModuleList([nn.Tanh(), nn.Linear(2, 2, bias=False)]))
    assert repr(build(ad.nn)) == repr(build(torch.nn))


def test_parameter_and_grad_suffixes():
    values = [[1.5, -2.0], [0.25, 4.0]]
    _same(ad.nn.Parameter(ad.tensor(values)), torch.nn.Parameter(torch.tensor(values)))
    x, tx = ad.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
    _same((x * 2).sum(), (tx * 2).sum())
    _same(x.double() * 3.3333333, tx.double() * 3.3333333)
