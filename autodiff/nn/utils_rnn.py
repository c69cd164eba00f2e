"""``nn.utils.rnn``: ``PackedSequence``, ``pad_sequence``, ``pack_padded_sequence``,
``pad_packed_sequence``, ``pack_sequence``, as torch's.

A PackedSequence holds the time-major rows of a batch of sequences sorted by length
(longest first): ``data`` is ``(sum(lengths), *)``, ``batch_sizes[t]`` the number of
sequences still running at time ``t``. Packing and unpacking are one ``index_select``
each (differentiable), from an index built on the lengths.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import factories
from ..ops.joining import cat, stack
from ..tensor import Tensor


class PackedSequence(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None = None
    unsorted_indices: Tensor | None = None

    def to(self, *args, **kwargs) -> "PackedSequence":
        return self._replace(data=self.data.to(*args, **kwargs))

    def cpu(self) -> "PackedSequence":
        return self

    @property
    def is_cuda(self) -> bool:
        return False

    def is_pinned(self) -> bool:
        return False


def _lengths_array(lengths) -> np.ndarray:
    if isinstance(lengths, Tensor):
        return lengths._data.astype(np.int64).reshape(-1)
    return np.asarray(lengths, dtype=np.int64).reshape(-1)


def _sorted_order(lengths: np.ndarray) -> np.ndarray:
    return np.argsort(-lengths, kind="stable")


def _pack_index(lengths_sorted: np.ndarray, order: np.ndarray, N: int) -> tuple[np.ndarray, np.ndarray]:
    """(batch_sizes, flat index into a (T * N) time-major batch of each packed row)."""
    T = int(lengths_sorted[0]) if lengths_sorted.size else 0
    batch_sizes = np.array([(lengths_sorted > t).sum() for t in range(T)], dtype=np.int64)
    index = np.concatenate([t * N + order[:b] for t, b in enumerate(batch_sizes)]) if T else np.zeros(0, np.int64)
    return batch_sizes, index


def pack_padded_sequence(input: Tensor, lengths, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded ``(T, N, *)`` batch (``(N, T, *)`` if ``batch_first``) of the given lengths."""
    lens = _lengths_array(lengths)
    if enforce_sorted:
        if np.any(lens[1:] > lens[:-1]):
            raise RuntimeError("`lengths` array must be sorted in decreasing order when `enforce_sorted` is "
                               "True. You can pass `enforce_sorted=False` to pack_padded_sequence and/or "
                               "pack_sequence to sidestep this requirement if you do not need ONNX "
                               "exportability.")
        order = np.arange(lens.size)
    else:
        order = _sorted_order(lens)
    if lens.size and lens.min() <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element in 'lengths' "
                           "that is <= 0")
    x = input.transpose(0, 1) if batch_first else input
    T, N = x.shape[:2]
    if lens.size != N:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got {lens.size} "
                           f"(batch_size={N})")
    if lens.size and lens.max() > T:
        raise RuntimeError(f"Expected max length {int(lens.max())} to be at most the sequence length {T}")
    batch_sizes, index = _pack_index(lens[order], order, N)
    data = x.reshape(T * N, *x.shape[2:]).index_select(0, factories.tensor(index, device=x.device))
    sorted_t = unsorted_t = None
    if not enforce_sorted:  # the orders on the data's device, the batch sizes on the CPU (as torch)
        sorted_t = factories.tensor(order, device=x.device)
        unsorted_t = factories.tensor(np.argsort(order, kind="stable"), device=x.device)
    return PackedSequence(data, factories.tensor(batch_sizes), sorted_t, unsorted_t)


def packed_lengths(sequence: PackedSequence) -> tuple[np.ndarray, np.ndarray]:
    """(lengths in the original batch order, the sorted order) of a PackedSequence."""
    bs = sequence.batch_sizes._data.astype(np.int64)
    N = int(bs[0]) if bs.size else 0
    lengths_sorted = np.array([(bs > j).sum() for j in range(N)], dtype=np.int64)
    order = np.arange(N) if sequence.sorted_indices is None else sequence.sorted_indices.cpu()._data.astype(np.int64)
    lengths = np.empty(N, np.int64)
    lengths[order] = lengths_sorted
    return lengths, order


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False, padding_value: float = 0.0,
                        total_length: int | None = None) -> tuple[Tensor, Tensor]:
    """(padded batch in the original order, lengths), the inverse of pack_padded_sequence."""
    lengths, order = packed_lengths(sequence)
    N = lengths.size
    T = int(lengths.max()) if N else 0
    if total_length is not None:
        if total_length < T:
            raise ValueError(f"Expected total_length to be at least the length of the longest sequence in "
                             f"input, but got total_length={total_length} and max sequence length being {T}")
        T = total_length
    _, index = _pack_index(lengths[order], order, N)
    data = sequence.data
    rows = data.shape[0]
    pad_row = factories.full((1,) + tuple(data.shape[1:]), padding_value, dtype=data.dtype, device=data.device)
    where = np.full(T * N, rows, dtype=np.int64)
    where[index] = np.arange(rows)
    padded = cat([data, pad_row]).index_select(0, factories.tensor(where, device=data.device))
    padded = padded.reshape(T, N, *data.shape[1:])
    if batch_first:
        padded = padded.transpose(0, 1)
    return padded, factories.tensor(lengths)


def repack_like(padded: Tensor, like: PackedSequence) -> PackedSequence:
    """Pack a time-major padded batch (original order) with ``like``'s batch sizes and order."""
    lengths, order = packed_lengths(like)
    T, N = padded.shape[:2]
    _, index = _pack_index(lengths[order], order, N)
    data = padded.reshape(T * N, *padded.shape[2:]).index_select(0, factories.tensor(index, device=padded.device))
    return like._replace(data=data)


def pad_sequence(sequences, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack sequences of shape ``(L_i, *)`` into ``(max L, N, *)`` (``(N, max L, *)`` if batch_first)."""
    if padding_side not in ("left", "right"):
        raise ValueError(f"Expected padding_side to be one of left or right, but got {padding_side}.")
    T = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        extra = T - s.shape[0]
        if extra:
            fill = factories.full((extra,) + tuple(s.shape[1:]), padding_value, dtype=s.dtype)
            s = cat([s, fill]) if padding_side == "right" else cat([fill, s])
        padded.append(s)
    return stack(padded, 0 if batch_first else 1)


def pack_sequence(sequences, enforce_sorted: bool = True) -> PackedSequence:
    """pack_padded_sequence(pad_sequence(sequences), their lengths)."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences: Tensor, lengths, batch_first: bool = False) -> list:
    x = padded_sequences if batch_first else padded_sequences.transpose(0, 1)
    return [x[i, :int(n)] for i, n in enumerate(_lengths_array(lengths))]


def unpack_sequence(packed_sequences: PackedSequence) -> list:
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)

