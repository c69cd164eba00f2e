"""Datasets for tests/test_dataloader_workers.py, in a module of their own: workers unpickle
them by module name, and importing this one does not import torch (which would slow
every worker's start)."""

import os
import time

import numpy as np

import autodiff as ad
from autodiff.utils import data as D


class Squares(D.Dataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return np.float32(i * i), i


class WhoAmI(D.Dataset):
    """Each sample says which worker made it, with what seed, in which process."""

    def __len__(self):
        return 12

    def __getitem__(self, i):
        info = D.get_worker_info()
        return i, info.id, info.seed, info.num_workers, os.getpid(), ad.rand(1).item(), _INIT.get("value", -1)


_INIT = {}


def init_fn(worker_id):
    _INIT["value"] = 100 + worker_id


class Range(D.IterableDataset):
    """An iterable dataset split between workers with get_worker_info, as torch's docs do."""

    def __init__(self, start, end):
        self.start, self.end = start, end

    def __iter__(self):
        info = D.get_worker_info()
        if info is None:
            return iter(range(self.start, self.end))
        per = -(-(self.end - self.start) // info.num_workers)
        lo = self.start + info.id * per
        return iter(range(lo, min(lo + per, self.end)))


class Failing(D.Dataset):
    def __init__(self, how):
        self.how = how

    def __len__(self):
        return 8

    def __getitem__(self, i):
        if i == 5:
            if self.how == "raise":
                raise ValueError("bad sample 5")
            if self.how == "exit":
                os._exit(3)
            time.sleep(30)
        return i
