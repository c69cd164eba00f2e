"""The flags of ``torch.backends`` that programs set, as ``autodiff.backends.<name>``.

They are accepted so programs run unchanged, and documented here as what they mean for
autodiff today:

* ``cudnn.benchmark``, ``cudnn.deterministic``, ``cudnn.enabled``, ``cudnn.allow_tf32``:
  no effect. autodiff has no cuDNN; its CPU kernels are deterministic for a given thread
  count and pick no algorithms at run time.
* ``cuda.matmul.allow_tf32``, ``cuda.matmul.allow_fp16_reduced_precision_reduction``: no
  effect (no CUDA backend yet); float32 matmuls always accumulate in float32.
* ``mps.is_available()``, ``mps.is_built()``, ``cudnn.is_available()``: False.

``autodiff/backends/__init__.py`` re-exports these names, so ``autodiff.backends`` is both
the device-backend package and torch's flags: a future CUDA device backend module must not
be named ``backends/cuda.py`` (importing it would replace the ``cuda`` flags there).
"""

from __future__ import annotations

import sys
from types import SimpleNamespace


class _Cudnn(SimpleNamespace):
    def is_available(self) -> bool:
        return False

    def version(self) -> None:
        return None


class _Mps(SimpleNamespace):
    def is_available(self) -> bool:
        return False

    def is_built(self) -> bool:
        return False


cudnn = _Cudnn(enabled=True, benchmark=False, deterministic=False, allow_tf32=True)
cuda = SimpleNamespace(matmul=SimpleNamespace(allow_tf32=False,
                                              allow_fp16_reduced_precision_reduction=True,
                                              allow_bf16_reduced_precision_reduction=True),
                       is_built=lambda: False)
mps = _Mps()

# ``import torch.backends.cudnn as cudnn`` is how programs reach these: importable by name too
# (not ``cuda``, the name a CUDA device backend module may take)
sys.modules.update({"autodiff.backends.cudnn": cudnn, "autodiff.backends.mps": mps})
