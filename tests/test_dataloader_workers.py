"""DataLoader(num_workers > 0): order, seeding, worker info, persistence, errors, cleanup."""

import os
import time

import numpy as np
import pytest
import torch

import autodiff as ad
from autodiff.utils import data as D
from workers_datasets import Failing, Range, Squares, WhoAmI, init_fn

TData = torch.utils.data


def _flat(batches):
    return [[np.asarray(x).tolist() for x in b] if isinstance(b, (list, tuple)) else np.asarray(b).tolist()
            for b in batches]


@pytest.mark.parametrize("kwargs", [dict(batch_size=3), dict(batch_size=4, shuffle=True, drop_last=True),
                                    dict(batch_size=None)])
def test_map_style_batches_match_main_process_and_torch(kwargs):
    ds = Squares(11)
    ad.manual_seed(5)
    ours = _flat(D.DataLoader(ds, num_workers=2, prefetch_factor=1, **kwargs))
    if kwargs.get("shuffle"):  # reproducible, and the same batches as in-process, as a permutation
        ad.manual_seed(5)
        assert _flat(D.DataLoader(ds, num_workers=2, **kwargs)) == ours
        flat = sorted(i for b in ours for i in b[1])
        assert len(ours) == 2 and len(set(flat)) == 8 and set(flat) <= set(range(11))
    else:
        assert ours == _flat(D.DataLoader(ds, num_workers=0, **kwargs))
        assert ours == _flat(TData.DataLoader(ds, num_workers=0, **kwargs))


def test_seeds_worker_info_and_init_fn():
    loader = D.DataLoader(WhoAmI(), batch_size=2, num_workers=3, worker_init_fn=init_fn)
    rows = [tuple(x.tolist() if hasattr(x, "tolist") else x for x in r) for b in loader for r in zip(*b)]
    assert [r[0] for r in rows] == list(range(12))
    by_worker = {}
    for i, wid, seed, n, pid, draw, init in rows:
        assert n == 3 and init == 100 + wid and pid != os.getpid()
        by_worker.setdefault(wid, set()).add((seed, pid))
    assert sorted(by_worker) == [0, 1, 2] and all(len(v) == 1 for v in by_worker.values())
    seeds = [next(iter(by_worker[w]))[0] for w in range(3)]
    assert seeds[1] == seeds[0] + 1 and seeds[2] == seeds[0] + 2  # base_seed + worker_id, as torch
    draws = [r[5] for r in rows]
    assert len(set(draws)) == len(draws)  # workers' generators differ
    assert D.get_worker_info() is None


class TorchRange(TData.IterableDataset):
    def __init__(self, start, end):
        self.start, self.end = start, end

    def __iter__(self):
        info = TData.get_worker_info()
        per = -(-(self.end - self.start) // info.num_workers)
        lo = self.start + info.id * per
        return iter(range(lo, min(lo + per, self.end)))


@pytest.mark.parametrize("n, batch_size", [(17, 4), (9, 2), (5, None)])
def test_iterable_dataset_sharded_like_torch(n, batch_size):
    ours = _flat(D.DataLoader(Range(3, 3 + n), batch_size=batch_size, num_workers=2))
    theirs = _flat(TData.DataLoader(TorchRange(3, 3 + n), batch_size=batch_size, num_workers=2))
    assert ours == theirs


def test_persistent_workers_survive_epochs():
    persistent = D.DataLoader(WhoAmI(), batch_size=4, num_workers=2, persistent_workers=True)
    first = {p for b in persistent for p in b[4].tolist()}
    second = {p for b in persistent for p in b[4].tolist()}
    assert first == second and len(first) == 2
    pool = persistent._pool
    assert all(w.is_alive() for w in pool.workers)
    pool.shutdown()
    assert not any(w.is_alive() for w in pool.workers)
    fresh = D.DataLoader(WhoAmI(), batch_size=4, num_workers=2)
    assert {p for b in fresh for p in b[4].tolist()} != {p for b in fresh for p in b[4].tolist()}


def test_worker_exception_is_reraised_with_its_type():
    with pytest.raises(ValueError, match="(?s)Caught ValueError in DataLoader worker process 0.*bad sample 5"):
        list(D.DataLoader(Failing("raise"), batch_size=2, num_workers=2))


def test_dead_worker_and_timeout_raise_instead_of_hanging():
    with pytest.raises(RuntimeError, match="exited unexpectedly"):
        list(D.DataLoader(Failing("exit"), batch_size=2, num_workers=2))
    loader = D.DataLoader(Failing("sleep"), batch_size=2, num_workers=2, timeout=2)
    start = time.monotonic()
    with pytest.raises(RuntimeError, match="timed out after 2 seconds"):
        list(loader)
    assert time.monotonic() - start < 25


def test_workers_are_stopped_after_an_epoch_and_on_break():
    import multiprocessing as mp
    before = {p.pid for p in mp.active_children()}
    for _ in D.DataLoader(Squares(20), batch_size=2, num_workers=2):
        pass
    it = iter(D.DataLoader(Squares(20), batch_size=2, num_workers=2))
    next(it)
    it.close()
    leftover = {p.pid for p in mp.active_children()} - before
    assert not leftover


def test_options_validated_like_torch():
    for kwargs in (dict(prefetch_factor=2), dict(persistent_workers=True), dict(timeout=-1),
                   dict(num_workers=-1)):
        with pytest.raises(ValueError) as theirs:
            TData.DataLoader(Squares(2), **kwargs)
        with pytest.raises(ValueError) as ours:
            D.DataLoader(Squares(2), **kwargs)
        assert str(ours.value).split()[0] == str(theirs.value).split()[0]
    loader = D.DataLoader(Squares(4), batch_size=2, pin_memory=True)
    assert len(list(loader)) == 2
