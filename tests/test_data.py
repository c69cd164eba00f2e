"""autodiff.utils.data against torch.utils.data: batching, collation, shuffling, splitting."""

from collections import namedtuple

import numpy as np
import pytest
import torch

import autodiff as ad
from autodiff.utils.data import (DataLoader, Dataset, IterableDataset, Subset, TensorDataset,
                                 default_collate, random_split)


def _tensors(lib, n=10):
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    y = np.arange(n)
    return (ad.tensor(x), ad.tensor(y)) if lib is ad else (torch.tensor(x), torch.tensor(y))


def _as_np(batch):
    if isinstance(batch, (list, tuple)):
        return [_as_np(b) for b in batch]
    if isinstance(batch, dict):
        return {k: _as_np(v) for k, v in batch.items()}
    return batch.numpy() if hasattr(batch, "numpy") else batch


@pytest.mark.parametrize("batch_size,drop_last", [(1, False), (3, False), (3, True), (10, False), (4, True)])
def test_sequential_batches_match_torch(batch_size, drop_last):
    ours = DataLoader(TensorDataset(*_tensors(ad)), batch_size=batch_size, drop_last=drop_last)
    theirs = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(*_tensors(torch)),
                                         batch_size=batch_size, drop_last=drop_last)
    assert len(ours) == len(theirs)
    got, want = list(ours), list(theirs)
    assert len(got) == len(want)
    for a, b in zip(got, want):
        assert isinstance(a, list) and a[0].dtype is ad.float32 and a[1].dtype is ad.int64
        for x, y in zip(_as_np(a), _as_np(b)):
            np.testing.assert_array_equal(x, y)


def test_shuffle_reproducible_with_generator_and_seed():
    ds = TensorDataset(*_tensors(ad, 20))

    def order(loader):
        return [int(v) for batch in loader for v in batch[1].tolist()]

    a = order(DataLoader(ds, batch_size=4, shuffle=True, generator=ad.Generator().manual_seed(7)))
    b = order(DataLoader(ds, batch_size=4, shuffle=True, generator=ad.Generator().manual_seed(7)))
    assert a == b and sorted(a) == list(range(20)) and a != list(range(20))
    loader = DataLoader(ds, batch_size=4, shuffle=True, generator=ad.Generator().manual_seed(7))
    assert order(loader) != order(loader)  # a new permutation each epoch
    ad.manual_seed(3)
    c = order(DataLoader(ds, batch_size=5, shuffle=True))
    ad.manual_seed(3)
    assert c == order(DataLoader(ds, batch_size=5, shuffle=True))


class _Dicts(Dataset):
    Point = namedtuple("Point", "x y")

    def __len__(self):
        return 5

    def __getitem__(self, i):
        return {"f": float(i) / 2, "i": i, "b": i % 2 == 0, "s": f"n{i}", "arr": np.full(2, i, np.float64),
                "pair": (i, [float(i), 1.0]), "pt": self.Point(i, float(i))}


def test_default_collate_matches_torch():
    samples = [_Dicts()[i] for i in range(3)]
    ours, theirs = default_collate(samples), torch.utils.data.default_collate(samples)
    assert ours.keys() == theirs.keys()
    assert ours["f"].dtype is ad.float64 and ours["i"].dtype is ad.int64 and ours["b"].dtype is ad.bool
    assert ours["s"] == theirs["s"]
    assert isinstance(ours["pair"], list) and isinstance(ours["pt"], _Dicts.Point)
    np.testing.assert_array_equal(ours["arr"].numpy(), theirs["arr"].numpy())
    for key in ("f", "i", "b"):
        np.testing.assert_array_equal(ours[key].numpy(), theirs[key].numpy())
    np.testing.assert_array_equal(ours["pair"][1][0].numpy(), theirs["pair"][1][0].numpy())
    np.testing.assert_array_equal(ours["pt"].y.numpy(), theirs["pt"].y.numpy())
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal size"):
        default_collate([[1, 2], [3]])
    with pytest.raises(TypeError, match="default_collate: batch must contain tensors"):
        default_collate([object()])
    assert default_collate([ad.tensor(1.0), ad.tensor(2.0)]).tolist() == [1.0, 2.0]


def test_unbatched_and_custom_collate():
    ds = TensorDataset(*_tensors(ad, 4))
    items = list(DataLoader(ds, batch_size=None))
    assert len(items) == 4 and items[2][1].item() == 2
    sums = list(DataLoader(ds, batch_size=2, collate_fn=lambda b: sum(int(s[1]) for s in b)))
    assert sums == [1, 5]


def test_iterable_dataset():
    class Stream(IterableDataset):
        def __iter__(self):
            return iter(range(7))

    assert [b.tolist() for b in DataLoader(Stream(), batch_size=3)] == [[0, 1, 2], [3, 4, 5], [6]]
    assert len(list(DataLoader(Stream(), batch_size=3, drop_last=True))) == 2
    with pytest.raises(ValueError, match="expected unspecified shuffle option"):
        DataLoader(Stream(), shuffle=True)


def test_loader_argument_errors():
    ds = TensorDataset(*_tensors(ad))
    with pytest.raises(ValueError, match="sampler option is mutually exclusive with shuffle"):
        DataLoader(ds, sampler=range(3), shuffle=True)
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
        DataLoader(ds, batch_sampler=[[0, 1]], batch_size=2)
    assert [b[1].tolist() for b in DataLoader(ds, batch_sampler=[[3, 1], [0]])] == [[3, 1], [0]]
    with pytest.raises(ValueError, match="batch_size should be a positive integer value"):
        DataLoader(ds, batch_size=0)
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        TensorDataset(ad.ones(3), ad.ones(4))


def test_random_split_lengths_fractions_and_reproducibility():
    ds = TensorDataset(*_tensors(ad, 10))
    a, b = random_split(ds, [7, 3], generator=ad.Generator().manual_seed(0))
    assert isinstance(a, Subset) and len(a) == 7 and len(b) == 3
    assert sorted(a.indices + b.indices) == list(range(10))
    a2, _ = random_split(ds, [7, 3], generator=ad.Generator().manual_seed(0))
    assert a.indices == a2.indices
    parts = random_split(ds, [0.33, 0.33, 0.34], generator=ad.Generator().manual_seed(1))
    torch_parts = torch.utils.data.random_split(range(10), [0.33, 0.33, 0.34])
    assert [len(p) for p in parts] == [len(p) for p in torch_parts]
    assert int(a[0][1]) == a.indices[0]
    with pytest.raises(ValueError, match="Sum of input lengths does not equal the length of the input dataset!"):
        random_split(ds, [5, 6])
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        random_split(range(2), [0.9, 0.1])
