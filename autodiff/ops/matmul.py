"""Matrix products: matmul/@ with PyTorch's rules, mm, bmm, mv, dot, outer, addmm, einsum.

Everything reduces to one op, ``_bmm``: a batched (…, M, K) @ (…, K, N) product with
broadcast batch dimensions, run by the backend's ``matmul.matmul`` on (B1, B2, M, K) views whose
two batch dims fold the product's (on the CPU, BLAS reads each matrix in its own strides, so
transposed operands and interleaved attention heads are not copied). Its backward is two
more products (grad @ Bᵀ, Aᵀ @ grad); the op mechanism sums them back over broadcast
batch dims. A product with a 1-D operand is one op of its own (``dot``, ``mv``, ...), which
takes the vector as a row or column inside its forward, so its result is a new tensor as in
torch, not a view of a temporary.
"""

from __future__ import annotations

import math
import string

import numpy as np

from .. import backends
from ..backends import backend_of
from ..backends.meta import MetaArray

from ..tensor import Tensor
from .checks import check_same_dtype
from .elementwise import broadcast_shapes
from .op import Op
from .reduction import sum as _sum


def _element_strides(data, batch: tuple) -> list:
    """The element strides of ``data`` (…, R, C) broadcast to ``batch`` + (R, C): 0 along
    a broadcast dim."""
    lead = len(batch) + 2 - data.ndim
    own = [s // data.itemsize for s in data.strides]
    return [0] * lead + [0 if n == 1 and b != 1 else s
                         for n, b, s in zip(data.shape[:-2], batch[lead:], own[:-2])] + own[-2:]


def _folds(shape: tuple, strides: list) -> bool:
    """Whether dims ``shape`` of ``strides`` fold into one (each stride the next one's span)."""
    dims = [(n, s) for n, s in zip(shape, strides) if n != 1]
    return all(s == s_next * n_next for (_, s), (n_next, s_next) in zip(dims, dims[1:]))


def _fold_point(batch: tuple, operand_strides: list) -> int | None:
    """A cut of ``batch`` into two groups that each fold into one dim for every operand."""
    for p in range(len(batch) + 1):
        if all(_folds(batch[:p], st[:p]) and _folds(batch[p:], st[p:len(batch)]) for st in operand_strides):
            return p
    return None


def _fold_stride(shape: tuple, strides: list) -> int:
    inner = [s for n, s in zip(shape, strides) if n != 1]
    return inner[-1] if inner else 0


def _broadcast(data, batch: tuple):
    """``data`` (…, R, C) viewed as ``batch`` + (R, C)."""
    return backend_of(data).strided(data, batch + data.shape[-2:], _element_strides(data, batch), writeable=False)


def _as_batch4(data, batch: tuple, cut: int):
    """``data`` (…, R, C) broadcast to ``batch`` + (R, C) and viewed as (B1, B2, R, C), the
    batch dims before ``cut`` folded into B1 and the rest into B2 (``_fold_point``)."""
    st = _element_strides(data, batch)
    shape = (math.prod(batch[:cut]), math.prod(batch[cut:])) + data.shape[-2:]
    strides = (_fold_stride(batch[:cut], st[:cut]), _fold_stride(batch[cut:], st[cut:len(batch)]), *st[-2:])
    return backend_of(data).strided(data, shape, strides, writeable=False)


def _bmm_meta(a, b) -> MetaArray:
    """Batched matrix product: the broadcast batch dims, then (m, n)."""
    (m, k1), (k2, n) = a.shape[-2:], b.shape[-2:]
    if k1 != k2:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({m}x{k1} and {k2}x{n}) "
                           f"(operand shapes {list(a.shape)} and {list(b.shape)})")
    check_same_dtype("matmul", a.dtype, b.dtype)
    dt = a.dtype
    if dt.kind == "b":
        raise RuntimeError('"addmm_impl_cpu_" not implemented for \'Bool\'')
    return MetaArray(broadcast_shapes(a.shape[:-2], b.shape[:-2]) + (m, n), dt)


def _bmm_forward(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    be = backend_of(a)
    meta = _bmm_meta(a, b)
    batch, (m, n) = meta.shape[:-2], meta.shape[-2:]
    if len(batch) == 2 and a.shape[:2] == b.shape[:2]:  # (B1, B2) already: nothing to fold
        out = be.empty(batch + (m, n), meta.dtype)
        be.matmul.matmul(a, b, out)
        return out
    cut = _fold_point(batch, [_element_strides(a, batch), _element_strides(b, batch)])
    if cut is None:  # batch dims that no cut folds for both: copies that do (rare: 3+ batch dims)
        a, b, cut = backends.copy(_broadcast(a, batch)), backends.copy(_broadcast(b, batch)), 0
    out = be.empty(batch + (m, n), meta.dtype)
    a4, b4 = _as_batch4(a, batch, cut), _as_batch4(b, batch, cut)
    be.matmul.matmul(a4, b4, out.reshape(a4.shape[:2] + (m, n)))
    return out


_bmm = Op("matmul", ("self", "other"), _bmm_forward, (
    lambda grad, other: _bmm(grad, other.mT),
    lambda grad, self: _bmm(self.mT, grad),
), node_name="MmBackward0", meta=_bmm_meta)


# ---- products with a 1-D operand: one op each, whose result is a new tensor ---------------------
# (the 1-D operand is taken as a 1 x K row or K x 1 column inside the forward, and its extra
# dimension dropped there, so no view of a temporary reaches the user, as in torch)

def _as_matrices(a, b) -> tuple:
    return (a.reshape((1,) + a.shape) if a.ndim == 1 else a,
            b.reshape(b.shape + (1,)) if b.ndim == 1 else b)


def _dropped(shape: tuple, a_vector: bool, b_vector: bool) -> tuple:
    """The product's shape without the row (1-D left operand) and column (1-D right operand) dims."""
    return shape[:-2] + shape[-2:-1] * (not a_vector) + shape[-1:] * (not b_vector)


def _vector_meta(a, b) -> MetaArray:
    meta = _bmm_meta(MetaArray((1,) + a.shape, a.dtype) if a.ndim == 1 else a,
                     MetaArray(b.shape + (1,), b.dtype) if b.ndim == 1 else b)
    return MetaArray(_dropped(meta.shape, a.ndim == 1, b.ndim == 1), meta.dtype)


def _vector_forward(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = _bmm_forward(*_as_matrices(a, b))
    return out.reshape(_dropped(out.shape, a.ndim == 1, b.ndim == 1))


def _lifted(grad: Tensor, self: Tensor, other: Tensor) -> Tensor:
    """The gradient with the dropped row/column dims put back: the product's gradient."""
    if other.ndim == 1:
        grad = grad.unsqueeze(-1)
    return grad.unsqueeze(-2) if self.ndim == 1 else grad


def _vector_grad_self(grad, self, other):
    b = other.unsqueeze(-1) if other.ndim == 1 else other
    g = _bmm(_lifted(grad, self, other), b.mT)
    return g.squeeze(-2) if self.ndim == 1 else g


def _vector_grad_other(grad, self, other):
    a = self.unsqueeze(0) if self.ndim == 1 else self
    g = _bmm(a.mT, _lifted(grad, self, other))
    return g.squeeze(-1) if other.ndim == 1 else g


def _vector_op(name: str, node_name: str) -> Op:
    return Op(name, ("self", "other"), _vector_forward, (_vector_grad_self, _vector_grad_other),
              node_name=node_name, meta=_vector_meta)


# torch's grad_fn names for (1-D, 1-D), (2-D, 1-D), (1-D, 2-D) and batched products
_dot = _vector_op("dot", "DotBackward0")
_mv = _vector_op("mv", "MvBackward0")
_vm = _vector_op("vm", "SqueezeBackward4")
_batched_vector = _vector_op("batched_vector_matmul", "UnsafeViewBackward0")


def _check_operand(t) -> None:
    if not isinstance(t, Tensor):
        raise TypeError(f"matmul(): argument must be a Tensor, not {type(t).__name__}")
    if t.ndim == 0:
        raise RuntimeError("both arguments to matmul need to be at least 1D, but they are "
                           f"{t.ndim}D and ...D")


def _sparse_product(input, other):
    """``torch.sparse.mm`` when an operand is a sparse COO matrix (a vector operand as one
    column or row), else None."""
    if not (getattr(input, "is_sparse", False) or getattr(other, "is_sparse", False)):
        return None
    from ..sparse import mm as sparse_mm
    if getattr(input, "is_sparse", False) and getattr(other, "is_sparse", False):
        raise NotImplementedError("matmul of two sparse tensors is not supported; call .to_dense() on one")
    if isinstance(other, Tensor) and other.ndim == 1:
        return sparse_mm(input, other.unsqueeze(1)).squeeze(1)
    if isinstance(input, Tensor) and input.ndim == 1:
        return sparse_mm(input.unsqueeze(0), other).squeeze(0)
    return sparse_mm(input, other)


def matmul(input: Tensor, other: Tensor) -> Tensor:
    """The matrix product with PyTorch's rules for 1-D operands and broadcast batch dims
    (a sparse COO operand: ``sparse.mm``)."""
    sparse = _sparse_product(input, other)
    if sparse is not None:
        return sparse
    for t in (input, other):
        _check_operand(t)
    if input.ndim == 1 and other.ndim == 1:
        return dot(input, other)
    if input.ndim == 2 and other.ndim == 1:
        return _mv(input, other)
    if input.ndim == 1 and other.ndim == 2:
        return _vm(input, other)
    if input.ndim == 1 or other.ndim == 1:
        return _batched_vector(input, other)
    if other.ndim >= 3 and input.dtype != other.dtype and (0 in input.shape or 0 in other.shape):
        # torch's batched product returns before its dtype check when there is nothing to
        # compute (an empty result, or K = 0): zeros in other's dtype
        input = input.to(other.dtype)
    return _bmm(input, other)


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """2-D matrix product (no broadcasting; a sparse COO operand: ``sparse.mm``)."""
    sparse = _sparse_product(input, mat2)
    if sparse is not None:
        return sparse
    if input.ndim != 2:
        raise RuntimeError(f"self must be a matrix (got a {input.ndim}-D tensor of shape {list(input.shape)})")
    if mat2.ndim != 2:
        raise RuntimeError(f"mat2 must be a matrix (got a {mat2.ndim}-D tensor of shape {list(mat2.shape)})")
    return _bmm(input, mat2)


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Batched 3-D matrix product with equal batch sizes."""
    if input.ndim != 3 or mat2.ndim != 3:
        raise RuntimeError(f"batch1 and batch2 must be 3D tensors, got shapes {list(input.shape)} "
                           f"and {list(mat2.shape)}")
    if input.shape[0] != mat2.shape[0]:
        raise RuntimeError(f"batch1 and batch2 must have same number of batches, got "
                           f"{input.shape[0]} and {mat2.shape[0]}")
    return _bmm(input, mat2)


def mv(input: Tensor, vec: Tensor) -> Tensor:
    """Matrix-vector product."""
    if input.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {input.ndim}, {vec.ndim} dims "
                           f"(shapes {list(input.shape)} and {list(vec.shape)})")
    return matmul(input, vec)


def dot(input: Tensor, other: Tensor) -> Tensor:
    """Inner product of two 1-D tensors of the same length."""
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {other.ndim}D tensors")
    if input.shape[0] != other.shape[0]:
        raise RuntimeError(
            "inconsistent tensor size, expected tensor [%d] and src [%d] to have the same number "
            "of elements, but got %d and %d elements respectively"
            % (input.shape[0], other.shape[0], input.shape[0], other.shape[0]))
    return _dot(input, other)


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """Outer product of two 1-D tensors (an elementwise broadcast product)."""
    if input.ndim != 1 or vec2.ndim != 1:
        raise RuntimeError(f"outer: expected 1-D tensors, got {input.ndim}D and {vec2.ndim}D")
    return input.unsqueeze(1) * vec2.unsqueeze(0)


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """beta * input + alpha * (mat1 @ mat2)."""
    prod = mm(mat1, mat2)
    if alpha != 1:
        prod = prod * alpha
    if beta == 0:  # input is ignored (not even its NaNs propagate), as in torch
        return prod
    return prod + (input if beta == 1 else input * beta)


# ---- einsum ----------------------------------------------------------------------------------
def _parse_einsum(equation: str, operands) -> tuple[list[str], str]:
    """Subscripts per operand and for the output, with '...' expanded to spare letters."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    inputs = lhs.split(",")
    if len(inputs) != len(operands):
        raise ValueError(f"einsum(): {len(inputs)} subscript groups for {len(operands)} operands")
    spare = iter(c for c in string.ascii_letters if c not in eq)
    ell_rank = max((t.ndim - len(s.replace("...", "")) for s, t in zip(inputs, operands) if "..." in s),
                   default=0)
    ell = "".join(next(spare) for _ in range(ell_rank))
    subs = []
    for s, t in zip(inputs, operands):
        if "..." in s:
            k = t.ndim - len(s.replace("...", ""))
            s = s.replace("...", ell[ell_rank - k:])
        if len(s) != t.ndim:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({len(s)}) does "
                               f"not match the number of dimensions ({t.ndim}) for operand "
                               f"with shape {list(t.shape)}")
        if len(set(s)) != len(s):
            raise NotImplementedError(f"einsum(): repeated subscripts within an operand ({s!r}) "
                                      "are not supported")
        subs.append(s)
    if arrow:
        out = rhs.replace("...", ell)
    else:
        counts = {}
        for s in subs:
            for c in s:
                counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    return subs, out


def _sum_out(t: Tensor, subs: str, keep: str) -> tuple[Tensor, str]:
    """Sum away the subscripts of ``t`` that do not appear in ``keep``."""
    drop = [i for i, c in enumerate(subs) if c not in keep]
    if not drop:
        return t, subs
    return _sum(t, dim=tuple(drop)), "".join(c for c in subs if c in keep)


def _aligned(t: Tensor, subs: str, order: str) -> Tensor:
    """``t`` permuted to ``order``'s order of its subscripts, with size-1 dims for the others."""
    present = [c for c in order if c in subs]
    if present != list(subs):
        t = t.permute(*[subs.index(c) for c in present])
    return t.reshape(tuple(t.shape[present.index(c)] if c in subs else 1 for c in order))


def _contract(a: Tensor, sa: str, b: Tensor, sb: str, keep: str) -> tuple[Tensor, str]:
    """Contract two operands with one batched matmul; result subscripts: batch, left, right."""
    a, sa = _sum_out(a, sa, sb + keep)
    b, sb = _sum_out(b, sb, sa + keep)
    batch = [c for c in sa if c in sb and c in keep]
    contracted = [c for c in sa if c in sb and c not in keep]
    if not contracted:  # nothing summed: an elementwise product of the aligned operands, as torch
        order = "".join(dict.fromkeys(c for c in keep + sa + sb if c in sa or c in sb))
        return _aligned(a, sa, order) * _aligned(b, sb, order), order
    left = [c for c in sa if c not in sb]
    right = [c for c in sb if c not in sa]
    if left and right and keep.index(right[0]) < keep.index(left[0]):
        # the output lists b's dims first: b @ a gives it in that order, contiguous (as torch)
        return _contract(b, sb, a, sa, keep)
    size = {**dict(zip(sb, b.shape)), **dict(zip(sa, a.shape))}
    a3 = a.permute(*[sa.index(c) for c in batch + left + contracted]).reshape(
        tuple(size[c] for c in batch) + (math.prod(size[c] for c in left), math.prod(size[c] for c in contracted)))
    b3 = b.permute(*[sb.index(c) for c in batch + contracted + right]).reshape(
        tuple(size[c] for c in batch) + (math.prod(size[c] for c in contracted), math.prod(size[c] for c in right)))
    out = _bmm(a3, b3).reshape(tuple(size[c] for c in batch + left + right))
    return out, "".join(batch + left + right)


def _broadcast_einsum_operands(subs: list[str], operands) -> list:
    """Each subscript's size agreed by all operands (size 1 broadcasts, as in torch), and the
    operands expanded to it; torch's error for sizes that do not broadcast."""
    sizes: dict[str, int] = {}
    for i, (s, t) in enumerate(zip(subs, operands)):
        for c, n in zip(s, t.shape):
            seen = sizes.setdefault(c, n)
            if n != seen and 1 not in (n, seen):
                raise RuntimeError(f"einsum(): subscript {c} has size {n} for operand {i} which does not "
                                   f"broadcast with previously seen size {seen}")
            sizes[c] = n if seen == 1 else seen
    return [t if all(n == sizes[c] for c, n in zip(s, t.shape)) else t.expand(*[sizes[c] for c in s])
            for s, t in zip(subs, operands)]


def einsum(equation: str, *operands: Tensor) -> Tensor:
    """Einstein summation over one or more operands, contracted pairwise by batched matmul."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    subs, out = _parse_einsum(equation, operands)
    given = operands[0]
    operands = _broadcast_einsum_operands(subs, operands)
    result, rs = operands[0], subs[0]
    for i in range(1, len(operands)):
        # keep what the output or a later operand still needs
        result, rs = _contract(result, rs, operands[i], subs[i], out + "".join(subs[i + 1:]))
    result, rs = _sum_out(result, rs, out)
    # a single operand only permuted is a view of it (never the operand itself), as in torch
    return result.permute(*[rs.index(c) for c in out]) if rs != out or result is given else result
