"""The dtype table: traits, and promotion against torch.promote_types for every pair."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

import autodiff as ad

DTYPES = [ad.bool, ad.uint8, ad.int8, ad.int16, ad.int32, ad.int64, ad.float32, ad.float64]


def _torch(d: ad.dtype) -> torch.dtype:
    return getattr(torch, d.name)


@pytest.mark.parametrize("a, b", list(itertools.product(DTYPES, DTYPES)), ids=str)
def test_promote_types_matches_torch(a, b):
    assert ad.promote_types(a, b).name == str(torch.promote_types(_torch(a), _torch(b))).split(".")[1]


@pytest.mark.parametrize("d", DTYPES, ids=str)
def test_traits_match_torch(d):
    t = _torch(d)
    assert d.is_floating_point == t.is_floating_point
    assert d.is_complex == t.is_complex
    assert d.is_signed == t.is_signed
    assert d.itemsize == t.itemsize
    assert ad.dtypes.is_differentiable(d) == (t.is_floating_point or t.is_complex)


@pytest.mark.parametrize("a, b", [(ad.uint8, ad.int8), (ad.int32, ad.int16), (ad.uint8, ad.float32),
                                  (ad.int32, ad.int64), (ad.bool, ad.uint8)], ids=str)
def test_new_integer_dtypes_compute_and_promote_like_torch(a, b):
    x = np.array([1, 2, 3, 4], dtype=a.np)
    y = np.array([5, 1, 0, 2], dtype=b.np)
    for op in ("add", "mul", "maximum"):
        ours = getattr(ad, op)(ad.from_numpy(x), ad.from_numpy(y))
        theirs = getattr(torch, op)(torch.from_numpy(x), torch.from_numpy(y))
        assert ours.dtype.name == str(theirs.dtype).split(".")[1]
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_scalars_keep_a_small_integer_dtype_as_torch():
    for d in (ad.uint8, ad.int8, ad.int16, ad.int32):
        ours = ad.from_numpy(np.array([1, 2], d.np)) * 3
        theirs = torch.from_numpy(np.array([1, 2], d.np)) * 3
        assert ours.dtype.name == str(theirs.dtype).split(".")[1]
        assert (ad.from_numpy(np.array([1, 2], d.np)) * 2.5).dtype is ad.float32


def test_only_floating_dtypes_require_grad():
    with pytest.raises(RuntimeError, match="only Tensors of floating point dtype can require gradients"):
        ad.from_numpy(np.ones(2, np.int32)).requires_grad_()
