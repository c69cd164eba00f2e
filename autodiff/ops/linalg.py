"""``linalg.cholesky`` and ``linalg.solve_triangular`` as differentiable ops over batches.

Backward rules (written with autodiff ops, so they differentiate again):

* ``X = L^-1 B`` (left, lower): ``gB = L^-T gX``, ``gL = -tril(gB X^T)``; the right and upper
  forms are the transposed cases;
* ``L = chol(A)``: ``gA = sym(L^-T Phi(L^T gL) L^-1)`` with ``Phi`` the lower triangle with its
  diagonal halved and ``sym(M) = (M + M^T) / 2`` (Murray 2016), so the gradient is
  symmetric, as torch's.
"""

from __future__ import annotations

import numpy as np

from .. import backends
from ..backends import backend_of
from ..backends.meta import MetaArray
from ..factories import eye
from .op import Op


def _batched(x, np_dtype=None):
    """``x`` as a C-contiguous (batch, m, n) array (cast to ``np_dtype``)."""
    b = x.reshape((-1,) + x.shape[-2:]) if x.flags.c_contiguous else x
    if b.flags.c_contiguous and (np_dtype is None or b.dtype == np_dtype):
        return b
    return backends.copy(b, np_dtype).reshape((-1,) + x.shape[-2:])


def _square(name: str, a) -> None:
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise RuntimeError(f"linalg.{name}: A must be batches of square matrices, but they are "
                           f"{' by '.join(map(str, a.shape[-2:]))} matrices")
    if a.dtype.kind != "f":
        raise RuntimeError(f"linalg.{name}: Expected a floating point tensor as input. Got {a.dtype}")


def _cholesky_forward(a: np.ndarray, upper: bool = False) -> np.ndarray:
    _square("cholesky", a)
    src = _batched(a)
    be = backend_of(src)
    out = be.empty(src.shape, src.dtype)
    bad = be.linalg.cholesky(src, out) if src.size else -1
    if bad >= 0:
        where = f"(Batch element {bad}): " if a.ndim > 2 else ""
        raise RuntimeError(f"linalg.cholesky: {where}The factorization could not be completed because the "
                           "input is not positive-definite.")
    out = out.reshape(a.shape)
    if not upper:
        return out
    return backends.copy(out.transpose(tuple(range(a.ndim - 2)) + (a.ndim - 1, a.ndim - 2)))


def _cholesky_meta(a, upper: bool = False) -> MetaArray:
    _square("cholesky", a)
    return MetaArray(a.shape, a.dtype)


def _solve_check(a, b, left: bool) -> tuple[tuple, np.dtype]:
    """Validate the operands of solve_triangular; their broadcast batch shape and result dtype."""
    _square("solve_triangular", a)
    if b.ndim < 2 or (b.shape[-2] if left else b.shape[-1]) != a.shape[-1]:
        raise RuntimeError(f"linalg.solve_triangular: Incompatible shapes of A and B for the equation "
                           f"{'AX = B' if left else 'XA = B'} ({'x'.join(map(str, a.shape[-2:]))} and "
                           f"{'x'.join(map(str, b.shape[-2:]))})")
    return np.broadcast_shapes(a.shape[:-2], b.shape[:-2]), np.result_type(a.dtype, b.dtype)


def _solve_forward(a: np.ndarray, b: np.ndarray, upper: bool, left: bool = True,
                   unitriangular: bool = False) -> np.ndarray:
    batch, dt = _solve_check(a, b, left)
    aa = _batched(np.broadcast_to(a, batch + a.shape[-2:]), dt)
    bb = _batched(np.broadcast_to(b, batch + b.shape[-2:]), dt)
    be = backend_of(bb)
    out = be.empty(bb.shape, bb.dtype)
    if out.size:
        be.linalg.solve_triangular(aa, bb, out, upper, left, unitriangular)
    return out.reshape(batch + b.shape[-2:])


def _solve_meta(a, b, upper: bool, left: bool = True, unitriangular: bool = False) -> MetaArray:
    batch, dt = _solve_check(a, b, left)
    return MetaArray(batch + b.shape[-2:], dt)


def _solve_grad_b(grad, self, upper, left=True, unitriangular=False):
    # X = A^-1 B  =>  gB = A^-T gX ;  X = B A^-1  =>  gB = gX A^-T
    return solve_triangular(self.mT, grad, upper=not upper, left=left, unitriangular=unitriangular)


def _solve_grad_a(grad, self, result, upper, left=True, unitriangular=False):
    gb = _solve_grad_b(grad, self, upper, left, unitriangular)
    ga = -(gb @ result.mT) if left else -(result.mT @ gb)
    offset = 0 if not unitriangular else (1 if upper else -1)  # a unit diagonal is not read
    return ga.triu(offset) if upper else ga.tril(offset)


_solve = Op("linalg_solve_triangular", ("self", "B"), _solve_forward, (_solve_grad_a, _solve_grad_b),
            node_name="LinalgSolveTriangularBackward0", meta=_solve_meta)


def solve_triangular(A, B, *, upper: bool, left: bool = True, unitriangular: bool = False):
    """The solution X of ``A X = B`` (or ``X A = B`` if not ``left``) for triangular ``A``."""
    return _solve(A, B, upper=upper, left=left, unitriangular=unitriangular)


def _cholesky_grad(grad, result, upper=False):
    lower = result.mT if upper else result
    g = grad.mT if upper else grad
    phi = (lower.mT @ g).tril()
    phi = phi - phi * eye(phi.shape[-1], dtype=phi.dtype, device=phi.device) * 0.5
    # L^-T phi L^-1
    m = solve_triangular(lower.mT, solve_triangular(lower, phi, upper=False, left=False), upper=True)
    return (m + m.mT) * 0.5


_cholesky = Op("linalg_cholesky", ("self",), _cholesky_forward, (_cholesky_grad,),
               node_name="LinalgCholeskyBackward0", meta=_cholesky_meta)


def cholesky(A, *, upper: bool = False):
    """The Cholesky factor of the symmetric positive-definite ``A`` (lower unless ``upper``)."""
    return _cholesky(A, upper=upper)
