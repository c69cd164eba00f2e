"""Numba kernels over arrays; pure compute that knows nothing of autograd.

Threading: Numba's parallel kernels here share two cores with BLAS's own threads. The
default OpenMP layer spin-waits between launches and starves OpenBLAS's threads (a
256x256 matmul backward ran ~20x slower under it); the ``workqueue`` layer does not.
So unless the user chose a layer (``NUMBA_THREADING_LAYER``), autodiff uses workqueue.
"""

import os

import numba

if "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER = "workqueue"
