"""CUDA kernel tests: the simulated ones are collected only where a device (or the simulator) is.

``simulated/`` holds kernel-vs-NumPy tests that need a device: under Numba's CUDA
simulator (``NUMBA_ENABLE_CUDASIM=1``, which must be set before ``numba.cuda`` is
imported) or on a real GPU. In a process with neither, they are not collected here:
``test_cuda_simulator.py`` runs them in a child process with the simulator on.
"""

import os

from cuda_support import HAVE_NUMBA_CUDA


def _device_here() -> bool:
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        return True
    from numba import cuda

    return cuda.is_available()


SIMULATED_HERE = HAVE_NUMBA_CUDA and _device_here()
collect_ignore = [] if SIMULATED_HERE else ["simulated"]

