"""``@cuda.jit`` kernels over plain device arrays; pure compute that knows nothing of autograd.

Importing this package imports ``numba.cuda`` (install the ``cuda`` extra). The CPU
install never imports it. Set ``NUMBA_ENABLE_CUDASIM=1`` before the first import to run
the kernels under Numba's CUDA simulator (slow; for tests on machines without a GPU).
"""
