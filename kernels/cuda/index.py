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


def _launch(kernel, first, second, third, n: int) -> None:
    blocks, threads = launch.grid(n)
    kernel[blocks, threads](first, second, third)


def index_select(src, idx, out) -> None:
    _launch(index_select_k, src, idx, out, out.size)


def index_add(out, idx, src) -> None:
    _launch(index_add_k, out, idx, src, src.size)


def gather(src, idx, out) -> None:
    _launch(gather_k, src, idx, out, out.size)


def scatter(out, idx, src) -> None:
    _launch(scatter_k, out, idx, src, idx.size)


def scatter_add(out, idx, src) -> None:
    _launch(scatter_add_k, out, idx, src, idx.size)


KERNELS = {"index_select": index_select_k, "index_add": index_add_k, "gather": gather_k,
           "scatter": scatter_k, "scatter_add": scatter_add_k}
