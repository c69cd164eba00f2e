"""``Dropout`` and the channel-wise ``Dropout1d``/``2d``/``3d``: active in training mode only."""

from __future__ import annotations

from ..tensor import Tensor
from . import functional as F
from .module import Module


class Dropout(Module):
    """Zero each element with probability ``p`` and scale the rest by 1 / (1 - p) while training."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if p < 0 or p > 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class _ChannelDropout(Dropout):
    """Zero whole channels with probability ``p`` while training (``_fn``: the functional form)."""

    _fn = staticmethod(F.dropout)

    def forward(self, input: Tensor) -> Tensor:
        return self._fn(input, self.p, self.training, self.inplace)


class Dropout1d(_ChannelDropout):
    _fn = staticmethod(F.dropout1d)


class Dropout2d(_ChannelDropout):
    _fn = staticmethod(F.dropout2d)


class Dropout3d(_ChannelDropout):
    _fn = staticmethod(F.dropout3d)
