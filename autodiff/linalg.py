"""``autodiff.linalg``, as ``torch.linalg`` (the part implemented so far)."""

from .ops.linalg import cholesky, solve_triangular

__all__ = ["cholesky", "solve_triangular"]
