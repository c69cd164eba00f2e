"""``register_parametrization``: a tensor of a module computed from stored originals, as
``torch.nn.utils.parametrize``.

Registering a parametrization on ``module.weight`` moves the parameter to
``module.parametrizations.weight.original`` (``original0``, ``original1``... when the
parametrization's ``right_inverse`` returns several tensors) and swaps the module's
class for a subclass (``ParametrizedLinear``) with a ``weight`` property: reading it runs
the parametrizations in order on the originals, assigning to it stores
``right_inverse(value)`` into them. State-dict keys are therefore PyTorch's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ..autograd.grad_mode import no_grad
from ..tensor import Tensor
from .containers import ModuleDict, ModuleList
from .module import Module
from .parameter import Parameter

_cache_enabled = 0
_cache: dict = {}


@contextmanager
def cached() -> Iterator[None]:
    """Inside, each parametrized tensor is computed once and reused (e.g. in an RNN loop)."""
    global _cache_enabled
    _cache_enabled += 1
    try:
        yield
    finally:
        _cache_enabled -= 1
        if not _cache_enabled:
            _cache.clear()


class ParametrizationList(ModuleList):
    """The parametrizations of one tensor and the original(s) they are applied to."""

    def __init__(self, modules, original: Tensor, unsafe: bool = False) -> None:
        super().__init__(modules)
        self.unsafe = unsafe
        with no_grad():
            new = original
            for module in reversed(list(self)):
                if not hasattr(module, "right_inverse"):
                    continue
                new = module.right_inverse(new)
        requires_grad = original.requires_grad
        if isinstance(new, Tensor):
            self.is_tensor, self.ntensors = True, 1
            if new.shape == original.shape and new.dtype is original.dtype:
                with no_grad():
                    original.copy_(new)  # the same Parameter object stays the original
            else:
                original = Parameter(new.detach().clone(), requires_grad)
            self.original = original if isinstance(original, Parameter) else Parameter(original, requires_grad)
        else:
            self.is_tensor, self.ntensors = False, len(new)
            for i, t in enumerate(new):
                setattr(self, f"original{i}", Parameter(t.detach().clone(), requires_grad))

    def right_inverse(self, value: Tensor) -> None:
        """Store ``value`` as the parametrized tensor: the right inverses, last first, into the originals."""
        with no_grad():
            for module in reversed(list(self)):
                if hasattr(module, "right_inverse"):
                    value = module.right_inverse(value)
            if self.is_tensor:
                self.original.copy_(value)
            else:
                for i, t in enumerate(value):
                    getattr(self, f"original{i}").copy_(t)

    def forward(self) -> Tensor:
        if self.is_tensor:
            x = self[0](self.original)
        else:
            x = self[0](*(getattr(self, f"original{i}") for i in range(self.ntensors)))
        for module in list(self)[1:]:
            x = module(x)
        return x

    def _get_name(self) -> str:
        return "ParametrizationList"


def _parametrized_class(module: Module) -> type:
    cls = type(module)
    if getattr(cls, "_is_parametrized", False):
        return cls
    return type(f"Parametrized{cls.__name__}", (cls,), {"_is_parametrized": True, "_original_class": cls})


def _add_property(cls: type, name: str) -> None:
    def get(self) -> Tensor:
        if _cache_enabled:
            key = (id(self), name)
            if key not in _cache:
                _cache[key] = self.parametrizations[name]()
            return _cache[key]
        return self.parametrizations[name]()

    def set_(self, value: Tensor) -> None:
        self.parametrizations[name].right_inverse(value)

    setattr(cls, name, property(get, set_))


def register_parametrization(module: Module, tensor_name: str, parametrization: Module, *,
                             unsafe: bool = False) -> Module:
    """Make ``module.<tensor_name>`` the output of ``parametrization`` (stacked on any earlier ones)."""
    if is_parametrized(module, tensor_name):
        plist = module.parametrizations[tensor_name]
        plist.append(parametrization)
        return module
    if tensor_name in module._parameters or tensor_name in module._buffers:
        original = getattr(module, tensor_name)
        if original is None:
            raise ValueError(f"Module '{module}' has no tensor '{tensor_name}' to parametrize")
        plist = ParametrizationList([parametrization], original, unsafe=unsafe)
        delattr(module, tensor_name)
        if not is_parametrized(module):
            module.__class__ = _parametrized_class(module)
            module.parametrizations = ModuleDict()
        _add_property(type(module), tensor_name)
        module.parametrizations[tensor_name] = plist
        return module
    raise ValueError(f"Module '{module}' does not have a parameter, a buffer, or a parametrized element with "
                     f"name '{tensor_name}'")


def is_parametrized(module: Module, tensor_name: str | None = None) -> bool:
    """Whether ``module`` (or its ``tensor_name``) has a parametrization."""
    plists = module.__dict__.get("_modules", {}).get("parametrizations")
    if plists is None or not getattr(type(module), "_is_parametrized", False):
        return False
    return tensor_name is None or tensor_name in plists


def remove_parametrizations(module: Module, tensor_name: str, leave_parametrized: bool = True) -> Module:
    """Undo ``register_parametrization``: ``tensor_name`` becomes a plain parameter again,
    holding the parametrized value (``leave_parametrized``) or the original."""
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"Module {module} does not have a parametrization on {tensor_name}")
    plist = module.parametrizations[tensor_name]
    if leave_parametrized:
        with no_grad():
            value = getattr(module, tensor_name)
        param = Parameter(value.detach().clone(), plist.original.requires_grad if plist.is_tensor else True)
    else:
        if not plist.is_tensor:
            raise ValueError("Cannot leave unparametrized (`leave_parametrized=False`) a tensor that is "
                             "parametrized in terms of a sequence of tensors.")
        param = plist.original
    cls = type(module)
    delattr(cls, tensor_name)
    del module.parametrizations[tensor_name]
    module.register_parameter(tensor_name, param)
    if len(module.parametrizations) == 0:
        del module.parametrizations
        module.__class__ = cls._original_class
    return module


def transfer_parametrizations_and_params(from_module: Module, to_module: Module,
                                         tensor_name: str | None = None) -> Module:
    """Copy the parametrizations (and their originals) of ``from_module`` onto ``to_module``."""
    names = [tensor_name] if tensor_name is not None else list(from_module.parametrizations)
    for name in names:
        source = from_module.parametrizations[name]
        for p in source:
            register_parametrization(to_module, name, p, unsafe=True)
        target = to_module.parametrizations[name]
        with no_grad():
            if source.is_tensor:
                target.original.copy_(source.original)
            else:
                for i in range(source.ntensors):
                    getattr(target, f"original{i}").copy_(getattr(source, f"original{i}"))
    return to_module
