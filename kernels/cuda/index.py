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
