"""Tensor: storage (a NumPy array, possibly a view) plus the autograd fields.

Storage and views: ``_data`` is the backend's array (NumPy on the CPU); a view op's result holds a NumPy view
of the same buffer, so ``from_numpy``/``numpy()`` share memory. Every tensor viewing
one buffer shares one version counter (a one-element list): each in-place write bumps
it, and saved tensors compare it in backward.

Autograd fields: ``grad_fn`` (the node that made this tensor, None for leaves) and
``_output_nr`` (which output of that node), ``_requires_grad`` (set on leaves),
``grad``, hooks. A view's ``grad_fn`` is re-made lazily, as torch's: when the shared
version counter has moved since it was made (``_fn_version``), a write to the base or to
another view happened, and ``autodiff.ops.copy_slices`` replays the view on the base's
current history. ``_creation_meta`` says whether a view may be written in place or
re-made that way: ``"default"``, ``"no_grad"`` (made in no-grad mode) or
``"multi_output"`` (one of several views returned by one function, as ``split``). The math methods (``__add__``, ``exp``, ...) are installed by
``autodiff.ops.methods`` from the op definitions, and ``backward``/``register_hook`` by
``autodiff.autograd.tensor_methods``, so this file stays about storage and imports
nothing from autograd or ops. ``device`` is the device of the backend holding ``_data``
(a NumPy array on the CPU, a ``MetaArray`` on ``meta``).
"""

from __future__ import annotations

import warnings
import weakref
from typing import Any

import numpy as np

from . import dtypes
from .backends import backend_of
from .device import device as _device


class Tensor:
    """A multi-dimensional array that can record operations for automatic differentiation."""

    __slots__ = ("_data", "_requires_grad", "_grad", "_grad_fn", "_output_nr", "_version_counter",
                 "_base", "_view_chain", "_fn_version", "_creation_meta", "_hooks", "_grad_acc",
                 "__weakref__")
    __array_ufunc__ = None  # NumPy defers to our reflected operators (np.float32(2) * t)

    def __init__(self, *args: Any) -> None:
        """``Tensor(data)`` copies data, ``Tensor(*sizes)`` is uninitialised, ``Tensor()`` is
        empty; all in the default float dtype, as torch's legacy constructor."""
        from .legacy import construct

        Tensor._init(self, construct(args, dtypes.get_default_dtype())._data)

    def _init(self, data: np.ndarray, requires_grad: bool = False, grad_fn=None, output_nr: int = 0,
              version_counter: list | None = None, base: "Tensor | None" = None) -> None:
        self._data = data
        self._requires_grad = requires_grad
        self._grad = None
        self._grad_fn = grad_fn
        self._output_nr = output_nr
        self._version_counter = version_counter if version_counter is not None else [0]
        self._base = base
        self._view_chain = ()  # for a view: the (op, params) steps re-making it from _base
        self._fn_version = self._version_counter[0]  # for a view: the version its grad_fn was made at
        self._creation_meta = "default"
        self._hooks = None
        self._grad_acc = None

    @classmethod
    def _make(cls, data: np.ndarray, **fields) -> "Tensor":
        """Wrap an array without copying (internal constructor)."""
        if not fields:
            return fresh(data, cls)
        t = object.__new__(cls)
        t._init(data, **fields)
        return t

    # ---- metadata -------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self._data.shape

    @property
    def dtype(self) -> dtypes.dtype:
        return dtypes.from_numpy_dtype(self._data.dtype)

    @property
    def device(self) -> _device:
        return backend_of(self._data).device

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    def size(self, dim: int | None = None):
        if dim is None:
            return self._data.shape
        return self._data.shape[self._wrap_dim(dim)]

    def numel(self) -> int:
        return self._data.size

    def nelement(self) -> int:
        return self._data.size

    def element_size(self) -> int:
        return self._data.itemsize

    def stride(self, dim: int | None = None):
        strides = tuple(s // self._data.itemsize for s in self._data.strides)
        return strides if dim is None else strides[self._wrap_dim(dim)]

    def is_contiguous(self) -> bool:
        return self._data.flags.c_contiguous

    def is_floating_point(self) -> bool:
        return self.dtype.is_floating_point

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def is_xpu(self) -> bool:
        return False

    @property
    def is_meta(self) -> bool:
        return self.device.type == "meta"

    @property
    def is_mps(self) -> bool:
        return False

    def cpu(self, memory_format=None) -> "Tensor":
        """This tensor on the cpu (itself if it is there already)."""
        return self.to("cpu", memory_format=memory_format)

    def cuda(self, device=None, non_blocking: bool = False, memory_format=None) -> "Tensor":
        """This tensor on a CUDA device: a RuntimeError saying why where autodiff has no CUDA backend."""
        return self.to("cuda" if device is None else device, non_blocking=non_blocking,
                       memory_format=memory_format)

    def _wrap_dim(self, dim: int) -> int:
        n = max(self._data.ndim, 1)
        if not -n <= dim < n:
            raise IndexError(
                f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})"
            )
        return dim % n

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    # ---- conversion -----------------------------------------------------------------
    def item(self):
        if self._data.size != 1:
            raise RuntimeError(
                f"a Tensor with {self._data.size} elements cannot be converted to Scalar"
            )
        return self._data.reshape(()).item()

    def tolist(self):
        return self._data.tolist()

    def numpy(self, *, force: bool = False) -> np.ndarray:
        if self.requires_grad and not force:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead."
            )
        if self.is_cuda:  # device memory: a host copy only when forced, as torch
            if not force:
                raise TypeError(f"can't convert {self.device} device type tensor to numpy. Use Tensor.cpu() "
                                "to copy the tensor to host memory first.")
            return backend_of(self._data).to_numpy(self._data)
        return self._data

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        """NumPy's conversion protocol (with NumPy 2's ``copy=``): the storage itself, unless
        ``copy=True`` or a dtype change needs a copy (an error with ``copy=False``)."""
        data = self.numpy()
        if dtype is not None and np.dtype(dtype) != data.dtype:
            if copy is False:
                raise ValueError(f"Unable to avoid copy while creating an array as requested: converting "
                                 f"{self.dtype} to {np.dtype(dtype)} needs a copy")
            return data.astype(dtype)
        return data.copy() if copy else data

    def __dlpack__(self, *, stream: Any = None, max_version: tuple[int, int] | None = None,
                   dl_device: tuple[int, int] | None = None, copy: bool | None = None) -> Any:
        """A DLPack capsule over this tensor's memory (the array API's export protocol)."""
        if self.requires_grad:
            raise BufferError("Can't export tensors that require gradient, use tensor.detach()")
        return _dlpack.export(self, stream, max_version, dl_device, copy)

    def __dlpack_device__(self) -> tuple[int, int]:
        return _dlpack.device_of(self)

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(
                "Boolean value of Tensor with more than one value is ambiguous"
                if self._data.size > 1 else "Boolean value of Tensor with no values is ambiguous"
            )
        return bool(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __hash__(self) -> int:
        return id(self)

    def __reduce_ex__(self, protocol: int):
        from .pickling import reduce_tensor

        return reduce_tensor(self)

    def __deepcopy__(self, memo: dict) -> "Tensor":
        from .pickling import deepcopy_tensor

        return deepcopy_tensor(self, memo)

    def __format__(self, format_spec: str) -> str:
        """A 0-d tensor formats as its Python number (``f"{loss:.4f}"``), as torch's does."""
        if self._data.ndim == 0 and type(self) is Tensor:
            return self.item().__format__(format_spec)
        return object.__format__(self, format_spec)

    def __repr__(self) -> str:
        from .formatting import tensor_repr

        return tensor_repr(self)

    # ---- autograd fields ------------------------------------------------------------
    @property
    def grad_fn(self):
        """The node that made this tensor (None for a leaf); a view's is re-made after writes."""
        if self._base is None or self._fn_version == self._version_counter[0]:
            return self._grad_fn
        return self._regenerated_grad_fn()

    @grad_fn.setter
    def grad_fn(self, node) -> None:
        self._grad_fn = node
        self._fn_version = self._version_counter[0]

    def _regenerated_grad_fn(self):
        """Installed by ``autodiff.ops.copy_slices``: re-make a view's grad_fn from its base."""
        raise NotImplementedError

    @property
    def requires_grad(self) -> bool:
        """A view needs grad also when its base does (a view made under no_grad, or before
        the base was written with a tensor that needs grad), as in torch."""
        return (self._requires_grad or self._grad_fn is not None
                or (self._base is not None and self._base.requires_grad))

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if self.grad_fn is not None:
            if not value:
                raise RuntimeError(
                    "you can only change requires_grad flags of leaf variables. If you want to use "
                    "a computed variable in a subgraph that doesn't require differentiation use "
                    "var_no_grad = var.detach()."
                )
            return
        if value and not dtypes.is_differentiable(self.dtype):
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        self._requires_grad = bool(value)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def grad(self) -> "Tensor | None":
        if self._grad is None and self._grad_fn is not None and not self._retains_grad_or_refused():
            warnings.warn(
                "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its "
                ".grad attribute won't be populated during autograd.backward(). If you indeed want "
                "the .grad field to be populated for a non-leaf Tensor, use .retain_grad() on the "
                "non-leaf Tensor.", UserWarning, stacklevel=2)
        return self._grad

    @grad.setter
    def grad(self, value: "Tensor | None") -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of type "
                                f"{type(value).__name__}")
            if value.dtype is not self.dtype:
                raise RuntimeError(f"assigned grad has data of a different type: got {value.dtype}, "
                                   f"expected {self.dtype}")
            if value.shape != self.shape:
                raise RuntimeError(f"assigned grad has data of a different size: got {list(value.shape)}, "
                                   f"expected {list(self.shape)}")
        self._grad = value

    @property
    def _version(self) -> int:
        return self._version_counter[0]

    @property
    def data(self) -> "Tensor":
        """This tensor's storage, detached from the graph (in-place changes are not tracked)."""
        return Tensor._make(self._data)

    @data.setter
    def data(self, value: "Tensor") -> None:
        self._data = value._data

    def detach(self) -> "Tensor":
        """A tensor sharing storage and version counter, cut out of the graph.

        As in PyTorch it is not a differentiable view: it has no ``_base``, so in-place
        writes to it never reach the original's graph."""
        return Tensor._make(self._data, version_counter=self._version_counter)

    def detach_(self) -> "Tensor":
        """Cut this tensor out of the graph in place: a leaf that needs no grad from now on
        (its accumulator in an existing graph stops accumulating; a node that saved it
        refuses to use it). Views refuse, as in torch."""
        if self._base is not None:
            raise RuntimeError(
                "Can't detach views in-place. Use detach() instead. If you are using "
                "DistributedDataParallel (DDP) for training, and gradient_as_bucket_view is set as "
                "True, gradients are views of DDP buckets, and hence detach_() cannot be called on "
                "these gradients. To fix this error, please refer to the Optimizer.zero_grad() "
                "function in autodiff/optim/optimizer.py as the solution.")
        self._grad_fn = None
        self._requires_grad = False
        self._output_nr = 0
        return self

    def retain_grad(self) -> None:
        """Keep this non-leaf's gradient in ``.grad``; it follows later in-place writes."""
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        try:
            node = self.grad_fn
        except RuntimeError:
            if self._creation_meta == "no_grad":  # torch lets it be: it never gets a gradient
                return                            # (a backward through it raises)
            raise
        if node is None:
            return
        if node._retained is None:
            node._retained = {}
        node._retained[self._output_nr] = weakref.ref(self)

    def _retains_grad_or_refused(self) -> bool:
        """``retains_grad``, or True for a view whose history torch refuses to re-make (an
        output of a multi-output view after a write to its base): reading its ``.grad`` is
        still allowed, as in torch."""
        try:
            return self.retains_grad
        except RuntimeError:
            return True

    @property
    def retains_grad(self) -> bool:
        node = self.grad_fn
        return bool(node is not None and node._retained and self._output_nr in node._retained
                    and node._retained[self._output_nr]() is self)

from . import dlpack as _dlpack  # noqa: E402  (it imports Tensor)


def fresh(data: Any, cls: type = Tensor) -> Tensor:
    """A tensor wrapping ``data`` with no autograd fields yet: ``Tensor._make`` without fields,
    as a plain function, so that the ops' hot path pays no classmethod binding or keyword dict."""
    t = object.__new__(cls)
    t._data = data
    t._requires_grad = False
    t._grad = t._grad_fn = t._base = t._hooks = t._grad_acc = None
    t._output_nr = t._fn_version = 0
    t._version_counter = [0]
    t._view_chain = ()
    t._creation_meta = "default"
    return t
