"""``autodiff.device``: where a tensor's storage lives ("cpu", "meta", "cuda")."""

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

    d = device(d)
    found = backend_for(d.type).device
    if d.index is not None and d.index != (found.index or 0):
        raise RuntimeError(f"CUDA error: invalid device ordinal (device {d} was asked for; autodiff "
                           f"uses one device per type, {found})" if d.type == "cuda" else
                           f"Expected a {d.type} device with no index or index 0, got {d}")
    return found


def parse_to(args: tuple, kwargs: dict):
    """The arguments of ``Tensor.to``/``Module.to`` as ``(device, dtype, non_blocking, copy,
    memory_format)``, accepting torch's three forms: ``to(dtype, ...)``, ``to(device=None,
    dtype=None, ...)`` and ``to(other, ...)``. The device must have a backend."""
    from . import dtypes
    from .tensor import Tensor

    kwargs = dict(kwargs)
    dev, dtype = kwargs.pop("device", None), kwargs.pop("dtype", None)
    rest = list(args)
    if rest and isinstance(rest[0], Tensor):
        other = rest.pop(0)
        dev, dtype = other.device, other.dtype
    elif rest and _is_dtype(rest[0], dtypes):
        dtype = rest.pop(0)
    elif rest and isinstance(rest[0], (str, device, int)) and not isinstance(rest[0], bool):
        dev = rest.pop(0)
        if rest and _is_dtype(rest[0], dtypes):
            dtype = rest.pop(0)
    flags = {"non_blocking": False, "copy": False}
    for name, value in zip(flags, rest):
        flags[name] = value
    if len(rest) > len(flags):
        raise TypeError(f"to() received an invalid combination of arguments - got {len(args)} positional "
                        "arguments, but expected (device, dtype, non_blocking, copy), (dtype, non_blocking, "
                        "copy) or (tensor, non_blocking, copy)")
    for name in flags:
        if name in kwargs:
            flags[name] = kwargs.pop(name)
    memory_format = kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"to() got an unexpected keyword argument '{next(iter(kwargs))}'")
    if isinstance(dev, int) and not isinstance(dev, bool):
        dev = device("cuda", dev)
    target = None if dev is None else as_device(dev)
    return (target, None if dtype is None else dtypes.as_dtype(dtype), bool(flags["non_blocking"]),
            bool(flags["copy"]), memory_format)


def _is_dtype(value, dtypes) -> bool:
    """An autodiff dtype, a NumPy dtype or scalar type, or a Python number type."""
    import numpy as np

    return (isinstance(value, (dtypes.dtype, np.dtype)) or value in (float, int, bool)
            or (isinstance(value, type) and issubclass(value, np.generic)))
