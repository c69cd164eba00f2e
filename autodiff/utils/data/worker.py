"""What runs inside a DataLoader worker process: seeding, ``get_worker_info`` and the loop.

A worker is seeded as torch seeds one (``base_seed + worker_id`` for autodiff's and
Python's generators, a state derived from it for NumPy's), then runs
``worker_init_fn(worker_id)`` and serves commands from its index queue:

* ``(epoch, send_idx, indices)`` — fetch and collate those samples (map-style datasets);
* ``(epoch, "iterate")`` — (re)start iterating its copy of an IterableDataset, sending
  batches until it is exhausted, then an end marker;
* ``None`` — exit.

Results go to the shared result queue as ``(worker_id, epoch, send_idx, data)``; an
exception travels as an ``ExceptionWrapper`` and is re-raised in the main process.
"""

from __future__ import annotations

import random
import traceback
from dataclasses import dataclass
from typing import Any

import numpy as np

_worker_info: "WorkerInfo | None" = None


@dataclass(frozen=True)
class WorkerInfo:
    """Returned by ``get_worker_info()`` inside a worker: which worker this is, of how many."""

    id: int
    num_workers: int
    seed: int
    dataset: Any


def get_worker_info() -> WorkerInfo | None:
    """This worker's ``WorkerInfo``, or None in the main process."""
    return _worker_info


class ExceptionWrapper:
    """An exception raised in a worker, carried to the main process with its traceback."""

    def __init__(self, exc: BaseException, where: str) -> None:
        self.exc_type = type(exc)
        self.msg = f"Caught {type(exc).__name__} {where}.\nOriginal {''.join(traceback.format_exception(exc))}"

    def reraise(self) -> None:
        try:
            exc = self.exc_type(self.msg)
        except Exception:  # noqa: BLE001 - an exception type that needs other arguments
            exc = RuntimeError(self.msg)
        raise exc


class _IterableEnd:
    """Sent when a worker's copy of an IterableDataset is exhausted."""


def _seed(seed: int) -> None:
    from ...random import manual_seed

    manual_seed(seed)
    random.seed(seed)
    np.random.seed(np.random.SeedSequence([seed]).generate_state(1)[0])


def worker_loop(dataset, fetch, index_queue, result_queue, worker_id: int, num_workers: int, seed: int,
                worker_init_fn) -> None:
    """The body of a worker process (``fetch(dataset, indices)`` or, for iterable datasets,
    ``fetch(dataset, None)`` returning a batch iterator)."""
    global _worker_info
    _seed(seed)
    _worker_info = WorkerInfo(worker_id, num_workers, seed, dataset)
    try:
        if worker_init_fn is not None:
            worker_init_fn(worker_id)
    except Exception as exc:  # noqa: BLE001 - reported to the main process
        result_queue.put((worker_id, -1, None, ExceptionWrapper(exc, f"in DataLoader worker process {worker_id}")))
        return
    while True:
        try:
            task = index_queue.get()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        if task is None:
            return
        epoch = task[0]
        where = f"in DataLoader worker process {worker_id}"
        if task[1] == "iterate":
            try:
                for i, batch in enumerate(fetch(dataset, None)):
                    result_queue.put((worker_id, epoch, i, batch))
                result_queue.put((worker_id, epoch, None, _IterableEnd()))
            except Exception as exc:  # noqa: BLE001
                result_queue.put((worker_id, epoch, None, ExceptionWrapper(exc, where)))
            continue
        _, send_idx, indices = task
        try:
            data = fetch(dataset, indices)
        except Exception as exc:  # noqa: BLE001
            data = ExceptionWrapper(exc, where)
        result_queue.put((worker_id, epoch, send_idx, data))
