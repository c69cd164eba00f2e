"""The CUDA backend: ``CudaArray`` storage over Numba device memory, ``kernels/cuda`` as compute.

Imported only when a program first asks for the ``cuda`` device (``backend_for``), so the
CPU install never imports ``numba.cuda``. Under ``NUMBA_ENABLE_CUDASIM=1`` (set before
the first import) it runs on Numba's CUDA simulator, which is how CI tests it.

``CudaArray`` is a strided view (shape, dtype, byte strides, byte offset: ``MetaArray``'s
metadata) of one ``Block`` of device memory from the caching allocator
(``gpu_memory.py``). It answers the NumPy questions ops ask of their storage (``shape``,
``strides``, ``flags``, ``reshape``, ``transpose``, basic indexing, ``np.broadcast_to``),
every one of them as the same operation on a layout-only NumPy template
(``meta.layout_template``), so views cost no device work; view ops run their metadata
rule and the backend re-attaches the block (``layout_views``). Kernels get Numba device
arrays of C-contiguous views (``device_view``) or ``kernels.cuda.elementwise.View``s.

Data stays on the device: the only host<->device copies are ``from_numpy``/``to_numpy``
(tensors moved by ``.to()``, ``.item()``, printing) and the reads a validation cannot
avoid; each one is counted in ``TRANSFERS``. An integer array that came from the host
remembers its value range (``bounds``), so index and target checks of uploaded indices
need no read back.
"""

from __future__ import annotations

import ctypes
import math
import os

import numpy as np
from numba import cuda

from kernels.cuda import attention as cattn
from kernels.cuda import conv as cconv
from kernels.cuda import elementwise as ew
from kernels.cuda import index as cindex
from kernels.cuda import interpolate as cinterp
from kernels.cuda import launch
from kernels.cuda import linalg as clinalg
from kernels.cuda import loss as closs
from kernels.cuda import matmul as cmatmul
from kernels.cuda import norm as cnorm
from kernels.cuda import optim as coptim
from kernels.cuda import pool as cpool
from kernels.cuda import qr as cqr
from kernels.cuda import random as crandom
from kernels.cuda import ranges as cranges
from kernels.cuda import reduce as creduce
from kernels.cuda import rnn as crnn
from kernels.cuda import sampling as csampling
from kernels.cuda import sort as csort
from kernels.cuda import sparse as csparse
from kernels.cuda import special as cspecial
from kernels.cuda import triangle as ctriangle

from ..device import device
from .base import Backend, deferred, register
from .gpu_memory import CachingAllocator, install_plugin
from .layout import overlap_status, storage_size
from .meta import MetaArray, _Flags, contiguous_strides, from_layout, layout_template

SIMULATED = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"
if not cuda.is_available():
    raise RuntimeError("autodiff has no cuda backend on this machine: numba-cuda is installed but finds "
                       "no CUDA GPU (no NVIDIA driver or no GPU); NUMBA_ENABLE_CUDASIM=1, set before "
                       "the first import, runs it on Numba's CUDA simulator instead")

# host<->device copies made by this backend: (number of copies, bytes), by direction
TRANSFERS = {"host_to_device": 0, "device_to_host": 0, "bytes": 0}

ALLOCATOR = CachingAllocator(install_plugin())  # (before anything makes the CUDA context)


def _count(direction: str, nbytes: int) -> None:
    TRANSFERS[direction] += 1
    TRANSFERS["bytes"] += nbytes


def _elements(strides: tuple, itemsize: int) -> tuple:
    return tuple(s // itemsize for s in strides)


class CudaArray:
    """A strided view of one block of device memory; see the module docstring."""

    __slots__ = ("block", "_shape", "dtype", "strides", "offset", "_writeable")
    __array_ufunc__ = None

    def __init__(self, block, shape: tuple, dtype, strides: tuple | None = None, offset: int = 0,
                 writeable: bool = True) -> None:
        self.block = block
        self._shape = tuple(int(n) for n in shape)
        self.dtype = np.dtype(dtype)
        self.strides = contiguous_strides(self._shape, self.dtype.itemsize) if strides is None \
            else tuple(strides)
        self.offset = offset  # bytes from the start of the block
        self._writeable = writeable

    @property
    def bounds(self) -> tuple | None:
        """(min, max) bounding the values of an integer block, when known (set when it came from
        the host; every write into the block forgets it), shared by all views of the block."""
        return self.block.bounds

    @bounds.setter
    def bounds(self, value: tuple | None) -> None:
        self.block.bounds = value

    # ---- metadata, as MetaArray / np.ndarray ------------------------------------------
    @property
    def shape(self) -> tuple:
        return self._shape

    @shape.setter
    def shape(self, new) -> None:  # as ndarray.shape = ...: AttributeError when no view exists
        t = layout_template(self).view()
        t.shape = new
        self._shape, self.strides = t.shape, t.strides

    ndim = property(lambda self: len(self._shape))
    size = property(lambda self: math.prod(self._shape))
    itemsize = property(lambda self: self.dtype.itemsize)
    nbytes = property(lambda self: self.size * self.dtype.itemsize)
    storage_size = property(lambda self: self.block.nbytes // self.dtype.itemsize)
    T = property(lambda self: self.transpose())

    @property
    def flags(self) -> _Flags:
        return MetaArray.flags.fget(self)

    def __repr__(self) -> str:
        return f"CudaArray(shape={self._shape}, dtype={self.dtype})"

    def __len__(self) -> int:
        return self._shape[0]

    # ---- views: the NumPy operation on a layout template, re-attached to the block -----
    def _from(self, view: np.ndarray, template: np.ndarray, writeable: bool = True) -> "CudaArray":
        m = from_layout(view, template, self)  # (the template itself is read-only: not its flag)
        return CudaArray(self.block, m.shape, m.dtype, m.strides, m.offset, self._writeable and writeable)

    def with_layout(self, m: MetaArray) -> "CudaArray":
        """The view of this block with ``m``'s shape, strides and (absolute) offset; writes into a
        broadcast one are refused by the ops' stride-0 check."""
        return CudaArray(self.block, m.shape, m.dtype, m.strides, m.offset, self._writeable)

    def view(self, dtype=None) -> "CudaArray":
        if dtype is not None and np.dtype(dtype) != self.dtype:
            raise NotImplementedError("CudaArray.view(dtype): reinterpreting device memory is not supported")
        return CudaArray(self.block, self._shape, self.dtype, self.strides, self.offset, self._writeable)

    def reshape(self, *shape) -> "CudaArray":
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        v = self.view()
        try:
            v.shape = shape
        except AttributeError:  # no view has that shape: a contiguous copy has one
            v = backend.copy(self)
            v.shape = shape
        return v

    def transpose(self, *axes) -> "CudaArray":
        t = layout_template(self)
        return self._from(t.transpose(*axes), t)

    def swapaxes(self, a: int, b: int) -> "CudaArray":
        t = layout_template(self)
        return self._from(t.swapaxes(a, b), t)

    def __getitem__(self, key) -> "CudaArray":
        key = key if isinstance(key, tuple) else (key,)
        if not all(k is None or k is Ellipsis or isinstance(k, (int, np.integer, slice)) for k in key):
            raise TypeError("CudaArray supports basic indexing only (ints, slices, None, Ellipsis)")
        t = layout_template(self)
        return self._from(t[key if Ellipsis in key else key + (Ellipsis,)], t)

    def __array_function__(self, func, types, args, kwargs):
        if func is np.broadcast_to:
            t = layout_template(self)
            return self._from(np.broadcast_to(t, *args[1:], **kwargs), t, writeable=False)
        if func in (np.may_share_memory, np.shares_memory):
            a, b = args[:2]
            return (type(a) is CudaArray and type(b) is CudaArray and a.block is b.block
                    and _overlap(a, b))
        if func is np.where and len(args) == 3:
            return _where(*args)
        return NotImplemented

    def __array__(self, dtype=None, copy=None):
        raise TypeError("can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu() to copy "
                        "the tensor to host memory first.")

    # ---- the few value questions ops ask of index arrays ----------------------------------
    def astype(self, dtype, copy: bool = True) -> "CudaArray":
        if not copy and np.dtype(dtype) == self.dtype:
            return self
        bounds = self.bounds
        out = backend.copy(self, np.dtype(dtype))
        out.bounds = bounds if np.dtype(dtype).kind in "iu" else None
        return out

    def copy(self) -> "CudaArray":
        return backend.copy(self)

    def min(self):
        return self._range()[0]

    def max(self):
        return self._range()[1]

    def _range(self) -> tuple:
        """(min, max) of an integer array: known from the host, else folded on the device and read
        (not remembered: this view may cover only part of its block)."""
        if self.bounds is not None:
            return self.bounds
        flat = backend.copy(self, np.int64) if self.dtype != np.int64 or not self.flags.c_contiguous \
            else self
        acc = backend.from_numpy(np.array([np.iinfo(np.int64).max, np.iinfo(np.int64).min]))
        cindex.min_max(flat.device_view().reshape(-1), acc.device_view())
        lo, hi = backend.to_numpy(acc).tolist()
        return lo, hi

    def __lt__(self, other):
        return _compare("lt", self, other)

    def __add__(self, other):
        out = backend.empty(self._shape, self.dtype)
        return backend.elementwise("add", self.dtype, out, self, self.dtype.type(other))

    def item(self):
        if self.size != 1:
            raise ValueError("can only convert an array of size 1 to a Python scalar")
        return backend.to_numpy(self).reshape(()).item()

    def tolist(self):
        return backend.to_numpy(self).tolist()

    # ---- device access ---------------------------------------------------------------------
    def device_view(self):
        """This C-contiguous array as a Numba device array (what kernels take). The view holds
        this array, so a temporary's block (``_3d``'s copy, a scratch buffer) stays out of the
        allocator's cache while a kernel may still use the view."""
        if not self.flags.c_contiguous:
            raise ValueError("device_view needs a C-contiguous CudaArray")
        start = self.offset // self.dtype.itemsize
        flat = self.block.typed(self.dtype)[start:start + self.size]
        view = flat.reshape(self._shape) if self.ndim != 1 else flat
        view.autodiff_array = self  # a fresh view (not the block's cached one): no cycle
        return view

    def ew_view(self) -> ew.View:
        """This array as the elementwise kernels' strided ``View`` (any strides, flips included)."""
        it = self.dtype.itemsize
        return ew.View(self.block.typed(self.dtype), self._shape, _elements(self.strides, it), self.offset // it)

    @property
    def __cuda_array_interface__(self) -> dict:
        raw = self.block.raw
        base = raw._ary.ctypes.data if SIMULATED else raw.device_ctypes_pointer.value
        contiguous = self.flags.c_contiguous
        return {"shape": self._shape, "typestr": self.dtype.str, "data": (base + self.offset, False),
                "strides": None if contiguous else self.strides, "version": 3}


class Foreign:
    """Device memory another library owns, standing where an allocator ``Block`` stands."""

    __slots__ = ("raw", "nbytes", "owner", "bounds", "__weakref__")

    def __init__(self, flat, nbytes: int, owner) -> None:
        self.raw, self.nbytes, self.owner, self.bounds = flat, nbytes, owner, None

    def typed(self, dtype: np.dtype):
        return self.raw if self.raw.dtype == dtype else self.raw.view(dtype)


def _overlap(a: CudaArray, b: CudaArray) -> bool:
    def span(x):
        lo = x.offset + sum(min(0, (n - 1) * s) for n, s in zip(x.shape, x.strides))
        hi = x.offset + sum(max(0, (n - 1) * s) for n, s in zip(x.shape, x.strides)) + x.itemsize
        return lo, hi
    (alo, ahi), (blo, bhi) = span(a), span(b)
    return a.size > 0 and b.size > 0 and alo < bhi and blo < ahi


def _broadcast(*shapes) -> tuple:
    return np.broadcast_shapes(*shapes)


def _compare(name: str, a: CudaArray, other) -> CudaArray:
    out = backend.empty(a.shape, np.bool_)
    return backend.elementwise(name, a.dtype, out, a, a.dtype.type(other))


def _where(cond, a, b) -> CudaArray:
    arrays = [x for x in (a, b) if type(x) is CudaArray]
    dt = arrays[0].dtype
    shape = _broadcast(cond.shape, *(x.shape for x in arrays))
    out = backend.empty(shape, dt)
    ops = [x if type(x) is CudaArray else dt.type(x) for x in (a, b)]
    return backend.elementwise("where", dt, out, cond, *ops)


def _3d(x: CudaArray):
    """Numba device array of a C-contiguous CudaArray (copying first where it is not)."""
    return (x if x.flags.c_contiguous else backend.copy(x)).device_view()


def _gemm_operand(x: CudaArray) -> tuple:
    """A 3-D GEMM operand as (device array, transposed): its own buffer when it or its
    transpose is C-contiguous (a batch broadcast by stride 0 is passed once), else a copy."""
    if x.shape[0] > 1 and x.strides[0] == 0:
        x = x[0:1]
    if x.flags.c_contiguous:
        return x.device_view(), False
    t = x.swapaxes(1, 2)
    if t.flags.c_contiguous:
        return t.device_view(), True
    return backend.copy(x).device_view(), False


class _Family(type):
    """Kernel families as namespaces; a name the CPU family has but this one lacks says so."""

    def __getattr__(cls, name: str):
        raise NotImplementedError(f"autodiff's CUDA backend has no {cls.__name__[1:].lower()}.{name} kernel "
                                  "yet: this op runs on the CPU only (move its tensors with .cpu())")


def _folding(name: str) -> classmethod:
    """The family entry ``(x, out)`` of reduction ``name``, split across blocks by ``_fold``."""
    return classmethod(lambda cls, x, out: cls._fold(name, x, out))


def _row_kernel(run, name: str) -> staticmethod:
    """The family entry ``(x, out)`` running ``run(name, ...)`` (a reduce or scan of
    ``kernels.cuda.reduce``) on the C-contiguous (A, K, B) device arrays."""
    return staticmethod(lambda x, out: run(name, _3d(x), out.device_view()))


class _Reduce(metaclass=_Family):
    """``kernels/cpu/reduce.py``'s names over ``kernels.cuda.reduce``."""

    CHUNK = 8  # a long K is split into pieces of CHUNK * TREE_THREADS, one block each, then merged

    @classmethod
    def _fold(cls, name: str, x: CudaArray, out: CudaArray) -> None:
        """out (A, B) = name over K of x (A, K, B); one block per output, or, for one long
        row set (A == 1), a first pass over K in pieces on many blocks and a second over
        the partial results."""
        a, k, b = x.shape
        xv, ov = _3d(x), out.device_view()
        piece = launch.TREE_THREADS * cls.CHUNK
        if a != 1 or k < 2 * piece or b * (k // piece) > 8 * launch.MAX_BLOCKS:
            creduce.reduce(name, xv, ov)
            return
        c, rem = divmod(k, piece)
        part = backend.empty((1, c + (rem > 0), b), out.dtype).device_view()
        rows = xv.reshape(k, b)
        creduce.reduce(name, rows[:c * piece].reshape(c, piece, b), part[0, :c])
        if rem:
            creduce.reduce(name, rows[c * piece:].reshape(1, rem, b), part[0, c:])
        creduce.reduce(name, part, ov)

    sum_, prod, all_, any_, max_, min_ = (_folding(n) for n in ("sum", "prod", "all", "any", "max", "min"))

    @staticmethod
    def max_argmax(x, out, out_idx):
        creduce.reduce("argmax", _3d(x), out.device_view(), out_idx.device_view())

    @staticmethod
    def min_argmin(x, out, out_idx):
        creduce.reduce("argmin", _3d(x), out.device_view(), out_idx.device_view())

    @staticmethod
    def argmax(x, out_idx):
        vals = backend.empty(out_idx.shape, x.dtype)
        creduce.reduce("argmax", _3d(x), vals.device_view(), out_idx.device_view())

    @staticmethod
    def argmin(x, out_idx):
        vals = backend.empty(out_idx.shape, x.dtype)
        creduce.reduce("argmin", _3d(x), vals.device_view(), out_idx.device_view())

    cumsum, cumprod = (_row_kernel(creduce.scan, n) for n in ("cumsum", "cumprod"))
    softmax, log_softmax, logsumexp = (_row_kernel(creduce.reduce, n)
                                       for n in ("softmax", "log_softmax", "logsumexp"))

    @classmethod
    def softmax_backward(cls, y, g, out):
        """out = y * (g - sum_K(g * y)), y the softmax (all (A, K, B))."""
        dt = y.dtype
        gy = backend.elementwise("mul", dt, backend.empty(y.shape, y.dtype), g, y)
        s = backend.empty((y.shape[0], 1, y.shape[2]), y.dtype)
        cls.sum_(gy, s.reshape(y.shape[0], y.shape[2]))
        backend.elementwise("sub", dt, out, g, s)
        backend.elementwise("mul", dt, out, out, y)

    @classmethod
    def log_softmax_backward(cls, y, g, out):
        """out = g - exp(y) * sum_K(g), y the log-softmax."""
        dt = y.dtype
        s = backend.empty((y.shape[0], 1, y.shape[2]), y.dtype)
        cls.sum_(g, s.reshape(y.shape[0], y.shape[2]))
        backend.elementwise("exp", dt, out, y)
        backend.elementwise("mul", dt, out, out, s)
        backend.elementwise("sub", dt, out, g, out)


def _batch3(x: CudaArray) -> CudaArray:
    """A (B1, B2, R, C) GEMM operand as (B1 * B2, R, C): a view where its two batch dims fold
    into one stride (stride 0 for a broadcast one), else a contiguous copy."""
    b1, b2, rows, cols = x.shape
    s1, s2, sr, sc = (s // x.itemsize for s in x.strides)
    if b2 == 1 or b1 == 1 or s1 == s2 * b2:
        return backend.strided(x, (b1 * b2, rows, cols), (s1 if b2 == 1 else s2, sr, sc), x._writeable)
    return _batch3(backend.copy(x))


class _Matmul(metaclass=_Family):
    @staticmethod
    def matmul(a, b, out):
        """out (B1, B2, M, N) = a (B1, B2, M, K) @ b (B1, B2, K, N), batch dims maybe broadcast."""
        if out.size == 0:
            return
        if a.shape[3] == 0:
            backend.elementwise("copy", out.dtype, out, out.dtype.type(0))
            return
        (av, ta), (bv, tb) = _gemm_operand(_batch3(a)), _gemm_operand(_batch3(b))
        cmatmul.gemm(av, bv, _batch3(out).device_view(), ta, tb)


class _Linear(metaclass=_Family):
    @staticmethod
    def linear(x, weight, bias, has_bias, out):
        """out (M, N) = x (M, K) @ weight (N, K).T (+ bias (N,))."""
        _Matmul.matmul(x[None, None], weight.T[None, None], out[None, None])
        if has_bias:
            backend.elementwise("add", out.dtype, out, out, bias)


def _flat_int(t: CudaArray) -> CudaArray:
    return t.reshape(-1) if t.flags.c_contiguous else backend.copy(t).reshape(-1)


class _Loss(metaclass=_Family):
    PARALLEL_MIN = 1 << 62  # one variant on the device: ops pick the serial names
    _ones: dict = {}

    @classmethod
    def _weights(cls, w):
        """Class weights as a device array: CPU ones (no weight given) are made on the device."""
        if type(w) is CudaArray:
            return _3d(w)
        if np.all(w == 1.0):
            ones = cls._ones.get(w.shape[0])
            if ones is None:
                ones = cls._ones[w.shape[0]] = backend.full(w.shape, 1.0, np.float64)
            return ones.device_view()
        return backend.from_numpy(np.ascontiguousarray(w)).device_view()

    @staticmethod
    def first_bad_target(t, C, ignore_index):
        lo, hi = t.bounds if t.bounds is not None else (None, None)
        if lo is not None and ((0 <= lo and hi < C) or lo == hi == ignore_index):
            return ignore_index
        flat = _flat_int(t)
        pos = backend.from_numpy(np.array([flat.size], np.int64))
        closs.first_bad(flat.device_view(), C, ignore_index, pos.device_view())
        p = backend.to_numpy(pos)[0]
        return ignore_index if p == flat.size else flat[int(p)].item()

    @classmethod
    def target_weight_sum(cls, t, w, ignore_index):
        if type(w) is not CudaArray and np.all(w == 1.0) and t.bounds is not None and \
                not t.bounds[0] <= ignore_index <= t.bounds[1]:
            return float(t.size)  # every target counts, with weight 1
        acc = backend.zeros((1,), np.float64)
        closs.weight_sum(_flat_int(t).device_view(), cls._weights(w), ignore_index, acc.device_view())
        return float(backend.to_numpy(acc)[0])

    @classmethod
    def target_distribution(cls, t, w, ignore_index, eps, out):
        closs.target_distribution(_3d(t), cls._weights(w), ignore_index, eps, out.device_view())

    @classmethod
    def cross_entropy_indices(cls, x, t, w, ignore_index, eps, out):
        closs.cross_entropy_indices(_3d(x), _3d(t), cls._weights(w), ignore_index, eps, out.device_view())

    @classmethod
    def cross_entropy_indices_backward(cls, x, t, w, ignore_index, eps, g, out):
        closs.cross_entropy_indices_backward(_3d(x), _3d(t), cls._weights(w), ignore_index, eps, _3d(g),
                                             out.device_view())

    @classmethod
    def cross_entropy_probs(cls, x, y, w, eps, out):
        closs.cross_entropy_probs(_3d(x), _3d(y), cls._weights(w), eps, out.device_view())

    @classmethod
    def cross_entropy_probs_backward(cls, x, y, w, eps, g, out):
        closs.cross_entropy_probs_backward(_3d(x), _3d(y), cls._weights(w), eps, _3d(g), out.device_view())


def _into(out: CudaArray, kernel, *args, first: bool = False) -> None:
    """Run an index kernel writing ``out`` (the kernel's first argument with ``first``, else
    its last): on its own buffer when C-contiguous, else on a C copy written back after (the
    CPU kernels take strided targets, as a scatter into a window of a tensor gives). A write
    forgets the indices range known from the host."""
    out.block.bounds = None
    target = out if out.flags.c_contiguous else backend.copy(out)
    view = target.device_view()
    kernel(*((view,) + args if first else args + (view,)))
    if target is not out:
        backend.elementwise("copy", out.dtype, out, target)


class _Index(metaclass=_Family):
    """``kernels/cpu/index.py``'s names; indices arrive validated (``ops.indexing.check_index``)."""

    @staticmethod
    def index_select(src, idx, out):
        _into(out, cindex.index_select, _3d(src), _3d(idx))

    @staticmethod
    def index_add(out, idx, src):
        _into(out, cindex.index_add, _3d(idx), _3d(src), first=True)

    @staticmethod
    def index_copy(out, idx, src):
        _into(out, cindex.index_copy, _3d(idx), _3d(src), first=True)

    @staticmethod
    def gather(src, idx, out):
        _into(out, cindex.gather, _3d(src), _3d(idx))

    @staticmethod
    def scatter(out, idx, src):
        _into(out, cindex.scatter, _3d(idx), _3d(src), first=True)

    @staticmethod
    def scatter_add(out, idx, src):
        _into(out, cindex.scatter_add, _3d(idx), _3d(src), first=True)

    @staticmethod
    def strided_add(storage, offset, shape, strides, src):
        cindex.strided_add(storage.device_view(), int(offset), tuple(int(n) for n in shape),
                           tuple(int(s) for s in strides), _3d(src))

    # masks: the runs' offsets first (``kernels.cuda.index``'s compaction), then one pass
    @staticmethod
    def _offsets(mask: CudaArray) -> tuple:
        """(run length, the runs' starting offsets, the 1-element count) of a flat mask."""
        counts = backend.empty((cindex.compact_runs(mask.size)[0],), np.int64)
        total = backend.empty((1,), np.int64)
        chunk = cindex.run_offsets(_3d(mask), counts.device_view(), total.device_view())
        return chunk, counts, total

    @classmethod
    def count_nonzero(cls, x: CudaArray) -> int:
        """How many elements of flat ``x`` are not zero (read back to the host: it sizes an output)."""
        return int(backend.to_numpy(cls._offsets(x)[2])[0])

    @classmethod
    def masked_select(cls, src: CudaArray, mask: CudaArray, out: CudaArray) -> None:
        chunk, offsets, _ = cls._offsets(mask)
        cindex.masked(False, _3d(mask), chunk, offsets.device_view(), _3d(src), out.device_view())

    @classmethod
    def masked_scatter(cls, out: CudaArray, mask: CudaArray, src: CudaArray) -> None:
        chunk, offsets, _ = cls._offsets(mask)
        cindex.masked(True, _3d(mask), chunk, offsets.device_view(), _3d(src), out.device_view())

    @classmethod
    def nonzero(cls, x: CudaArray, shape: np.ndarray, out: CudaArray) -> None:
        chunk, offsets, _ = cls._offsets(x)
        cindex.nonzero(_3d(x), chunk, offsets.device_view(), backend.from_numpy(shape).device_view(),
                       out.device_view())


def _strided(x: CudaArray) -> tuple:
    """(flat device array from ``x``'s first element, strides in elements) of a view with
    non-negative strides: how the window kernels (``conv``, ``pool``) take an operand, so a
    permuted view (channels-last) needs no copy."""
    if any(s < 0 for s in x.strides):
        raise ValueError("the window kernels take views with non-negative strides")
    it = x.itemsize
    start = x.offset // it
    span = 1 + sum((n - 1) * s for n, s in zip(x.shape, x.strides)) // it if x.size else 0
    return x.block.typed(x.dtype)[start:start + span], _elements(x.strides, it)


def _nchw(face: CudaArray) -> CudaArray:
    """The (N, C, H, W) view of an (N, H, W, C) array."""
    return face.transpose(0, 3, 1, 2)


class _Conv(metaclass=_Family):
    """``kernels/cpu/conv.py``'s names over ``kernels.cuda.conv``, whose kernels take 4-D views
    of any strides: the channels-last entries are the same kernels over permuted views, and
    the NCHW ones handle a weight or output in channels-last order alike. ``empty``, the CPU
    kernels' allocator of work buffers, is accepted for their signature; the one temporary
    here (the weight gradient's partials) comes from this backend's caching allocator."""

    @staticmethod
    def _forward(x, w, bias, has_bias, y, geo) -> None:
        (xv, xs), (wv, ws), (yv, ys) = _strided(x), _strided(w), _strided(y)
        cconv.forward(xv, xs, wv, ws, _3d(bias), bool(has_bias), yv, ys, x.shape + y.shape[1:], geo)

    @staticmethod
    def _input(gy, w, gx, geo) -> None:
        (gv, gs), (wv, ws), (xv, xs) = _strided(gy), _strided(w), _strided(gx)
        cconv.input_grad(gv, gs, wv, ws, xv, xs, gx.shape + gy.shape[1:], geo)

    @staticmethod
    def _weight(x, gy, gw, w4, geo) -> None:
        """gw (O, K), C-contiguous, seen as the 4-D ``w4`` (o, c, i, j): written whole, or the
        sum of per-chunk partials laid out as ``gw`` (one ``_Reduce.sum_`` over the chunks)."""
        shape = x.shape + gy.shape[1:]
        chunks, chunk = cconv.weight_split(shape[0] * shape[5] * shape[6], gw.size)
        part = gw if chunks == 1 else backend.empty((1, chunks, gw.size), gw.dtype)
        (xv, xs), (gv, gs), ws = _strided(x), _strided(gy), _elements(w4.strides, gw.itemsize)
        cconv.weight_grad(xv, xs, gv, gs, part.device_view().reshape(-1), ws, shape, geo, chunk)
        if chunks > 1:
            _Reduce.sum_(part, gw.reshape(1, gw.size))

    @classmethod
    def conv2d_forward(cls, x, w, bias, has_bias, y, KH, KW, sh, sw, ph, pw, dh, dw, groups, OH, OW,
                       empty=None) -> None:
        """y (N, O, OH*OW) = conv(x (N, C, H, W), w (O, Cg*KH*KW)) + bias."""
        O = w.shape[0]
        cls._forward(x, w.reshape(O, -1, KH, KW), bias, has_bias, y.reshape(y.shape[:2] + (OH, OW)),
                     (KH, KW, sh, sw, ph, pw, dh, dw, groups))

    @classmethod
    def conv2d_forward_nhwc(cls, x, w, bias, has_bias, y, KH, KW, sh, sw, ph, pw, dh, dw, groups, OH, OW,
                            empty=None) -> None:
        """y (N, OH*OW, O) = conv(x (N, H, W, C), w (O, KH*KW*Cg)) + bias."""
        N, _, O = y.shape
        cls._forward(_nchw(x), _nchw(w.reshape(O, KH, KW, -1)), bias, has_bias, _nchw(y.reshape(N, OH, OW, O)),
                     (KH, KW, sh, sw, ph, pw, dh, dw, groups))

    @classmethod
    def conv2d_input(cls, gy, w, gx, KH, KW, sh, sw, ph, pw, dh, dw, groups, OH, OW, empty=None) -> None:
        """gx (N, C, H, W) = the transposed convolution of gy (N, O, OH*OW) by w (O, Cg*KH*KW)."""
        O = w.shape[0]
        cls._input(gy.reshape(gy.shape[:2] + (OH, OW)), w.reshape(O, -1, KH, KW), gx,
                   (KH, KW, sh, sw, ph, pw, dh, dw, groups))

    @classmethod
    def conv2d_input_nhwc(cls, gy, w, gx, KH, KW, sh, sw, ph, pw, dh, dw, groups, OH, OW, empty=None) -> None:
        """gx (N, H, W, C) from gy (N, OH*OW, O) and w (O, KH*KW*Cg)."""
        N, _, O = gy.shape
        cls._input(_nchw(gy.reshape(N, OH, OW, O)), _nchw(w.reshape(O, KH, KW, -1)), _nchw(gx),
                   (KH, KW, sh, sw, ph, pw, dh, dw, groups))

    @classmethod
    def conv2d_weight(cls, x, gy, gw, KH, KW, sh, sw, ph, pw, dh, dw, groups, OH, OW, nhwc=False,
                      empty=None) -> None:
        """gw (O, Cg*KH*KW) from x (N, C, H, W) and gy (N, O, OH*OW); with ``nhwc``, gw (O, KH*KW*Cg)
        from x (N, H, W, C) and gy (N, OH*OW, O)."""
        geo = (KH, KW, sh, sw, ph, pw, dh, dw, groups)
        O = gw.shape[0]
        if nhwc:
            N = gy.shape[0]
            cls._weight(_nchw(x), _nchw(gy.reshape(N, OH, OW, O)), gw, _nchw(gw.reshape(O, KH, KW, -1)), geo)
        else:
            cls._weight(x, gy.reshape(gy.shape[:2] + (OH, OW)), gw, gw.reshape(O, -1, KH, KW), geo)


def _planes(a: CudaArray) -> CudaArray:
    """(P, H, W) planes as the (P, 1, H, W) view the pool kernels take."""
    return a[:, None]


def _rows(a: CudaArray) -> CudaArray:
    """(P, L) rows of plane positions as (P, 1, 1, L)."""
    return a[:, None, None]


def _rows_nhwc(a: CudaArray) -> CudaArray:
    """(N, L, C) channels-last positions as (N, C, 1, L)."""
    return a.transpose(0, 2, 1)[:, :, None]


class _Interpolate(metaclass=_Family):
    """``kernels/cpu/interpolate.py``'s names over ``kernels.cuda.interpolate``; the tap tables
    come from the host (the op layer computes them with PyTorch's rules) and are uploaded
    once per geometry (``_windows``)."""

    @staticmethod
    def resample(x: CudaArray, idx: np.ndarray, w: np.ndarray, out: CudaArray) -> None:
        cinterp.resample(_3d(x), *_windows(idx, w), out.device_view())

    @staticmethod
    def resample_adjoint(g: CudaArray, idx: np.ndarray, w: np.ndarray, out: CudaArray) -> None:
        backend.elementwise("copy", out.dtype, out, out.dtype.type(0))
        cinterp.resample_adjoint(_3d(g), *_windows(idx, w), out.device_view())


def _on_views(run, arrays: int, view) -> staticmethod:
    """The family entry calling ``run`` with its first ``arrays`` arguments as ``view`` makes them."""
    return staticmethod(lambda *args: run(*(view(a) for a in args[:arrays]), *args[arrays:]))


_WINDOWS: dict = {}  # average pooling's window bounds on the device, by their host bytes
_KEEP_WINDOWS = 64  # window sets kept; the cache starts over beyond that


def _windows(*arrays: np.ndarray) -> list:
    """Device copies of small host arrays (window bounds), uploaded on first use and kept, so
    that a training step moves no data."""
    key = tuple((a.dtype.str, a.shape, a.tobytes()) for a in arrays)
    got = _WINDOWS.get(key)
    if got is None:
        if len(_WINDOWS) >= _KEEP_WINDOWS:
            _WINDOWS.clear()
        got = _WINDOWS[key] = [backend.from_numpy(a) for a in arrays]  # (the blocks stay held)
    return [a.device_view() for a in got]


def _max_pool(x, y, idx, KH, KW, sh, sw, ph, pw, dh, dw) -> None:
    (xv, xs), (yv, ys), (iv, _) = _strided(x), _strided(y), _strided(idx)
    cpool.max_pool(xv, xs, yv, iv, ys, x.shape + y.shape[2:], (KH, KW, sh, sw, ph, pw, dh, dw))


def _gather(x, idx, y) -> None:
    (xv, xs), (iv, _), (yv, ys) = _strided(x), _strided(idx), _strided(y)
    cpool.gather(xv, xs, iv, yv, ys, y.shape[:2] + y.shape[3:])


def _scatter_add(g, idx, x) -> None:
    backend.elementwise("copy", x.dtype, x, x.dtype.type(0))
    (gv, gs), (iv, _), (xv, xs) = _strided(g), _strided(idx), _strided(x)
    cpool.scatter_add(gv, gs, iv, xv, xs, g.shape[:2] + g.shape[3:])


def _window_avg(x, y, h0, h1, w0, w1, div) -> None:
    (xv, xs), (yv, ys) = _strided(x), _strided(y)
    cpool.window_avg(xv, xs, yv, ys, *_windows(h0, h1, w0, w1, div), x.shape + y.shape[2:])


def _window_avg_backward(gy, gx, h0, h1, w0, w1, div) -> None:
    """The windows holding input row ``ih`` are the output rows ``[r0, r1)``: those ending after
    it and starting at or before it (a range, as the op layer's windows never move backwards)."""
    rows, cols = np.arange(gx.shape[2]), np.arange(gx.shape[3])
    inverse = (np.searchsorted(h1, rows, "right"), np.searchsorted(h0, rows, "right"),
               np.searchsorted(w1, cols, "right"), np.searchsorted(w0, cols, "right"))
    (gv, gs), (xv, xs) = _strided(gy), _strided(gx)
    cpool.window_avg_backward(gv, gs, xv, xs, *_windows(*inverse, div), gx.shape + gy.shape[2:])


def _on_views(run, arrays: int, view) -> staticmethod:
    """The family entry calling ``run`` with its first ``arrays`` arguments as ``view`` makes them."""
    return staticmethod(lambda *args: run(*(view(a) for a in args[:arrays]), *args[arrays:]))


class _Pool(metaclass=_Family):
    """``kernels/cpu/pool.py``'s names over ``kernels.cuda.pool``: each entry hands its arrays to
    one of five runners as (n, c, h, w) views, planes and channels-last tensors alike. The
    windows of average pooling come from the host (the op layer computes them with
    PyTorch's rules) and are uploaded once per geometry (``_windows``)."""

    max_pool2d, max_pool2d_nhwc = _on_views(_max_pool, 3, _planes), _on_views(_max_pool, 3, _nchw)
    plane_gather, plane_gather_nhwc = _on_views(_gather, 3, _rows), _on_views(_gather, 3, _rows_nhwc)
    plane_scatter_add = _on_views(_scatter_add, 3, _rows)
    plane_scatter_add_nhwc = _on_views(_scatter_add, 3, _rows_nhwc)
    window_avg, window_avg_nhwc = _on_views(_window_avg, 2, _planes), _on_views(_window_avg, 2, _nchw)
    window_avg_backward = _on_views(_window_avg_backward, 2, _planes)
    window_avg_backward_nhwc = _on_views(_window_avg_backward, 2, _nchw)


def _on_flat(run) -> staticmethod:
    """The family entry ``(*scalars, x, out)`` running ``run`` on the flat arrays' device views."""
    return staticmethod(lambda *args: run(*args[:-2], args[-2].device_view(), args[-1].device_view()))


class _Special(metaclass=_Family):
    """``kernels/cpu/special.py``'s names over ``kernels.cuda.special`` (flat arrays)."""

    lgamma, digamma, polygamma = _on_flat(cspecial.lgamma), _on_flat(cspecial.digamma), _on_flat(cspecial.polygamma)

    @staticmethod
    def gamma_sample_grad(x: CudaArray, alpha: CudaArray, out: CudaArray) -> None:
        cspecial.gamma_sample_grad(x.device_view(), alpha.device_view(), out.device_view())


class _Sort(metaclass=_Family):
    """``kernels/cpu/sort.py``'s names over ``kernels.cuda.sort``, with the per-thread row
    scratch the kernels sort in."""

    @staticmethod
    def _scratch(x: CudaArray) -> tuple:
        k = x.shape[1]
        n = csort.geometry(x.shape[0] * x.shape[2])[1]
        return tuple(backend.empty((n, k), dt).device_view() for dt in (x.dtype, np.int64, np.int64))

    @classmethod
    def sort(cls, x: CudaArray, values: CudaArray, indices: CudaArray, descending: bool) -> None:
        csort.sort(_3d(x), values.device_view(), indices.device_view(), bool(descending), *cls._scratch(x))

    @classmethod
    def pick_sorted(cls, x: CudaArray, position: int, nan_propagates: bool, values: CudaArray,
                    indices: CudaArray) -> None:
        csort.pick_sorted(_3d(x), int(position), bool(nan_propagates), values.device_view(),
                          indices.device_view(), *cls._scratch(x))


class _Rnn(metaclass=_Family):
    """``kernels/cpu/rnn.py``'s names over ``kernels.cuda.rnn``: the arrays come from the caching
    allocator, the initial states are copied in on the device, and the lengths (a host array)
    are uploaded once per distinct set (``_windows``), so a training step moves no data."""

    RNN_TANH, RNN_RELU, LSTM, GRU = crnn.RNN_TANH, crnn.RNN_RELU, crnn.LSTM, crnn.GRU

    @staticmethod
    def forward(mode: int, gi: CudaArray, w_hh: CudaArray, b_hh: CudaArray, lengths: np.ndarray, reverse: bool,
                h0: CudaArray, c0: CudaArray | None, w_hr: CudaArray | None = None) -> dict:
        """One layer direction: the arrays named in ``kernels.cpu.rnn`` (hs, cs, acts, gh, hr, out)."""
        T, N, GH = gi.shape
        H, P, dt = GH // crnn.GATES[mode], h0.shape[1], gi.dtype
        lstm = mode == crnn.LSTM
        hs = backend.empty((T + 1, N, P), dt)
        backend.elementwise("copy", dt, hs[0], h0)
        cs = backend.empty((T + 1, N, H) if lstm else (0, 0, 0), dt)
        if lstm:
            backend.elementwise("copy", dt, cs[0], c0)
        acts, gh, out = (backend.empty(shape, dt) for shape in ((T, N, GH), (T, N, GH), (T, N, P)))
        hr = backend.empty((T, N, H) if w_hr is not None else (0, 0, 0), dt)
        crnn.forward(int(mode), _3d(gi), _3d(w_hh), _3d(b_hh), None if w_hr is None else _3d(w_hr),
                     *_windows(lengths), bool(reverse), *(a.device_view() for a in (hs, cs, acts, gh, hr, out)))
        return {"hs": hs, "cs": cs, "acts": acts, "gh": gh, "hr": hr, "out": out}

    @staticmethod
    def backward(mode: int, w_hh: CudaArray, lengths: np.ndarray, reverse: bool, saved: dict, dout: CudaArray,
                 dhn: CudaArray, dcn: CudaArray | None, w_hr: CudaArray | None = None) -> tuple:
        """(dgi, dw_hh, db_hh, dh0, dc0, dw_hr) for the ``saved`` result of ``forward`` (``dw_hr``
        None without a projection)."""
        T, N, P = dout.shape
        GH, dt = w_hh.shape[0], dout.dtype
        H = GH // crnn.GATES[mode]
        proj = w_hr is not None
        dh = backend.copy(dhn, dt)
        dc = backend.zeros((N, H), dt) if dcn is None else backend.copy(dcn, dt)
        dgi, dgh = backend.empty((T, N, GH), dt), backend.empty((T, N, GH), dt)
        dw, db = backend.empty(w_hh.shape, dt), backend.empty((GH,), dt)
        dhp = backend.empty((T, N, P) if proj else (0, 0, 0), dt)
        dfull = backend.empty((N, H) if proj else (0, 0), dt)
        dw_hr = backend.empty(w_hr.shape, dt) if proj else None
        crnn.backward(int(mode), _3d(w_hh), _3d(w_hr) if proj else None, *_windows(lengths), bool(reverse),
                      *(saved[k].device_view() for k in ("hs", "cs", "acts", "gh", "hr")), _3d(dout),
                      *(a.device_view() for a in (dh, dc, dgi, dgh, dhp, dfull, dw, db)),
                      dw_hr.device_view() if proj else None)
        return dgi, dw, db, dh, dc, dw_hr


class _Norm(metaclass=_Family):
    """``kernels/cpu/norm.py``'s names over ``kernels.cuda.norm`` (C-contiguous rows)."""

    @staticmethod
    def layer_norm(x, w, b, has_w, has_b, eps, out, mean, rstd) -> None:
        cnorm.layer_norm(_3d(x), _3d(w), _3d(b), bool(has_w), bool(has_b), float(eps), out.device_view(),
                         mean.device_view(), rstd.device_view())

    @staticmethod
    def layer_norm_backward(x, w, has_w, mean, rstd, g, dx, dw, db) -> None:
        cnorm.layer_norm_backward(_3d(x), _3d(w), bool(has_w), mean.device_view(), rstd.device_view(), _3d(g),
                                  dx.device_view(), dw.device_view(), db.device_view())


class _Attention(metaclass=_Family):
    """``kernels/cpu/attention.py``'s names over ``kernels.cuda.attention``, whose kernels take
    every (A, B, T, D) operand as a flat array and its element strides (``_strided``), as the
    window kernels do: views and broadcast batches need no copy."""

    @staticmethod
    def _inputs(q, k, v, mask) -> tuple:
        """q, k, v and the mask as kernel operands, then ``has_mask`` (no mask: q stands in, unread)."""
        views = (_strided(t) for t in (q, k, v, q if mask is None else mask))
        return (*(part for view in views for part in view), mask is not None)

    @staticmethod
    def forward(q, k, v, mask, causal, scale, empty=None) -> tuple:
        A, B, L, E = q.shape
        out = backend.empty((A, B, L, v.shape[3]), q.dtype)
        lse = backend.empty((A, B, L), q.dtype)
        cattn.forward(*_Attention._inputs(q, k, v, mask), bool(causal), q.dtype.type(scale), *_strided(out),
                      lse.device_view(), (A, B, L, k.shape[2], E, v.shape[3]))
        return out, lse

    @staticmethod
    def backward(q, k, v, mask, causal, scale, out, lse, dout, empty=None) -> tuple:
        A, B, L, E = q.shape
        S, Ev = k.shape[2], v.shape[3]
        dq, dk, dv = (backend.empty(s, q.dtype) for s in ((A, B, L, E), (A, B, S, E), (A, B, S, Ev)))
        delta = backend.empty((A, B, L), q.dtype)  # rowsum(dout * out), from the dq kernel to the dk/dv one
        cattn.backward(*_Attention._inputs(q, k, v, mask), bool(causal), q.dtype.type(scale),
                       *_strided(out), lse.device_view(), *_strided(dout), delta.device_view(),
                       *_strided(dq), *_strided(dk), *_strided(dv), (A, B, L, S, E, Ev))
        return dq, dk, dv


class _Optim(metaclass=_Family):
    SGD, ADAM, RMSPROP, ADAGRAD = coptim.SGD, coptim.ADAM, coptim.RMSPROP, coptim.ADAGRAD

    @staticmethod
    def update_many(kind, items, hyper):
        """The fused update in place on every ``(p, g, states)`` of ``items`` (one dtype), a
        chunk of parameters per launch; the scalars travel as kernel arguments (no copy)."""
        # one tuple length for every rule: the kernel indexes every rule's scalars, so a shorter
        # tuple would not compile (a tuple index is checked at compile time)
        dt = items[0][0].dtype.type
        h = tuple(dt(v) for v in hyper) + (dt(0),) * (coptim.N_SCALARS - len(hyper))
        coptim.update_many(kind, [(p.device_view().reshape(-1), _3d(g).reshape(-1),
                                   [s.device_view().reshape(-1) for s in states]) for p, g, states in items], h)


class _Triangle(metaclass=_Family):
    @staticmethod
    def triangle_indices(rows: int, cols: int, offset: int, lower: bool, out: CudaArray) -> None:
        ctriangle.triangle_indices(int(rows), int(cols), int(offset), bool(lower), out.device_view())


class _Ranges(metaclass=_Family):
    @staticmethod
    def iota(out: CudaArray, start, step) -> None:
        """As the CPU kernel; integer results keep their known range, so index checks on them
        read nothing back."""
        cranges.iota(out.device_view(), start, step)
        if out.dtype.kind in "iu":
            last = start + (out.shape[0] - 1) * step
            out.bounds = (int(min(start, last)), int(max(start, last)))


class _Sampling(metaclass=_Family):
    @staticmethod
    def categorical(probs: CudaArray, uniforms: CudaArray, out: CudaArray) -> None:
        """As the CPU kernel; the rows' cumulative weights come from the in-order scan first."""
        cdf = backend.empty(probs.shape, probs.dtype)
        column = probs.shape + (1,)
        creduce.scan("cumsum", _3d(probs).reshape(column), cdf.device_view().reshape(column))
        csampling.categorical(_3d(probs), cdf.device_view(), _3d(uniforms), out.device_view())


class _Linalg(metaclass=_Family):
    """``kernels/cpu/linalg.py``'s names over ``kernels.cuda.linalg`` (C-contiguous batches)."""

    @staticmethod
    def cholesky(a: CudaArray, out: CudaArray) -> int:
        """As the CPU kernel: the first batch index whose matrix is not positive-definite, or -1
        (one number read back, which the op raises on)."""
        first_bad = backend.full((1,), a.shape[0], np.int64)
        clinalg.cholesky(_3d(a), out.device_view(), first_bad.device_view())
        bad = int(backend.to_numpy(first_bad)[0])
        return -1 if bad == a.shape[0] else bad

    @staticmethod
    def solve_triangular(l: CudaArray, rhs: CudaArray, out: CudaArray, upper: bool, left: bool,
                         unitriangular: bool) -> None:
        clinalg.solve_triangular(_3d(l), _3d(rhs), out.device_view(), bool(upper), bool(left), bool(unitriangular))


class _Qr(metaclass=_Family):
    @staticmethod
    def orthonormal_columns(a: CudaArray) -> CudaArray:
        """As the CPU kernel: a new (m, n) array, m >= n, of Q sign(diag(R)) for ``a``'s reduced QR."""
        work = backend.copy(a[None])  # a batch of one, overwritten by the reflectors
        q = backend.empty(work.shape, a.dtype)
        cqr.orthonormal_columns(work.device_view(), q.device_view(),
                                backend.empty((1, a.shape[1]), a.dtype).device_view())
        return q[0]


class _Sparse(metaclass=_Family):
    """``kernels/cpu/sparse.py``'s names over ``kernels.cuda.sparse``. The shapes (small host
    arrays) are uploaded once per distinct shape (``_windows``); ``runs`` and ``nonzero_flat``
    read their count back (it sizes the caller's outputs), after a compaction as
    ``_Index``'s masks."""

    @staticmethod
    def spmm(rows: CudaArray, cols: CudaArray, values: CudaArray, dense: CudaArray, out: CudaArray) -> None:
        backend.elementwise("copy", out.dtype, out, out.dtype.type(0))
        csparse.spmm(_3d(rows), _3d(cols), _3d(values), _3d(dense), out.device_view())

    @staticmethod
    def sddmm(rows: CudaArray, cols: CudaArray, a: CudaArray, b: CudaArray, out: CudaArray) -> None:
        csparse.sddmm(_3d(rows), _3d(cols), _3d(a), _3d(b), out.device_view())

    @staticmethod
    def runs(sorted_keys: CudaArray, order: CudaArray, inverse: CudaArray, unique_keys: CudaArray) -> int:
        starts = backend.empty(sorted_keys.shape, np.bool_)
        csparse.run_starts(_3d(sorted_keys), starts.device_view())
        chunk, offsets, total = _Index._offsets(starts)
        csparse.runs(_3d(sorted_keys), _3d(order), starts.device_view(), chunk, offsets.device_view(),
                     inverse.device_view(), unique_keys.device_view())
        n = int(backend.to_numpy(total)[0])
        inverse.bounds = (0, n - 1) if n else None  # the groups: an index check needs no fold
        return n

    @staticmethod
    def nonzero_flat(flat: CudaArray, out: CudaArray) -> int:
        chunk, offsets, total = _Index._offsets(flat)
        cindex.nonzero(_3d(flat), chunk, offsets.device_view(), backend.full((1,), flat.size, np.int64).device_view(),
                       out.device_view().reshape(out.size, 1))
        return int(backend.to_numpy(total)[0])

    @staticmethod
    def unravel(flat_index: CudaArray, shape: np.ndarray, out: CudaArray) -> None:
        csparse.unravel(_3d(flat_index), *_windows(shape), out.device_view())

    @staticmethod
    def ravel(indices: CudaArray, shape: np.ndarray, out: CudaArray) -> None:
        csparse.ravel(_3d(indices), *_windows(shape), out.device_view())


class _Random:
    """Device random numbers from xoroshiro128+ states (``kernels.cuda.random``)."""

    DEFAULT_SEED = 67280421310721  # torch's default seed

    def __init__(self) -> None:
        self.seed = deferred.pop("cuda_seed", self.DEFAULT_SEED)  # ad.cuda.manual_seed before loading
        self._gen = None

    def manual_seed(self, seed: int) -> None:
        self.seed = int(seed)
        self._gen = None

    def generator(self) -> crandom.Generator:
        if self._gen is None:
            # the simulator initialises every state in Python: keep its grid tiny
            blocks, threads = (2, 32) if SIMULATED else (min(launch.MAX_BLOCKS, 256), launch.THREADS)
            self._gen = crandom.Generator(self.seed % (1 << 64), blocks=blocks, threads=threads, on_device=True)
        return self._gen

    def standard_gamma(self, alpha: CudaArray) -> CudaArray:
        """Gamma(alpha, 1) samples of alpha's shape and dtype (alpha: C-contiguous)."""
        out = backend.empty(alpha.shape, alpha.dtype)
        if out.size:
            self.generator().standard_gamma(out.device_view().reshape(-1), alpha.device_view().reshape(-1))
        return out

    def fill(self, kind: str, shape: tuple, np_dtype) -> CudaArray:
        """A new array of ``shape`` from U[0, 1) (``uniform``) or N(0, 1) (``normal``)."""
        out = backend.empty(shape, np_dtype)
        if out.size:
            getattr(self.generator(), kind)(out.device_view().reshape(-1))
        return out


class CUDABackend(Backend):
    device = device("cuda", 0)
    storage = CudaArray
    layout_views = True

    reduce = _Reduce
    matmul = _Matmul
    linear = _Linear
    loss = _Loss
    index = _Index
    optim = _Optim
    conv = _Conv
    pool = _Pool
    special = _Special
    sort = _Sort
    rnn = _Rnn
    interpolate = _Interpolate
    triangle = _Triangle
    sampling = _Sampling
    ranges = _Ranges
    linalg = _Linalg
    qr = _Qr
    sparse = _Sparse
    norm = _Norm
    attention = _Attention

    def __getattr__(self, name: str):  # a kernel family the CPU backend has and this one has not
        if name.startswith("__"):
            raise AttributeError(name)
        raise NotImplementedError(f"autodiff's CUDA backend has no {name} kernels yet: these ops run on the "
                                  "CPU only (move their tensors with .cpu())")

    def __init__(self) -> None:
        self.random = _Random()
        self.allocator = ALLOCATOR
        self.transfers = TRANSFERS

    @staticmethod
    def empty(shape: tuple, np_dtype) -> CudaArray:
        shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
        dt = np.dtype(np_dtype)
        return CudaArray(ALLOCATOR.alloc(math.prod(shape) * dt.itemsize), shape, dt)

    def empty_strided(self, shape: tuple, strides: tuple | None, np_dtype) -> CudaArray:
        if strides is None:
            return self.empty(shape, np_dtype)
        dt = np.dtype(np_dtype)
        block = ALLOCATOR.alloc(storage_size(shape, strides) * dt.itemsize)
        return CudaArray(block, shape, dt, tuple(s * dt.itemsize for s in strides))

    def full(self, shape: tuple, value, np_dtype) -> CudaArray:
        out = self.empty(shape, np_dtype)
        return self.elementwise("copy", out.dtype, out, out.dtype.type(value))

    def zeros(self, shape: tuple, np_dtype) -> CudaArray:
        return self.full(shape, 0, np_dtype)

    def copy(self, src: CudaArray, np_dtype=None) -> CudaArray:
        dt = src.dtype if np_dtype is None else np.dtype(np_dtype)
        out = self.empty(src.shape, dt)
        if dt.kind == "b" and src.dtype.kind != "b":
            return self.elementwise("ne", src.dtype, out, src, src.dtype.type(0))
        return self.elementwise("copy", dt, out, src)

    @staticmethod
    def elementwise(name: str, compute, out: CudaArray, *operands) -> CudaArray:
        views = []
        for o in operands:
            if type(o) is CudaArray:
                views.append(o.ew_view())
            elif isinstance(o, np.ndarray):
                raise RuntimeError("Expected all tensors to be on the same device, but found at least two "
                                   "devices, cuda:0 and cpu!")
            else:
                views.append(o)
        out.block.bounds = None  # its values change
        ew.run(name, compute, out.ew_view(), *views)
        return out

    @staticmethod
    def view_of(data: CudaArray, meta: MetaArray) -> CudaArray:
        return data.with_layout(meta)

    # ---- views and index checks (strides and offsets in elements; layouts only, no data moves) ----
    @staticmethod
    def strided(data: CudaArray, shape: tuple, strides: tuple, writeable: bool = True) -> CudaArray:
        it = data.itemsize
        return CudaArray(data.block, shape, data.dtype, tuple(s * it for s in strides), data.offset,
                         writeable and data._writeable)

    @staticmethod
    def as_strided(data: CudaArray, shape: tuple, strides: tuple, storage_offset: int) -> CudaArray:
        it = data.itemsize
        return CudaArray(data.block, shape, data.dtype, tuple(s * it for s in strides), storage_offset * it,
                         data._writeable)

    @staticmethod
    def storage_offset(data: CudaArray) -> int:
        return data.offset // data.itemsize

    @staticmethod
    def storage_size(data: CudaArray) -> int:
        return data.storage_size

    @staticmethod
    def same_storage(a: CudaArray, b: CudaArray) -> bool:
        return a.block is b.block

    @staticmethod
    def address(data: CudaArray) -> int:
        return data.offset

    @staticmethod
    def index_range(index: CudaArray) -> tuple:
        return index._range()  # known from the host, or one device fold and a two-number read

    @staticmethod
    def wrap_negative(index: CudaArray, size: int) -> CudaArray:
        index = index.astype(np.int64)
        return _where(index < 0, index + size, index)

    @staticmethod
    def memory_overlap(a: CudaArray, b: CudaArray) -> str:
        if a is b:
            return "full"
        if not a.size or not b.size or a.block is not b.block or not _overlap(a, b):
            return "none"
        return overlap_status(a, b, a.offset, b.offset)

    @staticmethod
    def internal_overlap(a: CudaArray) -> bool:
        return a.size > 1 and (not a._writeable or any(s == 0 and n > 1 for s, n in zip(a.strides, a.shape)))

    def from_numpy(self, array: np.ndarray) -> CudaArray:
        host = np.ascontiguousarray(array).reshape(array.shape)  # (ascontiguousarray makes 0-d 1-d)
        out = self.empty(host.shape, host.dtype)
        if host.size:
            out.device_view().reshape(-1).copy_to_device(host.reshape(-1))
            _count("host_to_device", host.nbytes)
            if host.dtype.kind in "iu":
                out.bounds = (int(host.min()), int(host.max()))
        return out

    def to_numpy(self, data: CudaArray) -> np.ndarray:
        src = data if data.flags.c_contiguous else self.copy(data)
        if not src.size:
            return np.empty(src.shape, src.dtype)
        _count("device_to_host", src.nbytes)
        return src.device_view().reshape(-1).copy_to_host().reshape(src.shape)

    def from_cuda_array(self, obj) -> CudaArray:
        """A CudaArray over the memory of ``obj`` (anything with ``__cuda_array_interface__``:
        CuPy, torch, JAX, Numba arrays), no copy; it keeps ``obj`` alive."""
        desc = obj.__cuda_array_interface__
        dt, shape = np.dtype(desc["typestr"]), tuple(desc["shape"])
        strides = tuple(desc.get("strides") or contiguous_strides(shape, dt.itemsize))
        if not math.prod(shape):
            return self.empty(shape, dt)
        lo = sum(min(0, (n - 1) * s) for n, s in zip(shape, strides))
        hi = sum(max(0, (n - 1) * s) for n, s in zip(shape, strides)) + dt.itemsize
        ptr, readonly = desc["data"]
        span = {"shape": ((hi - lo) // dt.itemsize,), "typestr": desc["typestr"], "data": (ptr + lo, readonly),
                "strides": None, "version": 3}
        if SIMULATED:  # the simulator's device memory is host memory: wrap it as it is
            from numba.cuda.simulator.cudadrv.devicearray import FakeCUDAArray

            flat = FakeCUDAArray(np.frombuffer((ctypes.c_byte * (hi - lo)).from_address(ptr + lo), dt))
        else:
            flat = cuda.from_cuda_array_interface(span, owner=obj, sync=False)
        return CudaArray(Foreign(flat, hi - lo, obj), shape, dt, strides, -lo, not readonly)

    @staticmethod
    def synchronize() -> None:
        cuda.synchronize()


backend = register(CUDABackend())
