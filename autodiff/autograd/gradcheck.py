"""``gradcheck`` and ``gradgradcheck``: compare analytical gradients with finite differences.

As PyTorch's: central differences with ``eps=1e-6`` on float64 inputs, checked against
the Jacobian that backward gives (one vector-Jacobian product per output element), with
``atol=1e-5``, ``rtol=1e-3``. On a mismatch they raise ``GradcheckError`` (a
RuntimeError) showing both Jacobians, or return False when ``raise_exception=False``.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from ..tensor import Tensor
from .functional_api import grad as autograd_grad


class GradcheckError(RuntimeError):
    pass


def _as_tuple(x) -> tuple:
    return x if isinstance(x, tuple) else (x,) if not isinstance(x, list) else tuple(x)


def _differentiable_outputs(fn, inputs) -> list[Tensor]:
    return [o for o in _as_tuple(fn(*inputs)) if isinstance(o, Tensor) and o.requires_grad]


def _numerical_jacobian(fn, inputs, targets, eps) -> list[np.ndarray]:
    """d(all outputs, flattened)/d(each target input element), by central differences."""
    n_out = sum(o.numel() for o in _as_tuple(fn(*inputs)) if isinstance(o, Tensor))
    jacobians = []
    for t in targets:
        jac = np.zeros((t.numel(), n_out))
        data = t._data  # perturbed in place, untracked: fn may itself need grad mode
        for i, idx in enumerate(np.ndindex(data.shape)):
            orig = data[idx]
            data[idx] = orig + eps
            plus = _flat_outputs(fn(*inputs))
            data[idx] = orig - eps
            minus = _flat_outputs(fn(*inputs))
            data[idx] = orig
            jac[i] = (plus - minus) / (2 * eps)
        jacobians.append(jac)
    return jacobians


def _flat_outputs(out) -> np.ndarray:
    parts = [o._data.astype(np.float64).reshape(-1) for o in _as_tuple(out) if isinstance(o, Tensor)]
    return np.concatenate(parts) if parts else np.zeros(0)


def _analytical_jacobian(fn, inputs, targets) -> list[np.ndarray]:
    outputs = _as_tuple(fn(*inputs))
    n_out = sum(o.numel() for o in outputs if isinstance(o, Tensor))
    jacobians = [np.zeros((t.numel(), n_out)) for t in targets]
    offset = 0
    for o in outputs:
        if not isinstance(o, Tensor):
            continue
        if not o.requires_grad:
            offset += o.numel()
            continue
        for j in range(o.numel()):
            seed = np.zeros(o.numel(), o._data.dtype)
            seed[j] = 1
            grads = autograd_grad(o, targets, Tensor._make(seed.reshape(o.shape)),
                                  retain_graph=True, allow_unused=True)
            for k, g in enumerate(grads):
                if g is not None:
                    jacobians[k][:, offset + j] = g._data.astype(np.float64).reshape(-1)
        offset += o.numel()
    return jacobians


def gradcheck(func: Callable, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, **_ignored) -> bool:
    """Check the gradients of ``func`` at ``inputs`` against finite differences."""
    inputs = _as_tuple(inputs)
    targets = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    for t in targets:
        if t.dtype.name != "float64":
            import warnings

            warnings.warn(f"Input #{inputs.index(t)} requires gradient and is not a double precision "
                          "floating point. This check will likely fail if all the inputs are not of "
                          "double precision floating point. ", UserWarning)
    numerical = _numerical_jacobian(func, inputs, targets, eps)
    analytical = _analytical_jacobian(func, inputs, targets)
    for i, (n, a) in enumerate(zip(numerical, analytical)):
        if not np.allclose(a, n, rtol=rtol, atol=atol):
            if not raise_exception:
                return False
            raise GradcheckError(
                f"Jacobian mismatch for output 0 with respect to input {i},\n"
                f"numerical:{n}\nanalytical:{a}\n")
    return True


def gradgradcheck(func: Callable, inputs, grad_outputs: Sequence[Tensor] | None = None, *,
                  eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
                  raise_exception: bool = True, **_ignored) -> bool:
    """Check second derivatives: gradcheck of the map (inputs, v) -> vjp(func, inputs, v)."""
    from ..factories import randn

    inputs = _as_tuple(inputs)
    outputs = _differentiable_outputs(func, inputs)
    if grad_outputs is None:
        grad_outputs = [randn(o.shape, dtype=o.dtype).requires_grad_() for o in outputs]
    grad_outputs = list(_as_tuple(grad_outputs))
    n_in = len(inputs)

    def vjp(*args):
        ins, vs = args[:n_in], args[n_in:]
        outs = _differentiable_outputs(func, ins)
        targets = [t for t in ins if isinstance(t, Tensor) and t.requires_grad]
        grads = autograd_grad(outs, targets, list(vs), create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return gradcheck(vjp, tuple(inputs) + tuple(grad_outputs), eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
