"""Sparse COO kernels on the device: the two products and the index bookkeeping.

As ``kernels.cpu.sparse`` (``rows``, ``cols``, int64 flat positions and coordinates;
duplicates allowed), the per-nonzero code of ``sddmm``, ``ravel`` and ``unravel`` from
``kernels.sparse_entries`` (the CPU kernels' own), one grid-stride thread per nonzero.

* ``spmm``: a thread per (nonzero, output column) adds its product into ``out`` (zeroed by
  the caller) with an atomic add, so repeated rows need no sorting; the order of the
  additions, and so a float sum's last bits, may differ from run to run.
* ``runs`` (the groups of equal keys in sorted data) is a compaction over the run starts:
  ``run_starts`` marks them, the caller counts them per chunk with ``kernels.cuda.index``'s
  ``run_offsets``, and ``runs`` walks each chunk in order from its offset.
"""

from __future__ import annotations

from numba import cuda

from .. import sparse_entries
from ..portable import compile_for
from . import launch

_entries = compile_for(sparse_entries.FUNCTIONS, cuda.jit(device=True, inline="always"))  # inlined: see special.py
_sampled_dot, _unravel_entry, _ravel_entry = _entries.sampled_dot, _entries.unravel_entry, _entries.ravel_entry


@cuda.jit(cache=True)
def spmm_k(rows, cols, values, dense, out):
    """out[rows[k], j] += values[k] * dense[cols[k], j] for every nonzero k and column j."""
    n = out.shape[1]
    for t in range(cuda.grid(1), rows.shape[0] * n, cuda.gridsize(1)):
        k, j = t // n, t % n
        cuda.atomic.add(out, (rows[k], j), values[k] * dense[cols[k], j])


@cuda.jit(cache=True)
def sddmm_k(rows, cols, a, b, out):
    for k in range(cuda.grid(1), rows.shape[0], cuda.gridsize(1)):
        _sampled_dot(rows, cols, a, b, out, k)


@cuda.jit(cache=True)
def unravel_k(flat_index, shape, out):
    for k in range(cuda.grid(1), flat_index.shape[0], cuda.gridsize(1)):
        _unravel_entry(flat_index, shape, out, k)


@cuda.jit(cache=True)
def ravel_k(indices, shape, out):
    for k in range(cuda.grid(1), indices.shape[1], cuda.gridsize(1)):
        _ravel_entry(indices, shape, out, k)


@cuda.jit(cache=True)
def run_starts_k(keys, starts):
    """starts[i] = whether sorted ``keys[i]`` begins a run of equal keys."""
    for i in range(cuda.grid(1), keys.shape[0], cuda.gridsize(1)):
        starts[i] = i == 0 or keys[i] != keys[i - 1]


@cuda.jit(cache=True)
def runs_k(keys, order, starts, chunk, offsets, inverse, unique_keys):
    """Per chunk of ``chunk`` positions, its first group ``offsets[t]`` on: inverse[order[i]]
    = the group of sorted position i, unique_keys[g] = group g's key."""
    n = keys.shape[0]
    for t in range(cuda.grid(1), offsets.shape[0], cuda.gridsize(1)):
        g = offsets[t] - 1
        for i in range(t * chunk, min((t + 1) * chunk, n)):
            if starts[i]:
                g += 1
                unique_keys[g] = keys[i]
            inverse[order[i]] = g


def spmm(rows, cols, values, dense, out) -> None:
    """out (m, n) += S @ dense, S the COO matrix; dense (k, n)."""
    spmm_k[launch.grid(rows.shape[0] * out.shape[1])](rows, cols, values, dense, out)


def sddmm(rows, cols, a, b, out) -> None:
    """out[k] = sum_j a[rows[k], j] * b[cols[k], j]; a (m, n), b (p, n)."""
    sddmm_k[launch.grid(rows.shape[0])](rows, cols, a, b, out)


def unravel(flat_index, shape, out) -> None:
    """out[:, k] = the C-order coordinates of flat_index[k] in an array of ``shape`` (int64 device array)."""
    unravel_k[launch.grid(flat_index.shape[0])](flat_index, shape, out)


def ravel(indices, shape, out) -> None:
    """out[k] = the C-order flat position of the coordinates indices[:, k]."""
    ravel_k[launch.grid(indices.shape[1])](indices, shape, out)


def run_starts(keys, starts) -> None:
    run_starts_k[launch.grid(keys.shape[0])](keys, starts)


def runs(keys, order, starts, chunk: int, offsets, inverse, unique_keys) -> None:
    """Group the sorted ``keys`` (``order`` the permutation that sorted them), given the run
    starts and their per-chunk offsets (``kernels.cuda.index.run_offsets`` over ``starts``)."""
    runs_k[launch.grid(offsets.shape[0])](keys, order, starts, chunk, offsets, inverse, unique_keys)


KERNELS = {"spmm": spmm_k, "sddmm": sddmm_k, "unravel": unravel_k, "ravel": ravel_k, "run_starts": run_starts_k,
           "runs": runs_k}
