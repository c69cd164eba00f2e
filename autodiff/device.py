"""``autodiff.device``: where a tensor's storage lives ("cpu", "meta"; "cuda" is the planned backend)."""

from __future__ import annotations


class device:
    """A device, as ``torch.device``: ``device("cpu")``, ``device("cuda", 0)``, ``device("cuda:0")``."""

    __slots__ = ("type", "index")

    def __init__(self, type: "str | device", index: int | None = None) -> None:
        if isinstance(type, device):
            type, index = type.type, type.index
        elif ":" in type:
            type, _, idx = type.partition(":")
            index = int(idx)
        if type not in ("cpu", "cuda", "meta"):
            raise RuntimeError(f"Expected one of cpu, cuda, meta device type at start of device string: {type}")
        self.type = type
        self.index = index

    def __enter__(self) -> "device":
        """``with device("meta"):`` makes factories create tensors on this device by default."""
        _default.append(as_device(self))
        return self

    def __exit__(self, *exc) -> None:
        _default.pop()

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        idx = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{idx})"


cpu = device("cpu")
_default: list = []  # the devices of the enclosing ``with device(...)`` blocks


def as_device(d: "str | device | None") -> device:
    """Check that ``d`` names a device autodiff has a backend for; None is the CPU."""
    if d is None:
        return _default[-1] if _default else cpu
    from .backends import backend_for  # the backends import this module

    return backend_for(device(d).type).device
