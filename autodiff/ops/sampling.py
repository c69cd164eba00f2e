"""Random sampling: ``multinomial``, ``randperm``, ``bernoulli`` and the in-place fills
``normal_``, ``uniform_``, ``exponential_``, ``bernoulli_``.

Every draw comes from autodiff's generator (``autodiff.manual_seed`` repeats it; a
``generator=`` argument overrides it). The streams are autodiff's own, not PyTorch's: the
same seed gives the same samples in autodiff, not the samples torch would draw.

The in-place fills write through ``copy_``, so they are version-counted and refused on a
leaf that requires grad, and the gradient through the overwritten tensor is zero, as in
PyTorch.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..backends import backend_for, backend_of, contiguous
from ..device import as_device
from ..random import Generator, rng
from ..tensor import Tensor


def _type_name(d: dtypes.dtype) -> str:
    return {"float32": "Float", "float64": "Double", "int64": "Long", "bool": "Bool"}.get(d.name, d.name)


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *,
                generator: Generator | None = None) -> Tensor:
    """Indices drawn from the categorical distributions in the rows of ``input`` (non-negative
    weights, normalised here): int64, shape ``input.shape[:-1] + (num_samples,)``.

    Without replacement the draw is the exponential-race construction: the ``num_samples``
    categories with the smallest ``E_i / w_i`` (E_i ~ Exp(1)), which is sequential
    sampling without replacement in distribution."""
    data = input._data
    if data.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: "
                           f"{_type_name(input.dtype)}")
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    be = backend_of(data)
    probs = contiguous(data.reshape(-1, data.shape[-1]))
    rows, categories = probs.shape
    if not replacement and num_samples > categories:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    _check_weights(Tensor._make(probs), num_samples, replacement)
    out = be.empty((rows, num_samples), np.int64)
    if replacement:
        be.sampling.categorical(probs, _draws(be, "uniform", out.shape, probs.dtype, generator), out)
    else:
        keys = _draws(be, "exponential", probs.shape, probs.dtype, generator)
        be.elementwise("div", keys.dtype, keys, keys, probs)  # E / 0 = inf: never drawn first
        be.sort.sort(keys.reshape(rows, categories, 1), be.empty(out.shape + (1,), keys.dtype),
                     out.reshape(out.shape + (1,)), False)
    return Tensor._make(out.reshape(data.shape[:-1] + (num_samples,)))


def randperm(n: int, *, generator: Generator | None = None, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:
    """A random permutation of ``0 .. n-1`` (int64 by default): the order of n random keys."""
    if n < 0:
        raise RuntimeError(f"n must be non-negative, got{n}")
    be = backend_for(as_device(device).type)
    keys = be.from_numpy(rng(generator).integers(0, np.iinfo(np.int64).max, (1, n, 1), dtype=np.int64))
    order = be.empty(keys.shape, np.int64)
    be.sort.sort(keys, be.empty(keys.shape, np.int64), order, False)
    d = dtypes.as_dtype(dtype) if dtype is not None else dtypes.int64
    out = Tensor._make(order.reshape(n) if d is dtypes.int64 else be.copy(order.reshape(n), d.np))
    return out.requires_grad_() if requires_grad else out


def _check_weights(probs: Tensor, num_samples: int, replacement: bool) -> None:
    """torch's checks of multinomial's (R, C) weights, as reductions on their device."""
    if not bool(((probs >= 0) & probs.isfinite()).all()):
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    if not probs.shape[0]:
        return
    positive = int((probs > 0).sum(1).min())
    if positive == 0:
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    if not replacement and positive < num_samples:
        raise RuntimeError("invalid multinomial distribution (with replacement=False, not enough "
                           "non-negative category to sample)")


_HOST_DRAWS = {"uniform": "random", "normal": "standard_normal", "exponential": "standard_exponential"}


def _draws(be, kind: str, shape: tuple, np_dtype, generator: Generator | None):
    """U[0, 1) (``uniform``), N(0, 1) (``normal``) or Exp(1) (``exponential``) samples of a
    float dtype as ``be``'s data: from the device's own generator on a CUDA backend when no
    generator is given (as the factories draw), else from autodiff's generator."""
    if generator is not None or be.device.type != "cuda":
        return be.from_numpy(getattr(rng(generator), _HOST_DRAWS[kind])(shape, dtype=np_dtype))
    u = be.random.fill("normal" if kind == "normal" else "uniform", shape, np_dtype)
    if kind == "exponential":  # -log(1 - U)
        for name in ("neg", "log1p", "neg"):
            be.elementwise(name, u.dtype, u, u)
    return u


def _bernoulli_from(be, shape: tuple, p, np_dtype, generator):
    """1 where a uniform draw falls below ``p`` (a number or ``be``'s array broadcasting to shape)."""
    u = _draws(be, "uniform", shape, np_dtype if np_dtype in (np.float32, np.float64) else np.float64, generator)
    if isinstance(p, (int, float)):
        p = u.dtype.type(p)
    elif p.dtype != u.dtype:
        p = be.copy(p, u.dtype)
    hit = be.elementwise("lt", u.dtype, be.empty(shape, np.bool_), u, p)
    return be.copy(hit, np_dtype)


def bernoulli(input: Tensor, p: float | None = None, *, generator: Generator | None = None) -> Tensor:
    """Samples of Bernoulli(input) (``input`` holds the probabilities), in input's dtype;
    with ``p``, Bernoulli(p) of input's shape."""
    data = input._data
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f'"bernoulli_tensor_cpu_p_" not implemented for \'{_type_name(input.dtype)}\'')
    if p is None:
        if data.size and not bool(((input >= 0) & (input <= 1)).all()):  # (NaN fails both)
            raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")
        p = data
    elif not 0 <= p <= 1:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
    return Tensor._make(_bernoulli_from(backend_of(data), data.shape, p, data.dtype, generator))


def _affine(x: np.ndarray, scale: float, shift: float) -> np.ndarray:
    """x * scale + shift, in place, in x's dtype."""
    t, be = x.dtype.type, backend_of(x)
    be.elementwise("mul", x.dtype, x, x, t(scale))
    return be.elementwise("add", x.dtype, x, x, t(shift))


def _fill(self: Tensor, sample: np.ndarray) -> Tensor:
    from .methods import copy_

    return copy_(self, Tensor._make(sample))


def _float_only(self: Tensor, kernel: str) -> None:
    if not self.dtype.is_floating_point:
        raise NotImplementedError(f'"{kernel}" not implemented for \'{_type_name(self.dtype)}\'')


def normal_(self: Tensor, mean: float = 0.0, std: float = 1.0, *, generator: Generator | None = None) -> Tensor:
    """Fill with samples of N(mean, std**2)."""
    _float_only(self, "normal_kernel_cpu")
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    z = _draws(backend_of(self._data), "normal", self.shape, self._data.dtype, generator)
    return _fill(self, _affine(z, std, mean))


def uniform_(self: Tensor, a: float = 0.0, b: float = 1.0, *, generator: Generator | None = None,
             **kw) -> Tensor:
    """Fill with samples of U[a, b) (torch's names ``from``/``to`` are accepted as keywords)."""
    a, b = kw.pop("from", a), kw.pop("to", b)
    if kw:
        raise TypeError(f"uniform_() got an unexpected keyword argument '{next(iter(kw))}'")
    _float_only(self, "check_uniform_bounds")
    if a > b:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found from={a} > to={b}")
    u = _draws(backend_of(self._data), "uniform", self.shape, self._data.dtype, generator)
    return _fill(self, _affine(u, b - a, a))


def exponential_(self: Tensor, lambd: float = 1.0, *, generator: Generator | None = None) -> Tensor:
    """Fill with samples of Exp(lambd) (density ``lambd * exp(-lambd * x)``)."""
    if not self.dtype.is_floating_point:
        raise RuntimeError("Exponential distribution is a continuous probability distribution. dtype must "
                           f"be a floating point but you specified {_type_name(self.dtype)}")
    if not lambd > 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd}")
    e = _draws(backend_of(self._data), "exponential", self.shape, self._data.dtype, generator)
    return _fill(self, _affine(e, 1.0 / lambd, 0.0))


def bernoulli_(self: Tensor, p=0.5, *, generator: Generator | None = None) -> Tensor:
    """Fill with Bernoulli(p) samples (``p`` a number or a tensor broadcasting to self)."""
    if isinstance(p, Tensor):
        p = p._data
    elif not 0 <= p <= 1:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
    return _fill(self, _bernoulli_from(backend_of(self._data), self.shape, p, self._data.dtype, generator))
