"""QR-based orthonormalisation (for ``nn.init.orthogonal_``)."""

from __future__ import annotations

import numpy as np
from numba import njit
from ..guard import guard_kernels


@njit(cache=True, error_model="numpy")
def orthonormal_columns(a: np.ndarray) -> np.ndarray:
    """``Q * sign(diag(R))`` for the reduced QR of ``a`` (rows >= cols): orthonormal columns,
    with signs fixed so that a Gaussian ``a`` gives a uniformly (Haar) distributed Q."""
    q, r = np.linalg.qr(a)
    for j in range(q.shape[1]):
        if r[j, j] < 0:
            q[:, j] = -q[:, j]
    return q


guard_kernels(globals())
