"""Tensor methods and operators that differ from an op's declared variants.

An op declaring ``variants`` gets its function, method and in-place method from that
declaration (``variants.py``). This table holds the rest: methods whose signature differs
from the function's (``add(alpha=)``, ``where`` with the condition first, size
arguments), aliases, operators, and the ops not yet declared with variants; in-place
forms (``add_``) and augmented assignment (``+=``) are made from the same ops by
``Op.apply_``.
"""

from __future__ import annotations

from .. import factories
from ..tensor import Tensor
from . import conversion as cv
from . import elementwise as ew
from . import matmul as mm
from . import indexing as ix
from . import joining as jn
from . import reduction as rd
from . import special as sp
from . import views as vw
from .op import Op
from .variants import fixed_method, inplace_method


def _reflected(fn):
    if isinstance(fn, Op):
        return fixed_method(fn, reflected=True)
    return lambda self, other: fn(other, self)


def _rtruediv(self, other):
    """``number / tensor`` as torch computes it: ``tensor.reciprocal() * number``."""
    if isinstance(other, (bool, int, float)):
        return ew.mul(ew.reciprocal(self), other)
    return ew.div(other, self)


def _size_args(fn):
    def method(self, *shape, **kw):
        if not shape:
            raise TypeError("missing 1 required positional arguments: \"shape\" (pass the sizes, "
                            "e.g. t.reshape(-1))")
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return fn(self, shape, **kw)
    return method


# (the elementwise ops' methods ``x.exp()``/``x.exp_()`` come from their declarations: variants.py)
_METHODS = {
    "add": ew.add, "sub": ew.sub, "true_divide": ew.div, "negative": ew.neg,
    "clamp": ew.clamp, "clip": ew.clamp, "nan_to_num": ew.nan_to_num, "bitwise_and": ew.bitwise_and,
    "bitwise_or": ew.bitwise_or, "bitwise_xor": ew.bitwise_xor, "bitwise_not": ew.bitwise_not,
    "where": lambda self, condition, other: ew.where(condition, self, other),
    "sum": rd.sum, "mean": rd.mean, "sum_to_size": _size_args(rd.sum_to_size),
    "prod": rd.prod, "max": rd.max, "min": rd.min, "amax": rd.amax, "amin": rd.amin,
    "argmax": rd.argmax, "argmin": rd.argmin, "var": rd.var, "std": rd.std, "norm": rd.norm,
    "logsumexp": rd.logsumexp, "softmax": rd.softmax, "log_softmax": rd.log_softmax,
    "cumsum": rd.cumsum, "cumprod": rd.cumprod, "all": rd.all, "any": rd.any,
    "matmul": mm.matmul, "__matmul__": mm.matmul, "__rmatmul__": _reflected(mm.matmul), "mm": mm.mm,
    "bmm": mm.bmm, "mv": mm.mv, "dot": mm.dot, "outer": mm.outer, "addmm": mm.addmm,
    "view": _size_args(lambda self, shape: vw.view(self, shape=shape)),
    "reshape": _size_args(vw.reshape), "expand": _size_args(lambda self, shape: vw.expand(self, shape=shape)),
    "expand_as": lambda self, other: vw.expand(self, shape=other.shape),
    "view_as": lambda self, other: vw.view(self, shape=other.shape),
    "reshape_as": lambda self, other: vw.reshape(self, other.shape),
    "unsqueeze": vw.unsqueeze, "squeeze": vw.squeeze, "flatten": vw.flatten,
    # views
    "unflatten": vw.unflatten, "transpose": vw.transpose, "swapaxes": vw.transpose, "t": vw.t,
    "permute": vw.permute, "movedim": vw.movedim, "narrow": vw.narrow, "select": vw.select,
    "diagonal": vw.diagonal, "unfold": vw.unfold, "as_strided": vw.as_strided,
    "broadcast_to": vw.broadcast_to, "split": vw.split, "chunk": vw.chunk, "unbind": vw.unbind,
    "storage_offset": lambda self: vw._storage_offset(self._data),
    "T": property(vw.reverse_dims), "mT": property(vw.matrix_transpose),
    # indexing and joining
    "__getitem__": ix.getitem, "__setitem__": ix.setitem, "index_select": ix.index_select,
    "index_add": ix.index_add, "index_add_": ix.index_add_, "index_copy": ix.index_copy,
    "index_copy_": ix.index_copy_, "gather": ix.gather, "scatter": ix.scatter, "scatter_": ix.scatter_,
    "scatter_add": ix.scatter_add, "scatter_add_": ix.scatter_add_, "masked_fill": ix.masked_fill,
    "masked_fill_": ix.masked_fill_, "masked_select": ix.masked_select, "nonzero": ix.nonzero, "count_nonzero": ix.count_nonzero,
    "argwhere": ix.argwhere,
    "take_along_dim": ix.take_along_dim, "repeat": jn.repeat, "tile": jn.tile, "flip": jn.flip,
    "roll": jn.roll, "tril": jn.tril, "triu": jn.triu, "tril_": jn.tril_, "triu_": jn.triu_,
    "clone": cv.clone, "contiguous": cv.contiguous, "to": cv.tensor_to, "type": cv.tensor_type,
    "type_as": lambda self, other: cv.to(self, other.dtype),
    "float": lambda self: cv.to(self, "float32"), "double": lambda self: cv.to(self, "float64"),
    "long": lambda self: cv.to(self, "int64"), "bool": lambda self: cv.to(self, "bool"),
    "int": lambda self: cv.to(self, "int64"),
    # operators
    "__add__": fixed_method(ew.add), "__radd__": _reflected(ew.add), "__sub__": fixed_method(ew.sub),
    "__rsub__": _reflected(ew.sub), "__mul__": fixed_method(ew.mul), "__rmul__": _reflected(ew.mul),
    "__truediv__": fixed_method(ew.div), "__rtruediv__": _rtruediv, "__pow__": fixed_method(ew.pow),
    "__rpow__": _reflected(ew.pow), "__mod__": fixed_method(ew.remainder), "__rmod__": _reflected(ew.remainder),
    "__floordiv__": fixed_method(ew.floor_divide), "__rfloordiv__": _reflected(ew.floor_divide),
    "__neg__": fixed_method(ew.neg), "__pos__": lambda self: self, "__abs__": fixed_method(ew.abs),
    "__eq__": fixed_method(ew.eq), "__ne__": fixed_method(ew.ne), "__lt__": fixed_method(ew.lt),
    "__le__": fixed_method(ew.le), "__gt__": fixed_method(ew.gt), "__ge__": fixed_method(ew.ge),
    "__and__": ew.bitwise_and, "__or__": ew.bitwise_or, "__xor__": ew.bitwise_xor,
    "__rand__": _reflected(ew.bitwise_and), "__ror__": _reflected(ew.bitwise_or),
    "__rxor__": _reflected(ew.bitwise_xor), "__invert__": ew.bitwise_not,
}

_AUGMENTED = {"__iadd__": ew.add, "__isub__": ew.sub, "__imul__": ew.mul, "__itruediv__": ew.div,
              "__ipow__": ew.pow, "__imod__": ew.remainder, "__ifloordiv__": ew.floor_divide,
              "__iand__": ew.bitwise_and, "__ior__": ew.bitwise_or,
              "__ixor__": ew.bitwise_xor}


def _augmented(fn):
    if not hasattr(fn, "apply_"):  # bitwise ops are checked wrappers around their op
        return lambda self, other: self.copy_(fn(self, other))
    return lambda self, other: fn.apply_(self, other)


def nan_to_num_(self, nan: float = 0.0, posinf=None, neginf=None):
    if not self.dtype.is_floating_point:  # nothing to replace (ew.nan_to_num)
        return self
    return ew._nan_to_num.apply_(self, *ew.nan_bounds(self, nan, posinf, neginf))


def clamp_(self, min=None, max=None):
    min, max = ew.clamp_bounds(min, max)
    if min is None:
        return ew.clamp_max.apply_(self, max)
    if max is None:
        return ew.clamp_min.apply_(self, min)
    return ew._clamp_both.apply_(self, min, max)


def fill_(self, value):
    return ew.fill_op.apply_(self, value)


def zero_(self):
    return fill_(self, 0)


def copy_(self, src, non_blocking: bool = False):
    return ew.copy_(self, src)


_METHODS.update({name: getattr(factories, name) for name in
                 ("new_tensor", "new_empty", "new_zeros", "new_ones", "new_full")})

_METHODS.update(lgamma=sp.lgamma, digamma=sp.digamma, polygamma=lambda self, n: sp.polygamma(n, self))

for _name, _fn in _METHODS.items():
    setattr(Tensor, _name, _fn)
for _op in (ew.add, ew.sub):  # add_(other, alpha=) and sub_: the op's own alpha
    setattr(Tensor, f"{_op.name}_", inplace_method(_op))
for _name, _fn in _AUGMENTED.items():
    setattr(Tensor, _name, _augmented(_fn))
for _fn in (clamp_, nan_to_num_, fill_, zero_, copy_):
    setattr(Tensor, _fn.__name__, _fn)
Tensor.clip_ = clamp_

# sorting, sampling and diagonals
from . import diagonals as _dg  # noqa: E402
from . import sampling as _sp  # noqa: E402
from . import sorting as _so  # noqa: E402

for _name, _fn in {
    "sort": _so.sort, "argsort": _so.argsort, "msort": _so.msort, "topk": _so.topk,
    "kthvalue": _so.kthvalue, "median": _so.median, "multinomial": _sp.multinomial,
    "bernoulli": _sp.bernoulli, "normal_": _sp.normal_, "uniform_": _sp.uniform_,
    "exponential_": _sp.exponential_, "bernoulli_": _sp.bernoulli_, "diag": _dg.diag,
    "diag_embed": _dg.diag_embed, "trace": _dg.trace,
}.items():
    setattr(Tensor, _name, _fn)


def _to_sparse(self, sparse_dim=None, *, layout=None):
    from ..sparse import to_sparse

    return to_sparse(self, sparse_dim, layout=layout)


Tensor.to_sparse = _to_sparse
Tensor.is_sparse = False


# memory formats: contiguous/clone/is_contiguous/to take ``memory_format``
def _install_memory_format() -> None:
    from .. import memory_format as mf

    previous_to = Tensor.to

    def to(self, *args, memory_format=None, **kwargs):
        out = previous_to(self, *args, **kwargs) if args or kwargs else self
        if memory_format is None or memory_format is mf.preserve_format:
            return out
        return mf.contiguous(out, memory_format)

    def clone(self, *, memory_format=mf.preserve_format):
        return mf.clone(self, memory_format=memory_format)

    Tensor.to = to
    Tensor.clone = clone
    Tensor.contiguous = mf.contiguous
    Tensor.is_contiguous = mf.is_contiguous


_install_memory_format()
