"""``DataLoader``: batches from a dataset, in order or shuffled, in the calling process or
in worker processes (``num_workers > 0``, see ``pool``)."""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator

from ...random import Generator
from .collate import default_collate, default_convert
from .dataset import Dataset, IterableDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler


class _Fetcher:
    """Fetch and collate one batch (or, for an IterableDataset, iterate batches): the part
    of loading that runs in a worker, so it must pickle."""

    def __init__(self, collate_fn: Callable, auto_collation: bool, batch_size: int | None,
                 drop_last: bool) -> None:
        self.collate_fn, self.auto_collation = collate_fn, auto_collation
        self.batch_size, self.drop_last = batch_size, drop_last

    def __call__(self, dataset, indices):
        if indices is None:
            return _stream(dataset, self.batch_size, self.drop_last, self.collate_fn)
        if self.auto_collation:
            return self.collate_fn([dataset[i] for i in indices])
        return self.collate_fn(dataset[indices])


def _stream(dataset, batch_size: int | None, drop_last: bool, collate_fn: Callable) -> Iterator[Any]:
    """The batches of an IterableDataset."""
    if batch_size is None:
        for sample in dataset:
            yield collate_fn(sample)
        return
    batch: list = []
    for sample in dataset:
        batch.append(sample)
        if len(batch) == batch_size:
            yield collate_fn(batch)
            batch = []
    if batch and not drop_last:
        yield collate_fn(batch)


class DataLoader:
    """As ``torch.utils.data.DataLoader``. ``shuffle=True`` draws a new permutation each
    epoch from ``generator`` (or from autodiff's global generator), so a seed reproduces
    the order. ``num_workers > 0`` loads in worker processes (``pool.WorkerPool``: seeded
    like torch's, ``worker_init_fn``, ``prefetch_factor``, ``persistent_workers``,
    ``timeout``). ``pin_memory`` is accepted and does nothing: there is no device memory
    to pin for.
    """

    def __init__(self, dataset: Dataset, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler: Sampler | Iterable | None = None, batch_sampler: Sampler | Iterable | None = None,
                 num_workers: int = 0, collate_fn: Callable[[list], Any] | None = None,
                 pin_memory: bool = False, drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: Callable | None = None, multiprocessing_context: Any = None,
                 generator: Generator | None = None, *, prefetch_factor: int | None = None,
                 persistent_workers: bool = False) -> None:
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable "
                             "multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing.let "
                             "num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor to None.")
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        if prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        self.prefetch_factor = prefetch_factor
        self.persistent_workers = persistent_workers
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self._pool = None
        self.dataset = dataset
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.timeout = timeout
        self.generator = generator
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle not in (None, False):
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle option, "
                                 f"but got shuffle={shuffle}")
            if sampler is not None or batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified sampler and "
                                 "batch_sampler options")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, "
                                 "sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive "
                             "with drop_last")
        if sampler is None and not self._iterable:
            sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None and not self._iterable:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self._auto_collation = batch_sampler is not None or (self._iterable and batch_size is not None)
        self.collate_fn = collate_fn or (default_collate if self._auto_collation else default_convert)

    def __iter__(self) -> Iterator[Any]:
        if self.num_workers > 0:
            yield from self._iterate_workers()
        elif self._iterable:
            yield from _stream(self.dataset, self.batch_size, self.drop_last, self.collate_fn)
        elif self.batch_sampler is not None:
            for indices in self.batch_sampler:
                yield self.collate_fn([self.dataset[i] for i in indices])
        else:
            for i in self.sampler:
                yield self.collate_fn(self.dataset[i])

    def _iterate_workers(self) -> Iterator[Any]:
        from .pool import WorkerPool

        pool = self._pool
        if pool is None or pool.closed:
            fetch = _Fetcher(self.collate_fn, self._auto_collation, self.batch_size, self.drop_last)
            pool = WorkerPool(self, fetch)
            if self.persistent_workers:
                self._pool = pool
        try:
            if self._iterable:
                yield from pool.iterable_epoch()
            else:
                yield from pool.map_epoch(self.batch_sampler if self.batch_sampler is not None else self.sampler)
        finally:
            if not self.persistent_workers:
                pool.shutdown()

    def __len__(self) -> int:
        if self._iterable:
            n = len(self.dataset)  # type: ignore[arg-type]
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return len(self.batch_sampler if self.batch_sampler is not None else self.sampler)
