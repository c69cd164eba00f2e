"""CUDA kernels that move elements by index, over ``kernels.cpu.index``'s (A, K, B) layout.

``K`` is the indexed dimension, ``A`` the product of the dimensions before it, ``B`` of
those after. One thread per element of the iterated operand (grid-stride). Where indices
may repeat, accumulation is ``cuda.atomic.add``; the summation order then varies from
run to run, as in torch's CUDA kernels. For ``scatter`` with repeated indices, which
write lands is unspecified (as torch says). Embedding is ``index_select`` of a
(1, V, D) weight by the token ids; its backward is ``index_add`` into a zeroed gradient.

No bounds checks run on the device: the caller validates every index array (and wraps
negative indices) before launching, so an out-of-range index is an IndexError, never a
wrong read.
"""

from __future__ import annotations

from numba import cuda

from . import launch


@cuda.jit(cache=True)
def index_select_k(src, idx, out):
    """``out[a, j, b] = src[a, idx[j], b]``."""
    A, n, B = out.shape
    for e in range(cuda.grid(1), A * n * B, cuda.gridsize(1)):
        a = e // (n * B)
        j = e // B - a * n
        b = e - (a * n + j) * B
        out[a, j, b] = src[a, idx[j], b]


@cuda.jit(cache=True)
def index_add_k(out, idx, src):
    """``out[a, idx[j], b] += src[a, j, b]``, atomically (repeated indices accumulate)."""
    A, n, B = src.shape
    for e in range(cuda.grid(1), A * n * B, cuda.gridsize(1)):
        a = e // (n * B)
        j = e // B - a * n
        b = e - (a * n + j) * B
        cuda.atomic.add(out, (a, idx[j], b), src[a, j, b])


@cuda.jit(cache=True)
def gather_k(src, idx, out):
    """``out[a, j, b] = src[a, idx[a, j, b], b]``."""
    A, n, B = out.shape
    for e in range(cuda.grid(1), A * n * B, cuda.gridsize(1)):
        a = e // (n * B)
        j = e // B - a * n
        b = e - (a * n + j) * B
        out[a, j, b] = src[a, idx[a, j, b], b]


@cuda.jit(cache=True)
def scatter_k(out, idx, src):
    """``out[a, idx[a, j, b], b] = src[a, j, b]``."""
    A, n, B = idx.shape
    for e in range(cuda.grid(1), A * n * B, cuda.gridsize(1)):
        a = e // (n * B)
        j = e // B - a * n
        b = e - (a * n + j) * B
        out[a, idx[a, j, b], b] = src[a, j, b]


@cuda.jit(cache=True)
def scatter_add_k(out, idx, src):
    """``out[a, idx[a, j, b], b] += src[a, j, b]``, atomically."""
    A, n, B = idx.shape
    for e in range(cuda.grid(1), A * n * B, cuda.gridsize(1)):
        a = e // (n * B)
        j = e // B - a * n
        b = e - (a * n + j) * B
        cuda.atomic.add(out, (a, idx[a, j, b], b), src[a, j, b])


@cuda.jit(cache=True)
def index_copy_k(out, idx, src):
    """``out[a, idx[j], b] = src[a, j, b]`` (which write lands for a repeated index is unspecified)."""
    A, n, B = src.shape
    for e in range(cuda.grid(1), A * n * B, cuda.gridsize(1)):
        a = e // (n * B)
        j = e // B - a * n
        b = e - (a * n + j) * B
        out[a, idx[j], b] = src[a, j, b]


@cuda.jit(cache=True)
def strided_add_k(storage, offset, shape, strides, src):
    """``storage[offset + sum_d k_d * strides[d]] += src[i]`` for the C-order coordinates
    ``k`` of flat position ``i`` in ``shape``; atomically (windows may overlap)."""
    for i in range(cuda.grid(1), src.shape[0], cuda.gridsize(1)):
        r = i
        pos = offset
        for d in range(len(shape) - 1, -1, -1):
            k = r % shape[d]
            r //= shape[d]
            pos += k * strides[d]
        cuda.atomic.add(storage, pos, src[i])


@cuda.jit(cache=True)
def min_max_k(idx, out):
    """``out[0] = min(out[0], idx)``, ``out[1] = max(out[1], idx)`` over flat ``idx``."""
    for i in range(cuda.grid(1), idx.shape[0], cuda.gridsize(1)):
        cuda.atomic.min(out, 0, idx[i])
        cuda.atomic.max(out, 1, idx[i])


@cuda.jit(cache=True)
def wrap_k(idx, size, out):
    """``out[i] = idx[i] + size`` where negative, else ``idx[i]`` (indices checked in ``[-size, size)``)."""
    for i in range(cuda.grid(1), idx.shape[0], cuda.gridsize(1)):
        v = idx[i]
        out[i] = v + size if v < 0 else v


# ---- stream compaction by a mask (masked_select, masked_scatter, nonzero) ----------------
# Flat positions are cut into ``chunks`` runs of ``chunk`` (one thread each): a thread counts
# its run's non-zeros, one thread turns the counts into starting offsets (an exclusive
# scan over a few thousand counts), then each thread walks its run again and moves the
# selected elements to their offsets, so the output keeps the input order.

COMPACT_CHUNKS = 4096  # runs at most: the sequential scan over their counts stays short


@cuda.jit(cache=True)
def run_counts_k(mask, chunk, counts):
    """``counts[t]`` = how many of ``mask[t*chunk : (t+1)*chunk]`` are not zero."""
    n = mask.shape[0]
    for t in range(cuda.grid(1), counts.shape[0], cuda.gridsize(1)):
        c = 0
        for i in range(t * chunk, min((t + 1) * chunk, n)):
            if mask[i] != 0:
                c += 1
        counts[t] = c


@cuda.jit(cache=True)
def exclusive_scan_k(counts, total):
    """``counts`` -> their exclusive prefix sums, in place; ``total[0]`` = the sum (one thread)."""
    if cuda.grid(1) == 0:
        acc = 0
        for t in range(counts.shape[0]):
            c = counts[t]
            counts[t] = acc
            acc += c
        total[0] = acc


@cuda.jit(cache=True)
def masked_k(scatter, mask, chunk, offsets, src, out):
    """Per run, in order, the k-th selected flat position ``i``: ``out[k] = src[i]``
    (masked_select) or, with ``scatter``, ``out[i] = src[k]`` (masked_scatter)."""
    n = mask.shape[0]
    for t in range(cuda.grid(1), offsets.shape[0], cuda.gridsize(1)):
        k = offsets[t]
        for i in range(t * chunk, min((t + 1) * chunk, n)):
            if mask[i] != 0:
                if scatter:
                    out[i] = src[k]
                else:
                    out[k] = src[i]
                k += 1


@cuda.jit(cache=True)
def nonzero_k(mask, chunk, offsets, shape, out):
    """``out[k]`` = the multi-index in ``shape`` of the k-th non-zero flat position (``out``
    (count, ndim) int64)."""
    n = mask.shape[0]
    for t in range(cuda.grid(1), offsets.shape[0], cuda.gridsize(1)):
        k = offsets[t]
        for i in range(t * chunk, min((t + 1) * chunk, n)):
            if mask[i] != 0:
                rest = i
                for d in range(shape.shape[0] - 1, -1, -1):
                    out[k, d] = rest % shape[d]
                    rest //= shape[d]
                k += 1


def compact_runs(n: int) -> tuple[int, int]:
    """(runs, positions per run) of the compaction over ``n`` flat positions."""
    chunk = max(1, -(-n // COMPACT_CHUNKS))
    return max(1, -(-n // chunk)), chunk


def run_offsets(mask, counts, total) -> int:
    """Fill ``counts`` (``compact_runs(mask.size)[0]`` int64) with the runs' starting offsets
    and ``total`` (1 int64) with the number of non-zeros; returns the run length."""
    chunk = compact_runs(mask.shape[0])[1]
    run_counts_k[launch.grid(counts.shape[0])](mask, chunk, counts)
    exclusive_scan_k[1, 1](counts, total)
    return chunk


def masked(scatter: bool, mask, chunk: int, offsets, src, out) -> None:
    masked_k[launch.grid(offsets.shape[0])](scatter, mask, chunk, offsets, src, out)


def nonzero(mask, chunk: int, offsets, shape, out) -> None:
    nonzero_k[launch.grid(offsets.shape[0])](mask, chunk, offsets, shape, out)


def _launch(kernel, first, second, third, n: int) -> None:
    blocks, threads = launch.grid(n)
    kernel[blocks, threads](first, second, third)


def index_select(src, idx, out) -> None:
    _launch(index_select_k, src, idx, out, out.size)


def index_add(out, idx, src) -> None:
    _launch(index_add_k, out, idx, src, src.size)


def index_copy(out, idx, src) -> None:
    _launch(index_copy_k, out, idx, src, src.size)


def strided_add(storage, offset: int, shape: tuple, strides: tuple, src) -> None:
    """Add flat ``src`` into the 1-D ``storage`` at the strided window (element counts)."""
    blocks, threads = launch.grid(src.shape[0])
    strided_add_k[blocks, threads](storage, offset, shape, strides, src)


def min_max(idx, out) -> None:
    """Fold flat int64 ``idx`` into ``out`` (2 int64: preset to (int64 max, int64 min))."""
    blocks, threads = launch.grid(idx.shape[0])
    min_max_k[blocks, threads](idx, out)


def wrap(idx, size: int, out) -> None:
    blocks, threads = launch.grid(idx.shape[0])
    wrap_k[blocks, threads](idx, size, out)


def gather(src, idx, out) -> None:
    _launch(gather_k, src, idx, out, out.size)


def scatter(out, idx, src) -> None:
    _launch(scatter_k, out, idx, src, idx.size)


def scatter_add(out, idx, src) -> None:
    _launch(scatter_add_k, out, idx, src, idx.size)


KERNELS = {"index_select": index_select_k, "index_add": index_add_k, "gather": gather_k,
           "scatter": scatter_k, "scatter_add": scatter_add_k, "index_copy": index_copy_k}
