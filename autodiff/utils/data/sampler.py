"""Samplers: the order in which a DataLoader visits a map-style dataset, and its batching."""

from __future__ import annotations

from typing import Iterable, Iterator, Sized

from ...random import Generator, default_generator, rng


class Sampler:
    """Yields dataset indices; subclasses define ``__iter__`` (and ``__len__`` when known)."""

    def __iter__(self) -> Iterator[int]:
        raise NotImplementedError


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random permutation each epoch (or ``num_samples`` draws with replacement).

    Without a ``generator``, each epoch's seed is drawn from autodiff's global generator,
    so ``autodiff.manual_seed`` makes shuffling reproducible.
    """

    def __init__(self, data_source: Sized, replacement: bool = False, num_samples: int | None = None,
                 generator: Generator | None = None) -> None:
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got replacement={replacement}")
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(self.num_samples, int) or self.num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got "
                             f"num_samples={self.num_samples}")

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        n = len(self.data_source)
        gen = self.generator
        if gen is None:
            gen = Generator().manual_seed(int(rng(default_generator).integers(0, 2 ** 63 - 1)))
        source = rng(gen)
        if self.replacement:
            return _draws(source, n, self.num_samples)
        full, rest = divmod(self.num_samples, n)
        order = [i for _ in range(full) for i in source.permutation(n).tolist()]
        return iter(order + source.permutation(n).tolist()[:rest])

    def __len__(self) -> int:
        return self.num_samples


def _draws(source, n: int, count: int) -> Iterator[int]:
    """``count`` indices uniform in [0, n), drawn 32 at a time as torch does, so that a
    practically endless sampler (``num_samples=int(1e10)``) holds no more than one chunk."""
    for start in range(0, count, 32):
        yield from source.integers(0, n, min(32, count - start)).tolist()


class BatchSampler(Sampler):
    """Groups another sampler's indices into lists of ``batch_size`` (the last one may be short)."""

    def __init__(self, sampler: Iterable[int], batch_size: int, drop_last: bool) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list[int]]:
        batch: list[int] = []
        for idx in self.sampler:
            batch.append(idx)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
