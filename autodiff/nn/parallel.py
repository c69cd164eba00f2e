"""``nn.parallel``: ``DataParallel`` on the one device autodiff has, as torch's on one GPU or CPU.

``DataParallel(m)`` holds ``m`` as ``.module`` (so state dict keys get the ``module.``
prefix torch's have) and calls it: with one device there is nothing to scatter.
``DistributedDataParallel`` needs a process group, which ``autodiff.distributed`` cannot
make yet, so it raises torch's error for a missing group.
"""

from __future__ import annotations

from typing import Any, Sequence

from ..distributed import _no_group
from .module import Module


class DataParallel(Module):
    def __init__(self, module: Module, device_ids: Sequence[Any] | None = None, output_device: Any = None,
                 dim: int = 0) -> None:
        super().__init__()
        self.module = module
        self.device_ids = list(device_ids) if device_ids is not None else []
        self.output_device = output_device
        self.dim = dim

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        return self.module(*inputs, **kwargs)


class DistributedDataParallel(Module):
    def __init__(self, module: Module, *args: Any, **kwargs: Any) -> None:
        raise _no_group()


def data_parallel(module: Module, inputs: Any, device_ids=None, output_device=None, dim: int = 0,
                  module_kwargs: dict | None = None) -> Any:
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    return module(*inputs, **(module_kwargs or {}))
