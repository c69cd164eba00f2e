"""Output layouts: the strides torch gives a new result, computed from metadata only.

An elementwise result follows its operands' layout, by torch's TensorIterator rule: when
every operand has the result's shape and all are dense, non-overlapping and share one
set of strides, the result takes those strides; otherwise the dimensions are ordered by
the operands' strides (the first operand whose strides decide a pair of dimensions wins;
broadcast dimensions decide nothing) and the result is dense in that order. So
``x.t() * 2`` is transposed like ``x.t()``, and a later ``reshape`` of it copies exactly
when torch's does. Strides here are in elements; ``None`` means C-contiguous. Backends
allocate with ``empty_strided(shape, strides, dtype)``.
"""

from __future__ import annotations

from typing import Sequence


def contiguous_strides(shape: Sequence[int]) -> tuple:
    """C-order strides in elements (size-0 and size-1 dims count as 1, as torch)."""
    strides, step = [], 1
    for n in reversed(shape):
        strides.append(step)
        step *= max(n, 1)
    return tuple(reversed(strides))


def element_strides(array) -> tuple:
    it = array.itemsize
    return tuple(s // it for s in array.strides)


def is_non_overlapping_and_dense(shape: Sequence[int], strides: Sequence[int]) -> bool:
    """Whether the elements fill a block of memory exactly once (in some order of the dims)."""
    step = 1
    for st, n in sorted((st, n) for st, n in zip(strides, shape) if n != 1):
        if st != step:
            return False
        step *= n
    return True


def _stride_order(shape: tuple, operand_strides: list) -> list:
    """The dims from fastest to slowest, by torch's insertion sort with ambiguous comparisons."""
    ndim = len(shape)

    def should_swap(d0: int, d1: int) -> int:
        for strides in operand_strides:
            s0, s1 = strides[d0], strides[d1]
            if s0 == 0 or s1 == 0:
                continue
            if s0 < s1:
                return -1
            if s0 > s1:
                return 1
            if shape[d0] > shape[d1]:
                return 1
        return 0

    perm = list(range(ndim - 1, -1, -1))
    for i in range(1, ndim):
        d1 = i
        for d0 in range(i - 1, -1, -1):
            c = should_swap(perm[d0], perm[d1])
            if c > 0:
                perm[d0], perm[d1] = perm[d1], perm[d0]
                d1 = d0
            elif c < 0:
                break
    return perm


def _broadcast_strides(array, shape: tuple) -> tuple:
    """An operand's strides against the result's shape: 0 where it broadcasts."""
    lead = len(shape) - array.ndim
    it = array.itemsize
    return (0,) * lead + tuple(0 if n == 1 and shape[lead + i] != 1 else st // it
                               for i, (n, st) in enumerate(zip(array.shape, array.strides)))


def elementwise_strides(shape: tuple, operands: Sequence) -> tuple | None:
    """The strides (elements) of an elementwise result of ``shape`` from its ``operands``
    (arrays, or numbers, which count as 0-d operands); None for C-contiguous."""
    arrays = [a for a in operands if hasattr(a, "strides")]
    if len(shape) < 2:
        return None
    if all(a.flags.c_contiguous for a in arrays) and (1 not in shape or all(a.shape == shape for a in arrays)):
        return None  # (a size-1 dim of a broadcast result may still take an operand's stride)
    if len(arrays) == len(operands) and all(a.shape == shape for a in arrays):
        first = element_strides(arrays[0])
        if all(element_strides(a) == first for a in arrays[1:]) and is_non_overlapping_and_dense(shape, first):
            return first
    perm = _stride_order(shape, [_broadcast_strides(a, shape) for a in arrays])
    if perm == list(range(len(shape) - 1, -1, -1)):
        return None
    strides, step = [0] * len(shape), 1
    for d in perm:
        strides[d] = step
        step *= shape[d]
    return tuple(strides)


def preserved_strides(array) -> tuple | None:
    """The strides of a copy made with ``preserve_format``: the source's own when it is dense and
    non-overlapping, else None (C-contiguous), as torch's ``clone``/``to``."""
    if array.flags.c_contiguous:
        return None
    strides = element_strides(array)
    return strides if is_non_overlapping_and_dense(array.shape, strides) else None


def storage_size(shape: Sequence[int], strides: Sequence[int]) -> int:
    """Elements of storage a (non-negative) strided layout spans."""
    if 0 in shape:
        return 0
    return 1 + sum((n - 1) * s for n, s in zip(shape, strides))


def overlap_status(a, b, a_start: int, b_start: int) -> str:
    """torch's ``get_overlap_status`` of two non-empty arrays that may share memory, given the
    addresses (any common origin, in bytes) of their first elements: ``"full"``, ``"partial"``,
    ``"none"``, or ``"too_hard"`` when either is not dense."""
    if not (is_non_overlapping_and_dense(a.shape, element_strides(a))
            and is_non_overlapping_and_dense(b.shape, element_strides(b))):
        return "too_hard"
    a_end, b_end = a_start + a.nbytes, b_start + b.nbytes
    if a_start == b_start and a_end == b_end:
        # torch compares the strides as lists: other dims are a partial overlap
        return "full" if a.strides == b.strides or (a.size == 1 and a.ndim == b.ndim) else "partial"
    return "partial" if a_start < b_end and b_start < a_end else "none"
