"""The backend interface and the registry keyed by device type and storage type."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..device import device
from .layout import contiguous_strides

# np.reshape(..., copy=False): a view or ValueError, never a copy (NumPy 2.1 and later)
_NO_COPY_RESHAPE = tuple(int(p) for p in np.__version__.split(".")[:2]) >= (2, 1)


class Backend:
    """What a device provides to the ops.

    * ``device``: the ``autodiff.device`` of the tensors it holds; ``storage``: the type
      of ``Tensor._data`` on it (how ``backend_of`` finds it, one dict lookup);
    * ``computes``: False for ``meta``, whose tensors carry metadata only;
    * allocation and conversion: ``empty``, ``empty_strided``, ``zeros``, ``copy`` (cast included), ``from_numpy``,
      ``to_numpy``;
    * views (``view``, ``strided``, ``as_strided``, ``storage_offset``, ``storage_size``): how every
      view op makes its result; index checks (``index_range``, ``wrap_negative``); write checks
      (``memory_overlap``, ``internal_overlap``);
    * elementwise by scalar-op name (the expressions of ``kernels.scalar_ops``):
      ``elementwise(name, compute_dtype, out, *operands)``, and optionally the fast path
      ``elementwise_flat(name, dtype, mask, result_bool, operands)`` for operands the op
      layer found to be of one dtype and shape, contiguous, broadcast single values or scalars (None: no such
      path, every call takes ``elementwise``);
    * kernel families as namespaces with the function names and signatures of
      ``kernels/cpu/<family>.py``: ``reduce``, ``index``, ``matmul``, ``linear``,
      ``conv``, ``pool``, ``loss``, ``optim``, ``qr``, ``attention``, ``rnn``, ``sort``,
      ``sampling``, ``interpolate``, ``sparse``, ``special``, ``linalg``, ``triangle``. A new device provides the same
      names over its own arrays (``kernels/cuda/<family>.py``).
    """

    device: device
    storage: type
    computes: bool = True
    layout_views: bool = False  # view ops run their metadata rule; ``view_of`` attaches the storage
    elementwise_flat = None  # the optional fast path named above

    def empty(self, shape: tuple, np_dtype) -> Any:
        raise NotImplementedError

    def zeros(self, shape: tuple, np_dtype) -> Any:
        raise NotImplementedError

    def empty_strided(self, shape: tuple, strides: tuple | None, np_dtype) -> Any:
        """An uninitialised array with ``strides`` in elements (None: C-contiguous), as
        ``torch.empty_strided``; the layouts of ``backends.layout`` are the ones asked for."""
        raise NotImplementedError

    def copy(self, src: Any, np_dtype=None) -> Any:
        raise NotImplementedError

    def elementwise(self, name: str, compute: Any, out: Any, *operands) -> Any:
        """``out[...] = name(*operands)`` computed in ``compute``: a NumPy dtype (``out.dtype``:
        the cheap form on hot paths, ``np.dtype.name`` costs microseconds) or its name."""
        raise NotImplementedError

    def join(self, out: Any, pieces: list, dim: int) -> Any:
        """``out = cat(pieces, dim)``: each piece (of out's shape but along ``dim``, any dtype)
        copied into its slice of ``out``, in order."""
        start = 0
        for p in pieces:
            k = p.shape[dim]
            if k and out.size:
                self.elementwise("copy", out.dtype, out[(slice(None),) * dim + (slice(start, start + k),)], p)
            start += k
        return out

    # ---- views: every view op makes its result by these (strides and offsets in elements) ----
    def view(self, data: Any, shape: tuple) -> Any:
        """``data`` with ``shape`` sharing its memory, or None when its strides allow no such view
        (storages that reshape as ``ndarray.shape = ...`` does need nothing more)."""
        if _NO_COPY_RESHAPE and type(data) is np.ndarray:
            # NumPy's shape setter copies the whole array before it refuses (22 us for 512 KB)
            try:
                return data.reshape(shape, copy=False)  # (the method: np.reshape costs 1 us more)
            except ValueError:
                return None
        v = data.view()
        try:
            v.shape = shape
        except AttributeError:
            return None
        return v

    def strided(self, data: Any, shape: tuple, strides: tuple, writeable: bool = True) -> Any:
        """A window of ``data``'s memory starting at its first element (strides may be 0 or overlap);
        read-only unless ``writeable`` and ``data`` is."""
        raise NotImplementedError

    def as_strided(self, data: Any, shape: tuple, strides: tuple, storage_offset: int) -> Any:
        """A window of the whole storage under ``data``, ``storage_offset`` elements from its start."""
        raise NotImplementedError

    def storage_offset(self, data: Any) -> int:
        """Elements between the start of ``data``'s storage and its first element."""
        raise NotImplementedError

    def storage_size(self, data: Any) -> int:
        """Elements in the storage under ``data``."""
        raise NotImplementedError

    def same_storage(self, a: Any, b: Any) -> bool:
        """Whether ``a`` and ``b`` are views of one storage."""
        return False

    def address(self, data: Any) -> int | None:
        """Where ``data``'s first element is, in bytes (comparable within one storage); None
        where the backend has no addresses (meta)."""
        return None

    def joined_view(self, pieces: list, dim: int) -> Any:
        """``cat(pieces, dim)`` as a C-contiguous view where the pieces already lie one after
        another along ``dim`` in one storage with one layout (gradients written into one
        buffer, as attention's of q, k and v split from one projection); None otherwise."""
        first = pieces[0]
        it, strides = first.itemsize, first.strides
        at, total = self.address(first), 0
        if at is None:
            return None
        for p in pieces:
            if p.strides != strides or p.dtype != first.dtype or self.address(p) != at or \
                    not (p is first or self.same_storage(p, first)):
                return None
            at += p.shape[dim] * strides[dim]
            total += p.shape[dim]
        shape = first.shape[:dim] + (total,) + first.shape[dim + 1:]
        c_strides = contiguous_strides(shape)
        if any(n > 1 and s != c * it for n, s, c in zip(shape, strides, c_strides)):
            return None
        return self.as_strided(first, shape, c_strides, self.storage_offset(first))

    # ---- index validation: values read on the device, two numbers come back --------------------
    def index_range(self, index: Any) -> tuple:
        """(min, max) of a non-empty integer array, as Python ints."""
        raise NotImplementedError

    def wrap_negative(self, index: Any, size: int) -> Any:
        """``index`` with ``size`` added to its negative values (a new int64 array)."""
        raise NotImplementedError

    def memory_overlap(self, a: Any, b: Any) -> str:
        """How two arrays share memory: ``"full"`` (the same elements, in the same layout),
        ``"partial"``, ``"none"``, or ``"too_hard"`` (either is not dense), as torch's
        ``get_overlap_status``."""
        return "too_hard"

    def internal_overlap(self, a: Any) -> bool:
        """Whether several elements of ``a`` are one memory location (stride 0, as ``expand``)."""
        return any(s == 0 and n > 1 for s, n in zip(a.strides, a.shape))

    def writable(self, a: Any) -> Any:
        """``a`` for an in-place write: where it is a read-only view of writable memory (a
        window of an ``expand`` result), a writable alias of the same elements."""
        return a

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.device}>"


_BY_DEVICE: dict[str, Backend] = {}
_BY_STORAGE: dict[type, Backend] = {}
# storage type -> the backend's ``elementwise_flat``, for the backends that have one (one
# lookup on the elementwise fast path instead of backend, attribute and None test)
FLAT_BY_STORAGE: dict[type, Any] = {}


def register(backend: Backend) -> Backend:
    """Make ``backend`` the one for its device type and its storage type."""
    _BY_DEVICE[backend.device.type] = backend
    _BY_STORAGE[backend.storage] = backend
    if backend.elementwise_flat is not None:
        FLAT_BY_STORAGE[backend.storage] = backend.elementwise_flat
    return backend


def backend_of(data: Any) -> Backend:
    """The backend holding a tensor's storage ``data``."""
    backend = _BY_STORAGE.get(type(data))
    if backend is None:  # a subclass of a storage type (np.memmap)
        backend = next(b for t, b in _BY_STORAGE.items() if isinstance(data, t))
    return backend


def backend_for(device_type: str) -> Backend:
    """The backend of a device type (``"cpu"``, ``"meta"``, ``"cuda"``: loaded on first use)."""
    try:
        return _BY_DEVICE[device_type]
    except KeyError:
        if device_type == "cuda":
            return _load_cuda()
        raise RuntimeError(f"autodiff has no {device_type} backend in this build: tensors can be "
                           f"created on {', '.join(repr(k) for k in _BY_DEVICE)} only") from None


# settings made before the backend of a device type is loaded (``autodiff.cuda.manual_seed``)
deferred: dict = {}


def _load_cuda() -> Backend:
    """Import the CUDA backend (``backends/gpu.py``); a RuntimeError saying why it cannot run."""
    import importlib.util

    if importlib.util.find_spec("numba_cuda") is None:
        raise RuntimeError("autodiff has no cuda backend in this install: it needs numba-cuda, which is "
                           "not installed (pip install autodiff[cuda])")
    from . import gpu

    return gpu.backend


def loaded(device_type: str) -> bool:
    """Whether the backend of ``device_type`` is loaded (``cuda`` is loaded on first use)."""
    return device_type in _BY_DEVICE


def is_storage(value: Any) -> bool:
    """Whether ``value`` is a backend's array (as opposed to a number)."""
    return type(value) in _BY_STORAGE


def storage_backend(values) -> Backend | None:
    """The backend of the first array among ``values``; None when all are numbers."""
    for v in values:
        backend = _BY_STORAGE.get(type(v))
        if backend is not None:
            return backend
    return None
