"""``spectral_norm`` and ``weight_norm`` as parametrizations, as
``torch.nn.utils.parametrizations`` (state-dict keys ``parametrizations.weight.original``,
``...original0``/``original1`` and ``parametrizations.weight.0._u``/``_v`` as PyTorch's).
``orthogonal`` is not provided yet (it needs a matrix exponential or Householder products).
"""

from __future__ import annotations

from .. import factories
from ..autograd.grad_mode import no_grad
from ..tensor import Tensor
from .functions.normalization import normalize
from .module import Module
from .parametrize import register_parametrization


def _norm_except_dim(v: Tensor, dim: int) -> Tensor:
    """The 2-norm over every dim but ``dim`` (keepdim), as torch's norm_except_dim; dim -1: all."""
    if dim == -1:
        return v.norm()
    dims = tuple(d for d in range(v.dim()) if d != dim)
    return v.norm(dim=dims, keepdim=True) if dims else v.abs()


class _WeightNorm(Module):
    """weight = g * v / ||v||, the norm over all dims but ``dim``."""

    def __init__(self, dim: int | None = 0) -> None:
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return weight_v * (weight_g / _norm_except_dim(weight_v, self.dim))

    def right_inverse(self, weight: Tensor):
        return _norm_except_dim(weight, self.dim), weight


def weight_norm(module: Module, name: str = "weight", dim: int = 0) -> Module:
    """Reparametrise ``module.<name>`` by its direction ``original1`` and magnitude ``original0``."""
    dim = dim if dim is None or dim >= 0 else dim + getattr(module, name).dim()
    return register_parametrization(module, name, _WeightNorm(dim), unsafe=True)


class _SpectralNorm(Module):
    """weight / sigma(weight), sigma estimated by power iteration on the weight as a matrix
    (``dim`` first); the singular vectors are buffers ``_u``, ``_v``, refined in training."""

    def __init__(self, weight: Tensor, n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12) -> None:
        super().__init__()
        ndim = weight.dim()
        if dim >= ndim or dim < -ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of [-{ndim}, {ndim - 1}] but got {dim})")
        if n_power_iterations <= 0:
            raise ValueError("Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps, self.n_power_iterations = eps, n_power_iterations
        if ndim > 1:
            mat = self._reshape_weight_to_matrix(weight)
            h, w = mat.shape
            u = factories.empty(h, dtype=weight.dtype).normal_(0, 1)
            v = factories.empty(w, dtype=weight.dtype).normal_(0, 1)
            self.register_buffer("_u", normalize(u, dim=0, eps=self.eps))
            self.register_buffer("_v", normalize(v, dim=0, eps=self.eps))
            self._power_method(mat, 15)

    def _reshape_weight_to_matrix(self, weight: Tensor) -> Tensor:
        if self.dim != 0:
            weight = weight.permute(self.dim, *(d for d in range(weight.dim()) if d != self.dim))
        return weight.flatten(1)

    def _power_method(self, weight_mat: Tensor, n: int) -> None:
        with no_grad():
            for _ in range(n):
                self._u.copy_(normalize(weight_mat.detach() @ self._v, dim=0, eps=self.eps))
                self._v.copy_(normalize(weight_mat.detach().mT @ self._u, dim=0, eps=self.eps))

    def forward(self, weight: Tensor) -> Tensor:
        if weight.dim() == 1:
            return normalize(weight, dim=0, eps=self.eps)
        mat = self._reshape_weight_to_matrix(weight)
        if self.training:
            self._power_method(mat, self.n_power_iterations)
        u, v = self._u.clone(), self._v.clone()
        sigma = (u * (mat @ v)).sum()
        return weight / sigma

    def right_inverse(self, value: Tensor) -> Tensor:
        return value


def _default_dim(module: Module) -> int:
    return 1 if "ConvTranspose" in type(module).__name__ else 0


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1, eps: float = 1e-12,
                  dim: int | None = None) -> Module:
    """Divide ``module.<name>`` by its largest singular value (estimated by power iteration)."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    dim = _default_dim(module) if dim is None else dim
    return register_parametrization(module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
