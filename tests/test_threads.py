"""torch's thread-count functions: the CPU kernels' thread count, torch's errors, the
inter-op count set once."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from numba.core import config

import autodiff as ad
from autodiff import threads


@pytest.fixture
def restore_threads():
    before = ad.get_num_threads()
    yield
    ad.set_num_threads(before)


def test_set_and_get_the_kernels_thread_count(restore_threads):
    ad.set_num_threads(1)
    assert ad.get_num_threads() == 1
    x = ad.from_numpy(np.arange(1 << 18, dtype=np.float32))
    assert float((x * 2).sum()) == float(np.arange(1 << 18, dtype=np.float64).sum() * 2)  # kernels still run
    ad.set_num_threads(config.NUMBA_NUM_THREADS + 8)  # more than the pool: clamped to it
    assert ad.get_num_threads() == config.NUMBA_NUM_THREADS


@pytest.mark.parametrize("value", [0, -1, 2.5, "a"])
def test_bad_counts_raise_torchs_errors(value, restore_threads):
    with pytest.raises(RuntimeError) as theirs:
        torch.set_num_threads(value)
    with pytest.raises(RuntimeError) as ours:
        ad.set_num_threads(value)
    assert str(ours.value) == str(theirs.value)


def test_interop_threads_are_set_once(monkeypatch):
    monkeypatch.setitem(threads._interop, "threads", None)
    assert ad.get_num_interop_threads() >= 1
    with pytest.raises(RuntimeError, match="positive integer"):
        ad.set_num_interop_threads(0)
    ad.set_num_interop_threads(3)
    assert ad.get_num_interop_threads() == 3
    with pytest.raises(RuntimeError, match="cannot set number of interop threads"):
        ad.set_num_interop_threads(2)
