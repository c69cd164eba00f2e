"""Numba kernels over arrays; pure compute that knows nothing of autograd.

Threading: Numba's parallel kernels share the cores with BLAS's own threads. Under the
default OpenMP layer, idle OpenMP threads spin-wait and starved OpenBLAS (a 256x256
matmul backward ran ~4x slower on two cores); the workqueue layer avoids that but costs
~70 us per parallel launch. Passive waiting keeps OpenMP's cheap launches without the
spinning, so unless the user set it, ``OMP_WAIT_POLICY`` is PASSIVE (it must be set
before the OpenMP runtime starts, i.e. before the first parallel kernel runs).
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .cpu.allocation import keep_freed_memory  # noqa: E402

keep_freed_memory()  # new large outputs reuse freed, already-faulted memory (see allocation.py)
