"""Gamma samples with reparameterised gradients: ``_standard_gamma(alpha)``, as torch's.

A Gamma(alpha, 1) sample x is a function of alpha through its CDF held fixed (implicit
reparameterisation, Figurnov et al. 2018): dx/dalpha = -(dP/dalpha) / (dP/dx), computed to
~1e-10 by the ``special.gamma_sample_grad`` kernel from the incomplete gamma series
(torch's ``_standard_gamma_grad`` is a fitted approximation, ~1e-4). On the CPU the samples
come from the process's NumPy generator (``autodiff.manual_seed``); on cuda from the
device's generator (``autodiff.cuda.manual_seed``), by a sampling kernel.
"""

from __future__ import annotations

import numpy as np

from ..backends import backend_of
from ..backends.meta import MetaArray
from ..random import rng
from .op import Op


def _flat(a: np.ndarray, dt) -> np.ndarray:
    return a.reshape(-1) if a.flags.c_contiguous and a.dtype == dt else backend_of(a).copy(a, dt).reshape(-1)


def _sample_forward(alpha: np.ndarray) -> np.ndarray:
    if alpha.dtype.kind != "f":
        raise RuntimeError(f'"standard_gamma" not implemented for \'{alpha.dtype}\'')
    be = backend_of(alpha)
    if be.device.type == "cuda":
        return be.random.standard_gamma(_flat(alpha, alpha.dtype).reshape(alpha.shape))
    return np.asarray(rng(None).standard_gamma(alpha), dtype=alpha.dtype).reshape(alpha.shape)


def _grad_forward(alpha: np.ndarray, x: np.ndarray) -> np.ndarray:
    be = backend_of(x)
    out = be.empty((x.size,), x.dtype)
    be.special.gamma_sample_grad(_flat(x, x.dtype), _flat(np.broadcast_to(alpha, x.shape), x.dtype), out)
    return out.reshape(x.shape)


_standard_gamma_grad = Op("_standard_gamma_grad", ("self", "output"), _grad_forward,
                          meta=lambda alpha, x: MetaArray(x.shape, x.dtype))
standard_gamma = Op("_standard_gamma", ("self",), _sample_forward, (
    lambda grad, self, result: grad * _standard_gamma_grad(self, result.detach()),
), node_name="StandardGammaBackward0", meta=lambda alpha: MetaArray(alpha.shape, alpha.dtype))
