"""Which BLAS library the GEMM kernels call: SciPy's OpenBLAS, or Intel MKL on request.

* SciPy's OpenBLAS (SciPy is a dependency) by default, through Numba's own C helper
  ``numba_xxgemm``, and held to one thread by ``blas.ready_blas``.
* MKL with ``AUTODIFF_BLAS=mkl`` (install it with ``pip install autodiff[mkl]``, x86-64
  Linux). Through ``blas.gemm`` on one core of the development machine (an AVX-512 Xeon)
  it ran the attention tiles (128x64 @ 64x256, 128x256 @ 256x64) 1.25-1.3x faster than
  OpenBLAS, a 1024^3 product 1.17x and the MLP's 256x784 @ 784x512 1.07x. It is set to
  its sequential layer, as the kernels bring their own threads. It is opt-in because MKL's runtime loads its parts into the process's global
  symbol scope: a library loaded later that carries its own MKL (torch does) may then
  bind to this one and see one thread (``torch.get_num_threads()`` reads 1 when torch is
  imported after autodiff ran a product). It is refused where another library in the
  process had loaded that runtime already, whose settings would change.

``blas`` binds the symbol its compiled code calls to the chosen library (so a kernel cache
written under one library serves the other).
"""

from __future__ import annotations

import ctypes
import glob
import os
import sys

_MKL_SEQUENTIAL = 1  # MKL_THREADING_SEQUENTIAL of mkl_service.h


def requested() -> str:
    """The library ``AUTODIFF_BLAS`` asks for: "openblas" (the default) or "mkl"."""
    choice = os.environ.get("AUTODIFF_BLAS", "").lower() or "openblas"
    if choice not in ("mkl", "openblas"):
        raise ValueError(f"AUTODIFF_BLAS must be 'mkl' or 'openblas', got {choice!r}")
    return choice


def mkl_runtime_path() -> str | None:
    """Where the ``mkl`` package put MKL's runtime library in this environment, if it did."""
    paths = sorted(glob.glob(os.path.join(sys.prefix, "lib", "libmkl_rt.so*")))
    return paths[0] if paths else None


def mkl_gemms() -> tuple[int, int]:
    """Addresses of MKL's Fortran ``sgemm_`` and ``dgemm_`` (32-bit integers), its runtime
    loaded and set to the sequential layer; RuntimeError saying why not."""
    path = mkl_runtime_path()
    if path is None:
        raise RuntimeError(f"AUTODIFF_BLAS=mkl, but MKL's runtime library is not in {sys.prefix}/lib "
                           "(install it with `pip install autodiff[mkl]`)")
    try:
        ctypes.CDLL(path, mode=os.RTLD_NOLOAD)
    except OSError:
        pass  # not loaded yet: ours to set up
    else:
        raise RuntimeError("AUTODIFF_BLAS=mkl, but another library in this process loaded MKL already; "
                           "autodiff would change its threading (unset AUTODIFF_BLAS to use OpenBLAS)")
    lib = ctypes.CDLL(path)
    lib.MKL_Set_Threading_Layer.argtypes = [ctypes.c_int]
    lib.MKL_Set_Threading_Layer.restype = ctypes.c_int
    if lib.MKL_Set_Threading_Layer(_MKL_SEQUENTIAL) != _MKL_SEQUENTIAL:
        raise RuntimeError("AUTODIFF_BLAS=mkl, but MKL refused its sequential threading layer")
    return tuple(ctypes.cast(f, ctypes.c_void_p).value for f in (lib.sgemm_, lib.dgemm_))
