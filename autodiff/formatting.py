"""``repr`` of tensors, in PyTorch's style.

``tensor([1., 2.])``, ``tensor([1.0000, 2.5000], dtype=autodiff.float64)``, scientific
notation when magnitudes span more than 1e3 (or reach 1e8 / fall below 1e-4), rows wrapped
at 80 columns, and tensors of more than 1000 elements summarised with ``...`` showing
three items at each end of every dimension.
"""

from __future__ import annotations

import numpy as np

from . import dtypes

THRESHOLD = 1000
EDGE = 3
LINEWIDTH = 80


def _float_formatter(values: np.ndarray):
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return lambda v: _special(v) or f"{v:.4f}"
    nonzero = np.abs(finite[finite != 0])
    wide = nonzero.size and (nonzero.max() / nonzero.min() > 1e3 or nonzero.max() > 1e8)
    if np.all(finite == np.round(finite)):
        fixed = "{:.0f}."
    else:
        fixed = "{:.4f}"
        wide = wide or (nonzero.size and nonzero.min() < 1e-4)
    pattern = "{:.4e}" if wide else fixed
    return lambda v: _special(v) or pattern.format(v)


def _special(v) -> str | None:
    if np.isnan(v):
        return "nan"
    if np.isinf(v):
        return "inf" if v > 0 else "-inf"
    return None


def _summarised(data: np.ndarray, summarise: bool) -> np.ndarray:
    """The elements that will be printed (edges of every dim when summarising)."""
    if not summarise:
        return data.reshape(-1)
    parts = []

    def walk(a):
        if a.ndim == 0:
            parts.append(a.reshape(1))
            return
        idx = range(a.shape[0]) if a.shape[0] <= 2 * EDGE else list(range(EDGE)) + list(range(a.shape[0] - EDGE, a.shape[0]))
        if a.ndim == 1:
            parts.append(a[list(idx)])
        else:
            for i in idx:
                walk(a[i])

    walk(data)
    return np.concatenate(parts) if parts else data.reshape(-1)


def _format(data: np.ndarray, fmt, width: int, indent: int, summarise: bool) -> str:
    if data.ndim == 0:
        return fmt(data.item()).rjust(width)
    n = data.shape[0]
    cut = summarise and n > 2 * EDGE
    idx = list(range(EDGE)) + [None] + list(range(n - EDGE, n)) if cut else list(range(n))
    if data.ndim == 1:
        items = [" ..." if i is None else fmt(data[i].item()).rjust(width) for i in idx]
        per_line = max(1, (LINEWIDTH - indent) // (width + 2))
        lines = [", ".join(items[k:k + per_line]) for k in range(0, len(items), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    sep = "," + "\n" * (data.ndim - 1) + " " * (indent + 1)
    rows = ["..." if i is None else _format(data[i], fmt, width, indent + 1, summarise) for i in idx]
    return "[" + sep.join(rows) + "]"


def tensor_body(data: np.ndarray, indent: int = 7) -> str:
    """The bracketed values of ``data`` as PyTorch prints them."""
    if data.size == 0:
        return "[]"
    summarise = data.size > THRESHOLD
    shown = _summarised(data, summarise)
    if data.dtype.kind == "b":
        fmt = lambda v: "True" if v else "False"  # noqa: E731
    elif data.dtype.kind == "f":
        fmt = _float_formatter(shown.astype(np.float64))
        # as PyTorch: the column width comes from the nonzero finite values (nan, inf, 0 may stick out)
        shown = shown[np.isfinite(shown) & (shown != 0)]
    else:
        fmt = str
    width = max((len(fmt(v.item())) for v in shown), default=1)
    return _format(data, fmt, width, indent, summarise)


def tensor_repr(t) -> str:
    data = t._data
    suffixes = []
    meta = t.device.type == "meta"
    if meta:  # no values to print, as torch: tensor(..., device='meta', size=(2, 3))
        suffixes.append("device='meta'")
    if t.is_cuda:  # printed from a host copy, with torch's device suffix
        suffixes.append(f"device='{t.device}'")
        data = t.detach().cpu()._data
    if meta or (data.size == 0 and data.shape != (0,)):
        suffixes.append(f"size={tuple(data.shape)}")
    if t.dtype not in (dtypes.get_default_dtype(), dtypes.int64, dtypes.bool):
        suffixes.append(f"dtype={t.dtype!r}")
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    body = "..." if meta else tensor_body(data)
    return "tensor(" + body + "".join(", " + s for s in suffixes) + ")"


def type_name(obj) -> str:
    """torch.typename's spelling: ``autodiff.FloatTensor``, ``int``, ``package.module.Class``."""
    from .tensor import Tensor  # the tensor module imports this one lazily

    if isinstance(obj, Tensor):
        return f"autodiff.{obj.dtype._tensor_type}"
    cls = type(obj)
    module = cls.__module__
    return cls.__qualname__ if module in (None, "builtins") else f"{module}.{cls.__qualname__}"


def size_repr(shape: tuple) -> str:
    """A shape as messages print it, in torch's style: ``autodiff.Size([2, 3])``."""
    return f"autodiff.Size({list(shape)})"
