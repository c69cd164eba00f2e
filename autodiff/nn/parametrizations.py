"""``spectral_norm`` and ``weight_norm`` as parametrizations, as
``torch.nn.utils.parametrizations`` (state-dict keys ``parametrizations.weight.original``,
``...original0``/``original1``, ``parametrizations.weight.0._u``/``_v`` and ``...0.base``
as PyTorch's), and ``orthogonal`` (matrix-exponential, Cayley and Householder maps, of matrices or
batches of them; ``use_trivialization=True`` only).
"""

from __future__ import annotations

import math

from .. import dtypes, factories
from ..backends import backend_of
from ..autograd.grad_mode import no_grad
from ..memory_format import contiguous_format
from ..ops.joining import cat as ad_cat
from ..ops.joining import stack as ad_stack
from ..ops.linalg import cholesky, solve_triangular
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


def _matrix_exp(a: Tensor) -> Tensor:
    """exp(a) of a square matrix by scaling and squaring a degree-18 Taylor polynomial, all in
    differentiable ops (the scale is chosen from the values, outside the graph)."""
    n = a.shape[-1]
    norm = float(a.detach().abs().sum(dim=-1).max().item()) if a.numel() else 0.0
    squarings = max(0, math.ceil(math.log2(norm)) + 1) if norm > 0.5 else 0
    b = a / (2.0 ** squarings)
    eye = factories.eye(n, dtype=a.dtype, device=a.device)
    result, term = eye, eye
    for i in range(1, 19):
        term = term @ b / i
        result = result + term
    for _ in range(squarings):
        result = result @ result
    return result


def _householder_product(reflectors: Tensor, tau: Tensor) -> Tensor:
    """The first k columns of H_0 H_1 ... H_{k-1}, H_i = I - tau_i v_i v_i^T, v_i the i-th
    column of ``reflectors`` (..., n, k) below the diagonal with a 1 on it (LAPACK's convention)."""
    n, k = reflectors.shape[-2:]
    rows = factories.arange(n, device=reflectors.device).unsqueeze(1)
    cols = factories.arange(k, device=reflectors.device).unsqueeze(0)
    v = reflectors * (rows > cols) + (rows == cols).to(reflectors.dtype)
    q = factories.eye(n, dtype=reflectors.dtype, device=reflectors.device)
    for i in range(k):
        vi = v[..., i:i + 1]
        q = q - (q @ vi) @ vi.mT * tau[..., i:i + 1].unsqueeze(-1)
    return q[..., :k]


def _cayley(a: Tensor) -> Tensor:
    """(I - A/2)^-1 (I + A/2) for skew-symmetric A. M = I - A/2 has M^T M = I - A^2/4
    symmetric positive definite, so the solve is two triangular solves with its Cholesky
    factor: differentiable ops only, batched."""
    eye = factories.eye(a.shape[-1], dtype=a.dtype, device=a.device)
    m, rhs = eye - a * 0.5, eye + a * 0.5
    lower = cholesky(m.mT @ m)
    y = solve_triangular(lower, m.mT @ rhs, upper=False)
    return solve_triangular(lower.mT, y, upper=True)


def _orthonormalised(data: Tensor) -> Tensor:
    """Each matrix of a (..., n, n) batch made orthogonal by QR (signs fixed by R's diagonal), as torch's."""
    flat = data.reshape((-1,) + tuple(data.shape[-2:])).contiguous()._data
    be = backend_of(flat)
    out = [Tensor._make(be.qr.orthonormal_columns(flat[i])) for i in range(flat.shape[0])]
    return ad_stack(out).reshape(data.shape)


class _Orthogonal(Module):
    """An orthogonal matrix (or batch of them) from unconstrained parameters: ``base @ map(X)``,
    with the map the matrix exponential or the Cayley map of the skew-symmetric part of
    tril(X), or a product of Householder reflections; ``base`` (a buffer) is the orthogonal
    matrix the layer started from (the dynamic trivialization)."""

    def __init__(self, weight: Tensor, orthogonal_map: str) -> None:
        super().__init__()
        self.shape, self.orthogonal_map = weight.shape, orthogonal_map
        self.register_buffer("base", None)

    def forward(self, x: Tensor) -> Tensor:
        n, k = x.shape[-2:]
        transposed = n < k
        if transposed:
            x, n, k = x.mT, k, n
        if self.orthogonal_map in ("matrix_exp", "cayley"):
            lower = x.tril()
            if n != k:
                lower = ad_cat([lower, factories.zeros(tuple(x.shape[:-2]) + (n, n - k), dtype=x.dtype,
                                                       device=x.device)], -1)
            skew = lower - lower.mT
            q = (_matrix_exp(skew) if self.orthogonal_map == "matrix_exp" else _cayley(skew))[..., :k]
        else:
            reflectors = x.tril(-1)
            tau = 2.0 / (1.0 + (reflectors * reflectors).sum(dim=-2))
            signs = x.detach().diagonal(dim1=-2, dim2=-1).to(dtypes.int64).to(x.dtype)
            q = _householder_product(reflectors, tau) * signs.unsqueeze(-2)
        q = self.base @ q
        return q.mT if transposed else q

    def right_inverse(self, q: Tensor) -> Tensor:
        """Take ``q`` (made orthogonal, completed to square) as the new base; the parameters
        restart at the point mapping to the identity (-1 on the diagonal, 0 elsewhere)."""
        if q.shape != self.shape:
            raise ValueError(f"Expected a matrix or batch of matrices of shape {self.shape}. Got a tensor of "
                             f"shape {q.shape}.")
        with no_grad():
            start = q
            n, k = q.shape[-2:]
            if n < k:
                q, n, k = q.mT, k, n
            data = q.detach()
            if n != k:
                extra = factories.randn(tuple(q.shape[:-2]) + (n, n - k), dtype=q.dtype, device=q.device)
                data = ad_cat([data, extra], -1)
            eye = factories.eye(n, dtype=q.dtype, device=q.device)
            if not ((data.mT @ data - eye).abs() <= 1e-5 + 1e-5 * eye).all().item():  # np.allclose's test
                data = _orthonormalised(data)
            self.base = data.clone(memory_format=contiguous_format)
            minus_eye = factories.zeros(start.shape, dtype=start.dtype, device=start.device)
            minus_eye.diagonal(dim1=-2, dim2=-1).fill_(-1.0)
            return minus_eye


def orthogonal(module: Module, name: str = "weight", orthogonal_map: str | None = None, *,
               use_trivialization: bool = True) -> Module:
    """Keep ``module.<name>`` (a matrix or a batch of matrices) orthogonal: ``matrix_exp``
    (default for square matrices), ``cayley`` or ``householder`` (default otherwise)."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if weight.dim() < 2:
        raise ValueError(f"Expected a matrix or batch of matrices. Got a tensor of {weight.dim()} dimensions.")
    if not use_trivialization:
        raise NotImplementedError("orthogonal: only use_trivialization=True is supported")
    if orthogonal_map is None:
        orthogonal_map = "matrix_exp" if weight.shape[-2] == weight.shape[-1] else "householder"
    if orthogonal_map not in ("matrix_exp", "cayley", "householder"):
        raise ValueError('orthogonal_map has to be one of "matrix_exp", "cayley", "householder". '
                         f"Got: {orthogonal_map}")
    return register_parametrization(module, name, _Orthogonal(weight, orthogonal_map), unsafe=True)
