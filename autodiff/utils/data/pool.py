"""The main-process side of ``DataLoader(num_workers > 0)``: a pool of worker processes.

Workers are started from a ``forkserver`` context that has imported autodiff (unless the
loader names another context): forking the main process after its OpenMP thread pool
has run is unsafe, and a fresh server's forks are both safe and quick. Datasets, collate
functions and ``worker_init_fn`` must therefore pickle, as with torch on macOS/Windows.

Map-style datasets: batches of indices go to the workers round-robin, at most
``prefetch_factor * num_workers`` outstanding; results are put back in sampler order.
Iterable datasets: every worker iterates its own copy (shard with ``get_worker_info``);
batches are taken from the workers in turn until all are exhausted.

Nothing waits forever: each wait polls the workers, so a worker that dies raises
RuntimeError naming its pid and exit code, and ``timeout > 0`` bounds every batch. The
workers are stopped (and, if they do not exit, terminated) when an epoch ends, on an
error, and when the loader is garbage-collected; ``persistent_workers=True`` keeps
them from one epoch to the next.
"""

from __future__ import annotations

import multiprocessing as mp
import queue
import time
from typing import Any, Callable

from .worker import ExceptionWrapper, _IterableEnd, worker_loop

_POLL = 1.0  # seconds between liveness checks while waiting for a batch
_JOIN = 5.0  # seconds a stopping worker gets before it is terminated


def _context(spec: Any):
    if spec is None:
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["autodiff"])
        return ctx
    return mp.get_context(spec) if isinstance(spec, str) else spec


class WorkerPool:
    """Worker processes for one DataLoader, started lazily and reused across epochs if persistent."""

    def __init__(self, loader, fetch: Callable) -> None:
        from ...random import rng

        self.loader = loader
        n = loader.num_workers
        ctx = _context(loader.multiprocessing_context)
        base_seed = int(rng(loader.generator).integers(0, 2 ** 62))
        self.result_queue = ctx.Queue()
        self.index_queues = [ctx.Queue() for _ in range(n)]
        self.workers = []
        for i in range(n):
            w = ctx.Process(target=worker_loop, daemon=True,
                            args=(loader.dataset, fetch, self.index_queues[i], self.result_queue, i, n,
                                  base_seed + i, loader.worker_init_fn))
            w.start()
            self.workers.append(w)
        self.epoch = 0
        self.closed = False

    # ---- waiting ------------------------------------------------------------------------------
    def _get(self) -> tuple:
        """The next result from any worker, raising if one died or the loader's timeout passed."""
        timeout = self.loader.timeout
        start = time.monotonic()
        while True:
            wait = _POLL if timeout <= 0 else min(_POLL, max(0.0, timeout - (time.monotonic() - start)))
            try:
                item = self.result_queue.get(timeout=wait)
            except queue.Empty:
                dead = [w for w in self.workers if not w.is_alive()]
                if dead:
                    self.shutdown()
                    raise RuntimeError("DataLoader worker (pid(s) "
                                       + ", ".join(str(w.pid) for w in dead) + ") exited unexpectedly "
                                       + "(exit code(s) " + ", ".join(str(w.exitcode) for w in dead) + ")")
                if timeout > 0 and time.monotonic() - start >= timeout:
                    self.shutdown()
                    raise RuntimeError(f"DataLoader timed out after {timeout} seconds")
                continue
            worker_id, epoch, idx, data = item
            if isinstance(data, ExceptionWrapper) and epoch == -1:  # worker_init_fn failed
                self.shutdown()
                data.reraise()
            if epoch == self.epoch:
                return worker_id, idx, data

    def _check(self, data: Any) -> Any:
        if isinstance(data, ExceptionWrapper):
            self.shutdown()
            data.reraise()
        return data

    # ---- epochs -------------------------------------------------------------------------------
    def map_epoch(self, batches) -> Any:
        """Yield the collated batches of the index lists in ``batches``, in order."""
        self.epoch += 1
        n = len(self.workers)
        todo = iter(batches)
        sent = received = 0
        buffer: dict[int, Any] = {}
        exhausted = False

        def send() -> bool:
            nonlocal sent
            try:
                indices = next(todo)
            except StopIteration:
                return False
            self.index_queues[sent % n].put((self.epoch, sent, indices))
            sent += 1
            return True

        for _ in range(self.loader.prefetch_factor * n):
            if not send():
                exhausted = True
                break
        while received < sent:
            while received not in buffer:
                _, idx, data = self._get()
                buffer[idx] = data
            data = self._check(buffer.pop(received))
            received += 1
            if not exhausted:
                exhausted = not send()
            yield data

    def iterable_epoch(self) -> Any:
        """Yield the batches every worker's copy of the IterableDataset produces, in turn."""
        self.epoch += 1
        for q in self.index_queues:
            q.put((self.epoch, "iterate"))
        live = list(range(len(self.workers)))
        pending: dict[int, list] = {w: [] for w in live}
        turn = 0
        while live:
            w = live[turn % len(live)]
            while not pending[w]:
                worker_id, _, data = self._get()
                pending[worker_id].append(data)
            data = pending[w].pop(0)
            if isinstance(data, _IterableEnd):
                live.remove(w)
                continue
            turn += 1
            yield self._check(data)

    # ---- shutdown -----------------------------------------------------------------------------
    def shutdown(self) -> None:
        if self.closed:
            return
        self.closed = True
        for q in self.index_queues:
            try:
                q.put(None)
            except (OSError, ValueError):
                pass
        deadline = time.monotonic() + _JOIN
        for w in self.workers:
            w.join(max(0.0, deadline - time.monotonic()))
            if w.is_alive():
                w.terminate()
                w.join(1.0)
        for q in self.index_queues + [self.result_queue]:
            q.cancel_join_thread()
            q.close()

    def __del__(self) -> None:
        try:
            self.shutdown()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass
