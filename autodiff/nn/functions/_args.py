"""Argument normalisation shared by the functional layers (PyTorch's int-or-tuple sizes)."""

from __future__ import annotations

_REDUCTIONS = ("none", "mean", "sum")


def ntuple(value, n: int, name: str = "argument") -> tuple:
    """``value`` as an n-tuple of ints: an int is repeated, a sequence must have length n."""
    if isinstance(value, (tuple, list)):
        if len(value) == 1:
            value = tuple(value) * n
        if len(value) != n:
            raise RuntimeError(f"expected {name} to be a single integer value or a list of {n} values "
                               f"to match the convolution dimensions, but got {name}={list(value)}")
        return tuple(int(v) for v in value)
    return (int(value),) * n


def legacy_reduction(size_average, reduce, reduction: str) -> str:
    """PyTorch's mapping of the deprecated size_average/reduce flags onto ``reduction``."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if not reduce:
        return "none"
    return "mean" if size_average else "sum"


def check_reduction(reduction: str) -> None:
    if reduction not in _REDUCTIONS + ("batchmean",):
        raise ValueError(f"{reduction} is not a valid value for reduction")
