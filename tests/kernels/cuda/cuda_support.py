"""What the CUDA kernel tests share: whether numba-cuda is installed, and device buffers."""

import importlib.util

import numpy as np

HAVE_NUMBA_CUDA = importlib.util.find_spec("numba_cuda") is not None
NO_NUMBA_CUDA = "numba-cuda is not installed (pip install 'autodiff[cuda]')"


def strided(rng, shape, dtype=np.float32, step=None, offset=3, low=-2.0, high=2.0):
    """A non-contiguous NumPy view with non-negative strides (every ``step[d]``-th element
    of a larger base, starting ``offset`` elements in) and the base it views."""
    step = step or (1,) * (len(shape) - 1) + (2,)
    full = [n * s for n, s in zip(shape, step)]
    base = rng.uniform(low, high, offset + int(np.prod(full))).astype(dtype)
    arr = base[offset:].reshape(full)[tuple(slice(None, None, s) for s in step)]
    return arr, base
