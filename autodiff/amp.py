"""``torch.amp``'s ``GradScaler`` and ``autocast``, for programs that construct them.

autodiff has no float16/bfloat16 tensors yet, so there is nothing to scale or cast to:
``GradScaler`` does what torch's does where its device is unavailable (it warns once when
asked to be enabled and runs disabled: ``scale(loss)`` is ``loss``, ``step(opt)`` is
``opt.step()``); ``autocast`` accepts ``enabled=False`` (and float32) as a no-op context and
refuses a half dtype, saying so. ``autodiff.cuda.amp`` holds the same names.
"""

from __future__ import annotations

import warnings
from types import SimpleNamespace

from . import dtypes


class GradScaler:
    """Loss scaling for half-precision training; always disabled here (see the module docstring)."""

    def __init__(self, device: str = "cuda", init_scale: float = 2.0 ** 16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000, enabled: bool = True) -> None:
        if enabled:
            warnings.warn("GradScaler is enabled, but autodiff has no float16 training (no CUDA device). "
                          "Disabling.")
        self._enabled = False

    def is_enabled(self) -> bool:
        return self._enabled

    def scale(self, outputs):
        return outputs

    def unscale_(self, optimizer) -> None:
        pass

    def step(self, optimizer, *args, **kwargs):
        return optimizer.step(*args, **kwargs)

    def update(self, new_scale=None) -> None:
        pass

    def get_scale(self) -> float:
        return 1.0

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state_dict: dict) -> None:
        pass


class autocast:
    """Mixed-precision regions: a no-op when disabled or float32; half dtypes are not supported."""

    def __init__(self, device_type: str = "cuda", dtype=None, enabled: bool = True, cache_enabled=None) -> None:
        if enabled and dtype is not None and dtype is not dtypes.float32:
            raise NotImplementedError(f"autocast to {dtype}: autodiff has no float16/bfloat16 tensors yet")
        self.enabled = False

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None

    def __call__(self, fn):
        return fn


cuda_amp = SimpleNamespace(GradScaler=GradScaler, autocast=autocast)
